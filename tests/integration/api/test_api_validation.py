"""Every validation rule of the spec, violated on a real API server: HTTP 422 with the message.

CEL rules are also checked against the pydantic models with the same object, so the Python
side and the CRD cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from pydantic import ValidationError

from api.v1alpha1 import SeiNode, SeiNodeDeployment
from tests.integration.api.sei_api_helpers import (
    SeiObjects,
    error_fields,
    error_message,
    group_manifest,
    node_manifest,
)

pytestmark = pytest.mark.integration

MODE = "exactly one of fullNode, archive, replayer, or validator must be set"
REPLAYER_PEERS = "peers is required when replayer mode is set"
PEER_SOURCE = "exactly one of ec2Tags, static, or label must be set"
SNAPSHOT_SOURCE = "exactly one of s3 or stateSync must be set"
HARD_FORK = "hardFork strategy requires haltHeight > 0"

S3 = {"s3": {"targetHeight": 100}}
REPLAYER = {"snapshot": S3}
STATIC = {"static": {"addresses": ["id@peer:26656"]}}


@dataclass
class Case:
    id: str
    manifest: dict[str, Any]
    message: str
    field: str | None = None  # the field the server blames, for CEL rules
    # The models accept what stored objects may lack (see SeiNodeDeploymentSpec.update_strategy).
    python_rejects: bool = True


def template(**spec: Any) -> dict[str, Any]:
    base = {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}}
    merged = {**base, **spec}
    return {"spec": {k: v for k, v in merged.items() if v is not None}}


CEL_CASES = [
    Case("no-mode", node_manifest(fullNode=None), MODE, "spec"),
    Case("two-modes", node_manifest(archive={}), MODE, "spec"),
    Case("four-modes", node_manifest(archive={}, validator={}, replayer=REPLAYER), MODE, "spec"),
    Case(
        "replayer-no-peers",
        node_manifest(fullNode=None, replayer=REPLAYER),
        REPLAYER_PEERS,
        "spec",
    ),
    Case(
        "replayer-empty-peers",
        node_manifest(fullNode=None, replayer=REPLAYER, peers=[]),
        REPLAYER_PEERS,
        "spec",
    ),
    Case("peer-empty", node_manifest(peers=[{}]), PEER_SOURCE, "spec.peers[0]"),
    Case(
        "peer-two-sources",
        node_manifest(peers=[STATIC, {**STATIC, "label": {"selector": {"a": "b"}}}]),
        PEER_SOURCE,
        "spec.peers[1]",
    ),
    Case(
        "peer-three-sources",
        node_manifest(
            peers=[
                {
                    **STATIC,
                    "label": {"selector": {"a": "b"}},
                    "ec2Tags": {"region": "r", "tags": {"a": "b"}},
                }
            ]
        ),
        PEER_SOURCE,
        "spec.peers[0]",
    ),
    Case(
        "fullnode-snapshot-both",
        node_manifest(fullNode={"snapshot": {**S3, "stateSync": {}}}),
        SNAPSHOT_SOURCE,
        "spec.fullNode.snapshot",
    ),
    Case(
        "validator-snapshot-neither",
        node_manifest(fullNode=None, validator={"snapshot": {"trustPeriod": "1h"}}),
        SNAPSHOT_SOURCE,
        "spec.validator.snapshot",
    ),
    Case(
        "replayer-snapshot-both",
        node_manifest(
            fullNode=None, peers=[STATIC], replayer={"snapshot": {**S3, "stateSync": {}}}
        ),
        SNAPSHOT_SOURCE,
        "spec.replayer.snapshot",
    ),
    Case(
        "hardfork-without-halt-height",
        group_manifest(updateStrategy={"type": "HardFork"}),
        HARD_FORK,
        "spec.updateStrategy",
    ),
    Case(
        "template-no-mode",
        group_manifest(template=template(fullNode=None)),
        MODE,
        "spec.template.spec",
    ),
    Case(
        "template-replayer-no-peers",
        group_manifest(template=template(fullNode=None, replayer=REPLAYER)),
        REPLAYER_PEERS,
        "spec.template.spec",
    ),
    Case(
        "template-peer-empty",
        group_manifest(template=template(peers=[{}])),
        PEER_SOURCE,
        "spec.template.spec.peers[0]",
    ),
    Case(
        "template-snapshot-both",
        group_manifest(template=template(fullNode={"snapshot": {**S3, "stateSync": {}}})),
        SNAPSHOT_SOURCE,
        "spec.template.spec.fullNode.snapshot",
    ),
]

SCHEMA_CASES = [
    Case("replicas-0", group_manifest(replicas=0), "should be greater than or equal to 1"),
    Case("replicas-101", group_manifest(replicas=101), "should be less than or equal to 100"),
    Case(
        "no-update-strategy",
        group_manifest(updateStrategy=None),
        "Required value",
        python_rejects=False,
    ),
    Case("no-template", group_manifest(template=None), "Required value"),
    Case(
        "bad-strategy",
        group_manifest(updateStrategy={"type": "Canary"}),
        'supported values: "InPlace", "BlueGreen", "HardFork"',
    ),
    Case(
        "halt-height-0",
        group_manifest(updateStrategy={"type": "HardFork", "hardFork": {"haltHeight": 0}}),
        "should be greater than or equal to 1",
    ),
    Case(
        "bad-deletion-policy",
        group_manifest(deletionPolicy="Orphan"),
        'supported values: "Delete", "Retain"',
    ),
    Case(
        "genesis-chain-id-pattern",
        group_manifest(genesis={"chainId": "Sei_Devnet"}),
        "should match '^[a-z0-9][a-z0-9-]*[a-z0-9]$'",
    ),
    Case("genesis-chain-id-long", group_manifest(genesis={"chainId": "a" * 65}), "64"),
    Case(
        "genesis-fork-incomplete",
        group_manifest(genesis={"chainId": "c-1", "fork": {"sourceChainId": "a"}}),
        "Required value",
    ),
    Case(
        "genesis-fork-export-height-0",
        group_manifest(
            genesis={
                "chainId": "c-1",
                "fork": {"sourceChainId": "a", "sourceImage": "i", "exportHeight": 0},
            }
        ),
        "should be greater than or equal to 1",
    ),
    Case(
        "genesis-account-empty-address",
        group_manifest(genesis={"chainId": "c-1", "accounts": [{"address": "", "balance": "1"}]}),
        "should be at least 1 chars long",
    ),
    Case(
        "service-monitor-interval",
        group_manifest(monitoring={"serviceMonitor": {"interval": "30sec"}}),
        "should match '^[0-9]+(ms|s|m|h)$'",
    ),
    Case("no-chain-id", node_manifest(chainId=None), "Required value"),
    Case("empty-chain-id", node_manifest(chainId=""), "should be at least 1 chars long"),
    Case("no-image", node_manifest(image=None), "Required value"),
    Case("long-image", node_manifest(image="i" * 513), "512"),
    Case(
        "empty-command",
        node_manifest(entrypoint={"command": []}),
        "should have at least 1 items",
    ),
    Case("long-command", node_manifest(entrypoint={"command": ["x"] * 17}), "16"),
    Case("long-args", node_manifest(entrypoint={"command": ["x"], "args": ["a"] * 65}), "64"),
    Case(
        "keep-recent-1",
        node_manifest(fullNode={"snapshotGeneration": {"keepRecent": 1}}),
        "should be greater than or equal to 2",
    ),
    Case(
        "target-height-0",
        node_manifest(fullNode={"snapshot": {"s3": {"targetHeight": 0}}}),
        "should be greater than or equal to 1",
    ),
    Case(
        "ec2-no-tags",
        node_manifest(peers=[{"ec2Tags": {"region": "r", "tags": {}}}]),
        "should have at least 1 properties",
    ),
    Case(
        "static-no-addresses",
        node_manifest(peers=[{"static": {"addresses": []}}]),
        "should have at least 1 items",
    ),
    Case(
        "label-no-selector",
        node_manifest(peers=[{"label": {"namespace": "x"}}]),
        "Required value",
    ),
    Case(
        "result-export-no-rpc",
        node_manifest(fullNode=None, peers=[STATIC], replayer={**REPLAYER, "resultExport": {}}),
        "Required value",
    ),
    Case(
        "genesis-ceremony-index",
        node_manifest(
            fullNode=None,
            validator={
                "genesisCeremony": {
                    "chainId": "c",
                    "stakingAmount": "1",
                    "accountBalance": "1",
                    "index": -1,
                }
            },
        ),
        "should be greater than or equal to 0",
    ),
    Case(
        "bad-quantity",
        node_manifest(sidecar={"resources": {"limits": {"cpu": "lots"}}}),
        "should match",
    ),
]


def _model_of(manifest: dict[str, Any]) -> type[SeiNode] | type[SeiNodeDeployment]:
    return SeiNode if manifest["kind"] == "SeiNode" else SeiNodeDeployment


async def _rejected(sei: SeiObjects, manifest: dict[str, Any]) -> ApiException:
    with pytest.raises(ApiException) as caught:
        await sei.create(manifest)
    assert caught.value.status == 422, caught.value.body
    return caught.value


@pytest.mark.parametrize("case", CEL_CASES, ids=lambda c: c.id)
async def test_cel_rule_rejects_with_spec_message(sei: SeiObjects, case: Case) -> None:
    exc = await _rejected(sei, case.manifest)
    assert case.message in error_message(exc)
    assert case.field in error_fields(exc), error_fields(exc)
    with pytest.raises(ValidationError, match=case.message):
        _model_of(case.manifest).from_dict(case.manifest)


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda c: c.id)
async def test_schema_constraint_rejects(sei: SeiObjects, case: Case) -> None:
    exc = await _rejected(sei, case.manifest)
    assert case.message in error_message(exc), error_message(exc)
    if not case.python_rejects:
        _model_of(case.manifest).from_dict(case.manifest)
        return
    with pytest.raises(ValidationError):
        _model_of(case.manifest).from_dict(case.manifest)


@pytest.mark.parametrize(
    "manifest",
    [
        node_manifest("boundaries-node", entrypoint={"command": ["x"] * 16, "args": ["a"] * 64}),
        node_manifest("image-512", image="i" * 512),
        group_manifest("replicas-1", replicas=1),
        group_manifest("replicas-100", replicas=100),
        group_manifest(
            "hardfork-ok", updateStrategy={"type": "HardFork", "hardFork": {"haltHeight": 1}}
        ),
        group_manifest("bluegreen-ignores-hardfork", updateStrategy={"type": "BlueGreen"}),
        group_manifest("chain-64", genesis={"chainId": "a" * 64}),
        node_manifest(
            "replayer-ok", fullNode=None, peers=[STATIC], replayer={"snapshot": {"stateSync": {}}}
        ),
    ],
    ids=lambda m: m["metadata"]["name"],
)
async def test_boundary_values_are_accepted(sei: SeiObjects, manifest: dict[str, Any]) -> None:
    await sei.create(manifest)
    _model_of(manifest).from_dict(manifest)


# --- status validation (the status subresource) ---------------------------------------------

CONDITION = {
    "type": "PlanInProgress",
    "status": "True",
    "reason": "PlanStarted",
    "message": "Plan execution started",
    "lastTransitionTime": "2025-03-01T10:00:00Z",
}
ROLLOUT = {
    "strategy": "InPlace",
    "targetHash": "347bc046dd25de17",
    "startedAt": CONDITION["lastTransitionTime"],
}


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"phase": "Stuck"}, "Unsupported value"),
        ({"conditions": [CONDITION, CONDITION]}, "Duplicate value"),
        ({"conditions": [{**CONDITION, "reason": "not a reason"}]}, "should match"),
        ({"conditions": [{**CONDITION, "status": "Maybe"}]}, "Unsupported value"),
        ({"rollout": {"strategy": "InPlace"}}, "Required value"),
        (
            {"rollout": {**ROLLOUT, "nodes": [{"name": "a", "ready": True}] * 2}},
            "Duplicate value",
        ),
        ({"rollout": {**ROLLOUT, "nodes": [{"name": "a"}]}}, "Required value"),
        ({"nodes": [{"name": "a"}, {"name": "a"}]}, "Duplicate value"),
        ({"plan": {"phase": "Active"}}, "Required value"),
        ({"plan": {"phase": "Active", "tasks": [{"type": "t", "id": "i"}]}}, "Required value"),
        ({"plan": {"phase": "Running", "tasks": []}}, "Unsupported value"),
    ],
)
async def test_status_is_validated(sei: SeiObjects, status: dict[str, Any], message: str) -> None:
    await sei.create(group_manifest("status"))
    with pytest.raises(ApiException) as caught:
        await sei.merge_patch_status("SeiNodeDeployment", "status", status)
    assert caught.value.status == 422
    assert message in error_message(caught.value)


async def test_rollout_without_nodes_is_accepted(sei: SeiObjects) -> None:
    # The reference once declared rollout.nodes required, so every rollout write failed (#81).
    await sei.create(group_manifest("rollout"))
    patched = await sei.merge_patch_status("SeiNodeDeployment", "rollout", {"rollout": ROLLOUT})
    assert patched["status"]["rollout"] == ROLLOUT
