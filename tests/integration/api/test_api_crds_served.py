"""The generated CRDs on a real API server: installation, samples, defaults, printer columns."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client

from api.v1alpha1 import (
    GenesisCeremonyConfig,
    SeiNode,
    SeiNodeDeployment,
    ServiceMonitorConfig,
    SidecarConfig,
)
from tests.integration.api.sei_api_helpers import (
    CRD_DIR,
    SAMPLES_DIR,
    SeiObjects,
    group_manifest,
    node_manifest,
    run_kubectl,
)

pytestmark = pytest.mark.integration

MODELS: dict[str, type[SeiNode] | type[SeiNodeDeployment]] = {
    "SeiNode": SeiNode,
    "SeiNodeDeployment": SeiNodeDeployment,
}


def samples() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((SAMPLES_DIR / "kustomization.yaml").read_text())
    return [yaml.safe_load((SAMPLES_DIR / f).read_text()) for f in kustomization["resources"]]


async def test_crds_are_established(sei_crds: list[dict[str, Any]], api_client: Any) -> None:
    assert sorted(c["metadata"]["name"] for c in sei_crds) == [
        "seinodedeployments.sei.io",
        "seinodes.sei.io",
    ]
    extensions = client.ApiextensionsV1Api(api_client)
    for name in ("seinodes.sei.io", "seinodedeployments.sei.io"):
        crd = await extensions.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in crd.status.conditions}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        # Structural, no violations: the server would report NonStructuralSchema otherwise.
        assert "NonStructuralSchema" not in conditions
    assert {p.name for p in CRD_DIR.glob("sei.io_*.yaml")} == {
        "sei.io_seinodes.yaml",
        "sei.io_seinodedeployments.yaml",
    }


@pytest.mark.parametrize("sample", samples(), ids=lambda s: f"{s['kind']}/{s['metadata']['name']}")
async def test_sample_is_accepted_and_round_trips(sei: SeiObjects, sample: dict[str, Any]) -> None:
    created = await sei.create(sample)
    stored = await sei.get(sample["kind"], sample["metadata"]["name"])
    assert stored["spec"] == created["spec"]
    model = MODELS[sample["kind"]]
    assert model.from_dict(stored).to_dict() == stored


async def test_seinode_defaults_are_applied(sei: SeiObjects) -> None:
    await sei.create(node_manifest("n", sidecar={}))
    stored = await sei.get("SeiNode", "n")
    assert stored["spec"]["sidecar"] == {"port": 7777}
    # The Python default is the server's default.
    assert SidecarConfig().port == 7777
    assert SeiNode.from_dict(stored).to_dict() == stored


async def test_seinodedeployment_defaults_are_applied(sei: SeiObjects) -> None:
    manifest = group_manifest(
        "g",
        genesis={"chainId": "sei-devnet-1"},
        monitoring={"serviceMonitor": {}},
    )
    manifest["spec"]["template"]["spec"]["sidecar"] = {}
    assert "replicas" not in manifest["spec"]
    await sei.create(manifest)
    spec = (await sei.get("SeiNodeDeployment", "g"))["spec"]
    assert spec["replicas"] == 1
    assert spec["deletionPolicy"] == "Delete"
    assert spec["monitoring"]["serviceMonitor"]["interval"] == "30s"
    assert spec["genesis"]["stakingAmount"] == "10000000usei"
    assert spec["genesis"]["accountBalance"] == (
        "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom"
    )
    assert spec["template"]["spec"]["sidecar"]["port"] == 7777
    assert "maxCeremonyDuration" not in spec["genesis"]  # documented, not defaulted
    python = GenesisCeremonyConfig(chain_id="sei-devnet-1")
    assert (python.staking_amount, python.account_balance) == (
        spec["genesis"]["stakingAmount"],
        spec["genesis"]["accountBalance"],
    )
    assert ServiceMonitorConfig().interval == "30s"


async def test_field_less_objects_are_pruned(sei: SeiObjects) -> None:
    manifest = group_manifest("pruned", networking={"loadBalancer": True})
    manifest["spec"]["template"]["spec"]["validator"] = {"snapshot": {"stateSync": {"x": 1}}}
    del manifest["spec"]["template"]["spec"]["fullNode"]
    manifest["spec"]["unknownField"] = "dropped"
    await sei.create(manifest)
    spec = (await sei.get("SeiNodeDeployment", "pruned"))["spec"]
    assert spec["networking"] == {}
    assert spec["template"]["spec"]["validator"]["snapshot"]["stateSync"] == {}
    assert "unknownField" not in spec


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


async def test_seinode_printer_columns(control_plane: Any, sei: SeiObjects) -> None:
    await sei.create(node_manifest("printed"))
    await sei.merge_patch_status("SeiNode", "printed", {"phase": "Initializing"})
    for resource in ("seinodes", "seinode", "snode", "seinodes.sei.io"):
        out = await run_kubectl(control_plane, "get", resource, "-n", sei.namespace)
        assert header(out) == ["NAME", "PHASE", "AGE"], resource
        assert out.splitlines()[1].split()[:2] == ["printed", "Initializing"]


async def test_seinodedeployment_printer_columns(control_plane: Any, sei: SeiObjects) -> None:
    await sei.create(group_manifest("printed", replicas=3))
    await sei.merge_patch_status(
        "SeiNodeDeployment",
        "printed",
        {
            "phase": "Upgrading",
            "replicas": 3,
            "readyReplicas": 2,
            "rollout": {
                "strategy": "InPlace",
                "targetHash": "347bc046dd25de17",
                "startedAt": "2025-03-01T10:00:00Z",
                "incumbentRevision": "1",
                "entrantRevision": "2",
            },
        },
    )
    for resource in ("seinodedeployments", "snd"):
        out = await run_kubectl(control_plane, "get", resource, "-n", sei.namespace)
        assert header(out) == ["NAME", "READY", "REPLICAS", "PHASE", "AGE"], resource
        assert out.splitlines()[1].split()[:4] == ["printed", "2", "3", "Upgrading"]
    wide = await run_kubectl(control_plane, "get", "snd", "-o", "wide", "-n", sei.namespace)
    assert header(wide) == ["NAME", "READY", "REPLICAS", "PHASE", "REVISION", "AGE"]
    assert wide.splitlines()[1].split()[:5] == ["printed", "2", "3", "Upgrading", "2"]


async def test_short_names_and_status_subresource_via_discovery(
    control_plane: Any, sei: SeiObjects
) -> None:
    out = await run_kubectl(control_plane, "api-resources", "--api-group=sei.io", "-o", "wide")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "snode" in rows["seinodes"].split()
    assert "snd" in rows["seinodedeployments"].split()
    for row in rows.values():
        assert " true " in f" {row} "  # namespaced
