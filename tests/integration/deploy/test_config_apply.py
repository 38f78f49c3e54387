"""config/ as a user applies it: `kubectl apply -k` (kubectl's built-in kustomize) against the
local control plane, so the API server validates and stores every object (CRDs, RBAC, the
manager's Deployment, whose two pods kwok then runs as fakes: no image is pulled).

The Prometheus Operator is not part of the local control plane: config/prometheus is outside
config/default, and its test installs minimal ServiceMonitor/PrometheusRule CRDs first, then
applies the overlay with its optional lines (prometheus, network-policy) uncommented, as a
server-side dry run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller_runtime.envtest import ControlPlane

from .kubectl import MANAGER_NAMESPACE, REPO, apply_default_config, kubectl

MONITORING_KINDS = {"ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules"}


def minimal_crd(kind: str, plural: str) -> dict[str, Any]:
    """A schemaless monitoring.coreos.com/v1 CRD: enough to accept the objects, not to check
    their fields (kubectl's kustomize build already parsed them)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


async def test_default_overlay_applies_and_its_manager_deployment_becomes_available(
    control_plane: ControlPlane,
) -> None:
    out = await apply_default_config(control_plane)
    assert "deployment.apps/sei-k8s-controller-manager" in out
    code, out = await kubectl(
        control_plane,
        "wait",
        "--for=condition=Available",
        "--timeout=120s",
        f"--namespace={MANAGER_NAMESPACE}",
        "deployment/sei-k8s-controller-manager",
    )
    assert code == 0, out
    code, out = await kubectl(
        control_plane,
        "get",
        f"--namespace={MANAGER_NAMESPACE}",
        "deployment/sei-k8s-controller-manager",
        "-o=jsonpath={.status.readyReplicas}",
    )
    assert (code, out) == (0, "2")


async def test_optional_parts_apply_once_the_prometheus_operator_crds_exist(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    crds = tmp_path / "monitoring-crds.yaml"
    crds.write_text(yaml.safe_dump_all([minimal_crd(k, p) for k, p in MONITORING_KINDS.items()]))
    code, out = await kubectl(control_plane, "apply", "--server-side", "-f", str(crds))
    assert code == 0, out
    try:
        await _apply_optional_parts(control_plane, tmp_path)
    finally:
        # The session's cluster has no Prometheus Operator for every other test (the group
        # controller's CRDNotInstalled tests rely on it): remove the stand-ins, and wait.
        code, out = await kubectl(control_plane, "delete", "--wait=true", "-f", str(crds))
        assert code == 0, out


async def _apply_optional_parts(control_plane: ControlPlane, tmp_path: Path) -> None:
    for plural in MONITORING_KINDS.values():
        code, out = await kubectl(
            control_plane,
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            f"crd/{plural}.monitoring.coreos.com",
        )
        assert code == 0, out
    await apply_default_config(control_plane)  # the namespace the dry run writes into
    # What a user does: copy the tree and uncomment the optional lines of config/default.
    config = shutil.copytree(REPO / "config", tmp_path / "config")
    default = config / "default" / "kustomization.yaml"
    text = default.read_text()
    for part in ("prometheus", "network-policy"):
        assert f"  # - ../{part}\n" in text
        text = text.replace(f"  # - ../{part}\n", f"  - ../{part}\n")
    default.write_text(text)

    code, out = await kubectl(control_plane, "apply", "-k", str(default.parent), "--dry-run=server")
    assert code == 0, out
    assert "servicemonitor.monitoring.coreos.com/sei-k8s-controller-manager-metrics-monitor" in out
    assert "prometheusrule.monitoring.coreos.com/sei-k8s-controller-alerts" in out
    assert "networkpolicy.networking.k8s.io/sei-k8s-allow-metrics-traffic" in out


@pytest.mark.parametrize(
    "overlay", ["crd", "rbac", "manager", "prometheus", "network-policy", "samples"]
)
async def test_each_part_builds_with_kubectl_kustomize(
    control_plane: ControlPlane, overlay: str
) -> None:
    code, out = await kubectl(control_plane, "kustomize", str(REPO / "config" / overlay))
    assert code == 0, out
    assert list(yaml.safe_load_all(out))
