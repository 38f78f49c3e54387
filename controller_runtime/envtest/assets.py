"""Locating the control-plane binaries (built by hack/build-control-plane.sh)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ASSETS_ENV = "ENVTEST_ASSETS"


@dataclass(frozen=True)
class Assets:
    directory: Path

    @classmethod
    def locate(cls, directory: Path | None = None) -> Assets:
        if directory is None:
            env = os.environ.get(ASSETS_ENV)
            if not env:
                raise FileNotFoundError(
                    f"no control-plane binaries: set {ASSETS_ENV} to the directory that "
                    "hack/build-control-plane.sh prints (the Makefile does this)"
                )
            directory = Path(env)
        assets = cls(directory)
        for name in ("etcd", "kube-apiserver"):
            assets.binary(name)
        return assets

    def binary(self, name: str) -> Path:
        path = self.directory / name
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"{name} not found or not executable in {self.directory}")
        return path

    @property
    def etcd(self) -> Path:
        return self.binary("etcd")

    @property
    def kube_apiserver(self) -> Path:
        return self.binary("kube-apiserver")

    @property
    def kube_controller_manager(self) -> Path:
        return self.binary("kube-controller-manager")

    @property
    def kube_scheduler(self) -> Path:
        return self.binary("kube-scheduler")

    @property
    def kwok(self) -> Path:
        return self.binary("kwok")

    @property
    def kubectl(self) -> Path:
        return self.binary("kubectl")

    @property
    def kwok_stages(self) -> Path:
        return self.directory / "kwok-stages.yaml"

    def kwok_storage_classes(self) -> list[dict[str, Any]]:
        path = self.directory / "kwok-storage-class.yaml"
        return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
