"""Command lines of the control-plane components (pure functions)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml

from controller_runtime.envtest import components
from controller_runtime.envtest.pki import PkiFiles

PKI = PkiFiles(*(Path(f"/pki/{f.name}") for f in fields(PkiFiles)))


def test_controller_manager_keeps_its_default_client_qps_unless_given() -> None:
    argv = components.controller_manager_argv(Path("kcm"), PKI, Path("kubeconfig"), 1)
    assert not [a for a in argv if a.startswith("--kube-api-")]


def test_controller_manager_client_qps_sets_burst_to_twice_it() -> None:
    argv = components.controller_manager_argv(Path("kcm"), PKI, Path("kubeconfig"), 1, 500.0)
    assert "--kube-api-qps=500" in argv
    assert "--kube-api-burst=1000" in argv


def test_scheduler_client_qps_goes_into_its_client_connection() -> None:
    default = yaml.safe_load(components.scheduler_config(Path("kubeconfig")))
    raised = yaml.safe_load(components.scheduler_config(Path("kubeconfig"), 500.0))
    assert default["clientConnection"] == {"kubeconfig": "kubeconfig"}
    assert raised["clientConnection"] == {"kubeconfig": "kubeconfig", "qps": 500.0, "burst": 1000}
