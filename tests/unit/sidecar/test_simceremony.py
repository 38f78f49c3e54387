"""The simulated sidecar's genesis ceremony: what each task leaves in the shared genesis bucket
and in the node (controllers/sidecar/simceremony.py)."""

from __future__ import annotations

import uuid
from typing import Any

from controllers.sidecar.simceremony import GenesisBucket, peer_of
from controllers.sidecar.simnode import SimulatedNode

CHAIN = "new-1"
NS = "sei"
GENTX = {"chainId": CHAIN, "stakingAmount": "10usei", "accountBalance": "100usei"}


def _run(node: SimulatedNode, task_type: str, params: dict[str, Any] | None = None) -> str:
    """Submits a task (latency 0: it settles at once); returns its error ("" on success)."""
    task_id = str(uuid.uuid4())
    body: dict[str, Any] = {"id": task_id, "type": task_type}
    if params is not None:
        body["params"] = params
    status, _ = node.submit(body)
    assert status == 201
    task = node.tasks[task_id]
    assert task.status != "running"
    return task.error


def _validator(bucket: GenesisBucket, name: str) -> SimulatedNode:
    """A validator through its ceremony tasks: identity, gentx, upload."""
    node = SimulatedNode(NS, name, bucket=bucket)
    assert _run(node, "generate-identity", {"chainId": CHAIN, "moniker": name}) == ""
    assert _run(node, "generate-gentx", GENTX) == ""
    assert _run(node, "upload-genesis-artifacts", {"nodeName": name}) == ""
    return node


def _assemble(node: SimulatedNode, names: list[str]) -> str:
    params = {"accountBalance": "100usei", "namespace": NS, "nodes": [{"name": n} for n in names]}
    return _run(node, "assemble-and-upload-genesis", params)


async def test_upload_puts_gentx_and_identity_under_the_chain_and_node() -> None:
    bucket = GenesisBucket()
    node = _validator(bucket, "v-0")
    assert sorted(bucket.objects) == ["new-1/v-0/gentx.json", "new-1/v-0/identity.json"]
    assert bucket.json("new-1/v-0/identity.json") == {"node_key": {"id": node.node_id}}


async def test_gentx_needs_its_params() -> None:
    node = SimulatedNode(NS, "v-0", bucket=GenesisBucket())
    _run(node, "generate-identity", {"chainId": CHAIN, "moniker": "v-0"})
    assert _run(node, "generate-gentx", {"chainId": CHAIN}) == (
        "generate-gentx: missing required param 'stakingAmount'"
    )


async def test_configure_genesis_waits_for_the_assembled_genesis() -> None:
    bucket = GenesisBucket()
    node = _validator(bucket, "v-0")
    assert _run(node, "configure-genesis") == (
        "configure-genesis: object 'new-1/genesis.json' not found in s3://sim-genesis"
    )
    assert _assemble(node, ["v-0"]) == ""
    assert _run(node, "configure-genesis") == ""
    assert node.home["genesis"]["chain_id"] == CHAIN


async def test_configure_genesis_of_a_chain_without_ceremony_completes() -> None:
    node = SimulatedNode(NS, "full-0", bucket=GenesisBucket(), chain_id="other-1")
    assert _run(node, "configure-genesis") == ""


async def test_assembly_fails_until_every_gentx_is_uploaded() -> None:
    bucket = GenesisBucket()
    first = _validator(bucket, "v-0")
    assert _assemble(first, ["v-0", "v-1"]) == (
        "assemble-and-upload-genesis: object 'new-1/v-1/gentx.json' not found in s3://sim-genesis"
    )
    _validator(bucket, "v-1")
    assert _assemble(first, ["v-0", "v-1"]) == ""
    genesis = bucket.json("new-1/genesis.json")
    assert [v["name"] for v in genesis["validators"]] == ["v-0", "v-1"]


async def test_set_genesis_peers_records_every_other_validator() -> None:
    bucket = GenesisBucket()
    nodes = [_validator(bucket, f"v-{i}") for i in range(3)]
    _assemble(nodes[0], [n.name for n in nodes])
    assert _run(nodes[1], "set-genesis-peers") == ""
    assert nodes[1].persistent_peers == [
        peer_of(n.node_id or "", n.name, NS) for n in nodes if n is not nodes[1]
    ]


async def test_a_fork_is_assembled_from_the_exported_state() -> None:
    bucket = GenesisBucket()
    exporter = SimulatedNode(NS, "grp-exporter", bucket=bucket, chain_id="pacific-1")
    validator = _validator(bucket, "v-0")
    fork = {
        "sourceChainId": "pacific-1",
        "chainId": CHAIN,
        "accountBalance": "1usei",
        "namespace": NS,
        "nodes": [{"name": "v-0"}],
    }
    assert _run(validator, "assemble-genesis-fork", fork) == (
        "assemble-genesis-fork: object 'pacific-1/exported-state.json' not found in "
        "s3://sim-genesis"
    )
    export = {"height": 50, "chainId": "pacific-1", "s3Key": "pacific-1/exported-state.json"}
    assert _run(exporter, "export-state", export) == ""
    assert _run(validator, "assemble-genesis-fork", fork) == ""
    genesis = bucket.json("new-1/genesis.json")
    assert genesis["chain_id"] == CHAIN
    assert genesis["app_state"] == {"exportedFrom": "pacific-1", "height": 50}
    assert [v["name"] for v in genesis["validators"]] == ["v-0"]


async def test_the_ceremony_state_survives_a_sidecar_restart() -> None:
    bucket = GenesisBucket()
    node = _validator(bucket, "v-0")
    node.restart()
    assert "gentx" in node.home
    assert _run(node, "generate-gentx", GENTX) == ""  # already done: the marker, as seictl


async def test_an_exported_chain_still_configures_its_embedded_genesis() -> None:
    """An export into the bucket is no ceremony of the source chain: its nodes keep working."""
    bucket = GenesisBucket()
    exporter = SimulatedNode(NS, "grp-exporter", bucket=bucket, chain_id="pacific-1")
    export = {"height": 50, "chainId": "pacific-1", "s3Key": "pacific-1/exported-state.json"}
    assert _run(exporter, "export-state", export) == ""
    other = SimulatedNode(NS, "rpc-0", bucket=bucket, chain_id="pacific-1")
    assert _run(other, "configure-genesis") == ""
