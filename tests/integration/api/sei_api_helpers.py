"""Helpers of the sei.io API integration tests: manifests, object CRUD, errors, kubectl."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

REPO = Path(__file__).resolve().parents[3]
CRD_DIR = REPO / "config" / "crd"
SAMPLES_DIR = REPO / "config" / "samples"
GROUP, VERSION = "sei.io", "v1alpha1"
PLURALS = {"SeiNode": "seinodes", "SeiNodeDeployment": "seinodedeployments"}


def node_manifest(name: str = "node", **spec: Any) -> dict[str, Any]:
    """A minimal valid SeiNode; ``spec`` entries replace (None deletes) the defaults."""
    base: dict[str, Any] = {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}}
    return _manifest("SeiNode", name, base, spec)


def group_manifest(name: str = "group", **spec: Any) -> dict[str, Any]:
    """A minimal valid SeiNodeDeployment; ``spec`` entries replace (None deletes) defaults."""
    base: dict[str, Any] = {
        "template": {"spec": {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}}},
        "updateStrategy": {"type": "InPlace"},
    }
    return _manifest("SeiNodeDeployment", name, base, spec)


def _manifest(kind: str, name: str, base: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    merged = {**copy.deepcopy(base), **copy.deepcopy(spec)}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {k: v for k, v in merged.items() if v is not None},
    }


def error_message(exc: ApiException) -> str:
    body = json.loads(exc.body or b"{}")
    return str(body.get("message", ""))


def error_fields(exc: ApiException) -> list[str]:
    causes = json.loads(exc.body or b"{}").get("details", {}).get("causes", [])
    return [str(c.get("field", "")) for c in causes]


class SeiObjects:
    """Namespaced CRUD on sei.io objects as plain dicts (what the API server stores)."""

    def __init__(self, api: client.CustomObjectsApi, namespace: str) -> None:
        self.api = api
        self.namespace = namespace

    def _args(self, kind: str) -> tuple[str, str, str, str]:
        return GROUP, VERSION, self.namespace, PLURALS[kind]

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.api.create_namespaced_custom_object(
            *self._args(obj["kind"]), obj
        )
        return result

    async def get(self, kind: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.api.get_namespaced_custom_object(
            *self._args(kind), name
        )
        return result

    async def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.api.replace_namespaced_custom_object(
            *self._args(obj["kind"]), obj["metadata"]["name"], obj
        )
        return result

    async def replace_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.api.replace_namespaced_custom_object_status(
            *self._args(obj["kind"]), obj["metadata"]["name"], obj
        )
        return result

    async def merge_patch_status(
        self, kind: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.api.patch_namespaced_custom_object_status(
            *self._args(kind),
            name,
            {"status": status},
            _content_type="application/merge-patch+json",  # type: ignore[call-arg]
        )
        return result


def kubectl_path(control_plane: Any) -> Path:
    assets_dir = getattr(control_plane, "assets_dir", None)
    if assets_dir is not None:
        return Path(assets_dir) / "kubectl"
    return Path(control_plane.assets.kubectl)


async def run_kubectl(control_plane: Any, *args: str) -> str:
    """stdout of ``kubectl --kubeconfig <admin> ARGS``; raises on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        str(kubectl_path(control_plane)),
        "--kubeconfig",
        str(control_plane.kubeconfig),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {err.decode()}")
    return out.decode()
