"""The genesis ceremony's sidecar tasks on real `seictl serve` (v0.0.68), with an S3 stand-in
for the genesis bucket.

What runs on a local seictl, and what needed the simulator (evidence from these tests):

* ``generate-identity``: runs as is.
* ``generate-gentx``: runs once the node's home holds an initialised genesis.json. In a pod that
  file comes from ``seid init`` in the seid-init container; no seid runs here, so the tests put
  one there (seictl's embedded pacific-1 genesis with the ceremony's chain id). Without it
  seictl fails the task with ``task handler panicked: EOF`` (the SDK's genesis-account check
  reads an empty app state): pinned below.
* ``upload-genesis-artifacts``, ``assemble-and-upload-genesis``, ``set-genesis-peers``,
  ``configure-genesis`` (for a chain seictl does not embed): they need S3. seictl's AWS SDK
  honours ``AWS_ENDPOINT_URL`` and addresses an IP endpoint path-style, so a local S3 stand-in
  (controllers/sidecar/sims3.py, serving a directory-like in-memory bucket) lets all four run
  here for real: two validators go through the whole ceremony below, and the assembled genesis
  holds both gentxs.
* ``assemble-genesis-fork`` and ``export-state``: seictl v0.0.68 does not know them (400
  ``unknown task type``: the reference's v0.0.30 sidecar had them); ``export-state`` would also
  need a running seid at the height. The fork ceremony therefore runs on the simulator only
  (tests/integration/operator/test_group_genesis.py).

The operator-level ceremony e2e runs on the simulator, whose ceremony semantics (the bucket
layout, configure-genesis waiting for the assembled genesis) follow what this module observes.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from controller_runtime.envtest import eventually
from controllers.sidecar.api import SidecarRejectedError, TaskResult, TaskResultStatus
from controllers.sidecar.client import HTTPSidecarClient, HTTPSidecarClientFactory
from controllers.sidecar.launchers import SeictlLauncher
from controllers.sidecar.simceremony import GenesisBucket
from controllers.sidecar.sims3 import S3BucketServer

from .conftest import free_port, initialised_genesis, seictl_binary

CHAIN = "ceremony-1"
NAMESPACE = "sei"
BUCKET = "ceremony-genesis"
GENTX = {
    "chainId": CHAIN,
    "stakingAmount": "10000000usei",
    "accountBalance": "1000000000000000000000usei",
}


@dataclass
class RealNode:
    name: str
    home: Path
    client: HTTPSidecarClient

    async def run(self, task_type: str, params: dict[str, Any] | None = None) -> TaskResult:
        task_id = await self.client.submit_task(task_type, params, str(uuid.uuid4()))
        result: TaskResult = await eventually(
            lambda: self.client.get_task(task_id),
            lambda r: r.status is not TaskResultStatus.RUNNING,
            timeout=120,
            message=f"{task_type} on {self.name} settled",
        )
        return result

    async def ok(self, task_type: str, params: dict[str, Any] | None = None) -> None:
        result = await self.run(task_type, params)
        assert (result.status, result.error) == (TaskResultStatus.COMPLETED, None), task_type


@dataclass
class Ceremony:
    bucket: GenesisBucket
    s3: S3BucketServer
    nodes: list[RealNode]
    seed_genesis: bytes


@contextlib.asynccontextmanager
async def _seictl_nodes(
    tmp_path: Path, names: list[str], chain: str, endpoint: str
) -> AsyncIterator[list[RealNode]]:
    env = {"SEI_CHAIN_ID": chain, "SEI_GENESIS_BUCKET": BUCKET, "AWS_ENDPOINT_URL": endpoint}
    launcher = SeictlLauncher(seictl_binary(), tmp_path / chain, env=env)
    try:
        async with HTTPSidecarClientFactory() as factory:
            nodes = []
            for name in names:
                port = free_port()
                await launcher.start((NAMESPACE, name), port, {})
                client = factory.for_url(f"http://127.0.0.1:{port}")
                nodes.append(RealNode(name, launcher.home((NAMESPACE, name)), client))
            yield nodes
    finally:
        await launcher.close()


@pytest_asyncio.fixture(loop_scope="session")
async def ceremony(tmp_path: Path) -> AsyncIterator[Ceremony]:
    """Two real validators sharing an S3 stand-in for the genesis bucket."""
    bucket = GenesisBucket()
    async with S3BucketServer(bucket, BUCKET) as s3:
        seed = await initialised_genesis(tmp_path / "seed", CHAIN)
        async with _seictl_nodes(tmp_path, ["val-0", "val-1"], CHAIN, s3.endpoint) as nodes:
            yield Ceremony(bucket, s3, nodes, seed)


async def _identity_and_gentx(node: RealNode, seed: bytes) -> None:
    await node.ok("generate-identity", {"chainId": CHAIN, "moniker": node.name})
    (node.home / "config" / "genesis.json").write_bytes(seed)  # seid init's part
    await node.ok("generate-gentx", GENTX)


async def test_gentx_without_an_initialised_genesis_fails_on_real_seictl(
    ceremony: Ceremony,
) -> None:
    node = ceremony.nodes[0]
    await node.ok("generate-identity", {"chainId": CHAIN, "moniker": node.name})
    result = await node.run("generate-gentx", GENTX)
    assert (result.status, result.error) == (TaskResultStatus.FAILED, "task handler panicked: EOF")


async def test_identity_and_gentx_run_on_real_seictl(ceremony: Ceremony) -> None:
    node = ceremony.nodes[0]
    await _identity_and_gentx(node, ceremony.seed_genesis)
    gentxs = list((node.home / "config" / "gentx").glob("*.json"))
    assert len(gentxs) == 1
    message = json.loads(gentxs[0].read_bytes())["body"]["messages"][0]
    assert (message["@type"], message["value"]["amount"]) == (
        "/cosmos.staking.v1beta1.MsgCreateValidator",
        "10000000",
    )


async def test_a_two_validator_ceremony_runs_on_real_seictl(ceremony: Ceremony) -> None:
    """identity, gentx, upload on each; assembly on the first; then each validator configures
    the assembled genesis and its peers from the bucket."""
    nodes, bucket = ceremony.nodes, ceremony.bucket
    for node in nodes:
        await _identity_and_gentx(node, ceremony.seed_genesis)
        await node.ok("upload-genesis-artifacts", {"nodeName": node.name})
    assert sorted(bucket.objects) == [
        f"{CHAIN}/{n.name}/{kind}" for n in nodes for kind in ("gentx.json", "identity.json")
    ]

    assemble = {
        "accountBalance": GENTX["accountBalance"],
        "namespace": NAMESPACE,
        "nodes": [{"name": n.name} for n in nodes],
    }
    await nodes[0].ok("assemble-and-upload-genesis", assemble)
    genesis = bucket.json(f"{CHAIN}/genesis.json")
    assert genesis["chain_id"] == CHAIN
    validators = {
        tx["body"]["messages"][0]["validator_address"]
        for tx in genesis["app_state"]["genutil"]["gen_txs"]
    }
    assert len(validators) == 2
    node_ids = [await n.client.node_id() for n in nodes]
    assert sorted(bucket.json(f"{CHAIN}/peers.json")) == sorted(
        f"{node_id}@{n.name}-0.{n.name}.{NAMESPACE}.svc.cluster.local:26656"
        for node_id, n in zip(node_ids, nodes, strict=True)
    )

    for node, other_id, other in zip(nodes, reversed(node_ids), reversed(nodes), strict=True):
        await node.ok("configure-genesis")
        written = json.loads((node.home / "config" / "genesis.json").read_bytes())
        assert written == genesis
        await node.ok("set-genesis-peers")
        config = (node.home / "config" / "config.toml").read_text()
        assert f"{other_id}@{other.name}-0.{other.name}.{NAMESPACE}.svc.cluster.local" in config


async def test_configure_genesis_fails_until_the_genesis_is_assembled(ceremony: Ceremony) -> None:
    """What keeps a ceremony validator retrying configure-genesis (maxRetries 180)."""
    result = await ceremony.nodes[1].run("configure-genesis")
    assert result.status is TaskResultStatus.FAILED
    assert result.error is not None
    assert f'object "{CHAIN}/genesis.json" not found in s3://{BUCKET}' in result.error


@pytest.mark.parametrize("task_type", ["assemble-genesis-fork", "export-state"])
async def test_fork_tasks_are_unknown_to_seictl(ceremony: Ceremony, task_type: str) -> None:
    with pytest.raises(SidecarRejectedError) as caught:
        await ceremony.nodes[0].client.submit_task(task_type, {}, str(uuid.uuid4()))
    assert str(caught.value) == (
        f"sidecar rejected {task_type} task: unknown task type: {task_type}"
    )
