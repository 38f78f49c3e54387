"""Genesis ceremonies end to end (issue 14 acceptance; spec 12.1, 12.2, 12.5; decision F15).

The ceremony moves artifacts through the genesis bucket (S3). With the simulator, its in-memory
bucket stands in for it; with real `seictl serve` sidecars, the same kind of bucket is served
over the S3 API (controllers/sidecar/sims3.py) and the fleet puts `seid init`'s genesis.json
into each node's home, as the pod's seid-init container would. The fork ceremony runs on the
simulator only: seictl v0.0.68 has no export-state or assemble-genesis-fork task, and an export
needs a running seid (tests/integration/sidecar/test_sidecar_genesis.py has the evidence).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from controllers.plan.ids import export_state_task_id
from controllers.sidecar.launchers import NodeKey, SeictlLauncher
from controllers.sidecar.simceremony import GenesisBucket
from controllers.sidecar.sims3 import S3BucketServer

from ...fixtures.goldens import golden_platform
from ..sidecar.conftest import initialised_genesis
from .conftest import OperatorFactory, OperatorHarness, condition

CHAIN = "ceremony-1"
SOURCE_CHAIN = "pacific-1"
SOURCE_IMAGE = "ghcr.io/sei-protocol/sei:v6.2.0"
EXPORT_HEIGHT = 1000


def genesis_group(
    name: str, namespace: str, replicas: int = 4, fork: dict[str, Any] | None = None
) -> dict[str, Any]:
    genesis: dict[str, Any] = {"chainId": CHAIN}
    if fork is not None:
        genesis["fork"] = fork
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "InPlace"},
            "genesis": genesis,
            "template": {
                "spec": {
                    "chainId": CHAIN,
                    "image": "ghcr.io/sei-protocol/sei:v6.3.0",
                    "validator": {},
                }
            },
        },
    }


async def _group(op: OperatorHarness, name: str) -> dict[str, Any]:
    return await op.kube.get("sei.io/v1alpha1", "SeiNodeDeployment", name, op.namespace)


def _ceremony_complete(obj: dict[str, Any]) -> bool:
    done = condition(obj, "GenesisCeremonyComplete")
    status = obj.get("status") or {}
    return (
        done is not None
        and done["status"] == "True"
        and status.get("plan") is None
        and status.get("phase") == "Ready"
    )


async def _run_to_completion(op: OperatorHarness, name: str) -> dict[str, Any]:
    return await eventually(
        lambda: _group(op, name),
        _ceremony_complete,
        timeout=300,
        message=f"genesis ceremony of {name} completed",
    )


def _names(name: str, replicas: int = 4) -> list[str]:
    return [f"{name}-{i}" for i in range(replicas)]


async def test_four_validators_complete_a_genesis_ceremony(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    name = "gen"
    async with run_operator(sidecars="fleet-simulator") as op:
        assert op.simulator is not None
        await kube.create(genesis_group(name, namespace))
        needed = await eventually(
            lambda: _group(op, name),
            lambda g: condition(g, "GenesisCeremonyNeeded") is not None,
            timeout=120,
            message="GenesisCeremonyNeeded",
        )
        found = condition(needed, "GenesisCeremonyNeeded")
        assert found is not None
        assert (found["status"], found["reason"], found["message"]) == (
            "True",
            "GenesisConfigured",
            "Genesis ceremony configured",
        )

        done = await _run_to_completion(op, name)
        status = done["status"]
        complete = condition(done, "GenesisCeremonyComplete")
        assert complete is not None
        assert (complete["reason"], complete["message"]) == (
            "CeremonyComplete",
            "Genesis ceremony completed",
        )
        assert condition(done, "GenesisCeremonyNeeded") is None
        plan_condition = condition(done, "PlanInProgress")
        assert plan_condition is not None
        assert plan_condition["reason"] == "PlanComplete"
        assert [(n["name"], n["phase"]) for n in status["nodes"]] == [
            (n, "Running") for n in _names(name)
        ]

        # The assembled genesis is in the bucket, with every validator in it.
        genesis = op.simulator.bucket.json(f"{CHAIN}/genesis.json")
        assert genesis["chain_id"] == CHAIN
        assert sorted(v["name"] for v in genesis["validators"]) == _names(name)

        # Every validator's sidecar knows every other validator, and its spec lists all four.
        node_ids = {n: op.sidecar(n).node_id for n in _names(name)}
        for node_name in _names(name):
            sim = op.sidecar(node_name)
            expected = sorted(
                f"{node_ids[other]}@{other}-0.{other}.{namespace}.svc.cluster.local:26656"
                for other in _names(name)
                if other != node_name
            )
            assert sorted(sim.persistent_peers or []) == expected
            node = await op.node(node_name)
            addresses = node["spec"]["peers"][0]["static"]["addresses"]
            assert sorted(addresses) == sorted(
                f"{node_ids[n]}@{n}-0.{n}.{namespace}.svc.cluster.local:26656" for n in _names(name)
            )


async def test_four_validators_complete_a_genesis_ceremony_on_real_seictl(
    run_operator: OperatorFactory, kube: Client, namespace: str, tmp_path: Path
) -> None:
    """The same ceremony with every sidecar task (identity, gentx, upload, assembly,
    configure-genesis, set-genesis-peers, node id) run by real seictl processes."""
    name = "real"
    bucket = GenesisBucket()
    seed = await initialised_genesis(tmp_path / "seed", CHAIN)

    def seid_init(node: NodeKey, home: Path, pod: dict[str, Any]) -> None:
        genesis = home / "config" / "genesis.json"
        if not genesis.exists():
            genesis.parent.mkdir(parents=True, exist_ok=True)
            genesis.write_bytes(seed)

    async with (
        S3BucketServer(bucket, golden_platform().genesis_bucket) as s3,
        run_operator(
            sidecars="seictl", seictl_env={"AWS_ENDPOINT_URL": s3.endpoint}, init_home=seid_init
        ) as op,
    ):
        await kube.create(genesis_group(name, namespace))
        done = await _run_to_completion(op, name)
        assert [(n["name"], n["phase"]) for n in done["status"]["nodes"]] == [
            (n, "Running") for n in _names(name)
        ]
        genesis = bucket.json(f"{CHAIN}/genesis.json")
        assert genesis["chain_id"] == CHAIN
        assert len(genesis["app_state"]["genutil"]["gen_txs"]) == 4
        peers = bucket.json(f"{CHAIN}/peers.json")
        assert len(peers) == 4
        for node_name in _names(name):
            status, body = await op.sidecar_get(node_name, "node-id")
            assert status == 200
            own = f"{body['nodeId']}@{node_name}-0."
            node = await op.node(node_name)
            assert sorted(node["spec"]["peers"][0]["static"]["addresses"]) == sorted(peers)
            home = node_home(op, node_name)
            config = (home / "config" / "config.toml").read_text()
            others = [p for p in peers if not p.startswith(own)]
            assert len(others) == 3
            assert all(p.split(":")[0] in config for p in others)
            assert json.loads((home / "config" / "genesis.json").read_bytes()) == genesis


def node_home(op: OperatorHarness, node_name: str) -> Path:
    """The node's home directory (its /sei) under the seictl launcher."""
    assert op.fleet is not None
    launcher = op.fleet.launcher
    assert isinstance(launcher, SeictlLauncher)
    return launcher.home((op.namespace, node_name))


async def test_the_ceremony_plan_has_the_specified_tasks(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """Spec 6.6: assembly on the first validator's sidecar (maxRetries 180), then peers, then
    the wait for every validator; observed on the plan while it runs."""
    name = "genplan"
    async with run_operator(sidecars="fleet-simulator") as op:
        # Hold the assembly so the plan can be read while it runs.
        op.sidecar(f"{name}-0").latencies["assemble-and-upload-genesis"] = float("inf")
        await kube.create(genesis_group(name, namespace, replicas=2))
        running = await eventually(
            lambda: _group(op, name),
            lambda g: (g.get("status") or {}).get("plan") is not None,
            timeout=120,
            message="ceremony plan started",
        )
        tasks = running["status"]["plan"]["tasks"]
        assert [(t["type"], t.get("maxRetries")) for t in tasks] == [
            ("assemble-and-upload-genesis", 180),
            ("collect-and-set-peers", None),
            ("await-nodes-running", None),
        ]
        nodes = _names(name, 2)
        assert tasks[0]["params"] == {
            "accountBalance": "1000000000000000000000usei,1000000000000000000000uusdc,"
            "1000000000000000000000uatom",
            "namespace": namespace,
            "nodes": [{"name": n} for n in nodes],
        }
        assert tasks[1]["params"] == {
            "groupName": name,
            "namespace": namespace,
            "nodeNames": nodes,
        }
        assert tasks[2]["params"] == {
            "groupName": name,
            "namespace": namespace,
            "expected": 2,
            "nodeNames": nodes,
        }
        assert running["status"]["phase"] == "Initializing"
        assembler = op.sidecar(f"{name}-0")
        await eventually(
            lambda: assembler.tasks.get(tasks[0]["id"]),
            lambda t: t is not None and t.status == "running",
            timeout=60,
            message="assembly submitted to the first validator's sidecar",
        )
        # Released: a later retry (if the held run failed for a gentx not uploaded yet) runs
        # at once.
        del assembler.latencies["assemble-and-upload-genesis"]
        assembler.finish(tasks[0]["id"])
        await _run_to_completion(op, name)


async def test_a_fork_ceremony_completes_and_tears_down_the_exporter(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """Spec 12.2: the exporter (a bootstrapped full node of the source chain) exports the state
    at the height into the bucket, is deleted, and the forked genesis is assembled from it."""
    name = "fork"
    fork = {
        "sourceChainId": SOURCE_CHAIN,
        "sourceImage": SOURCE_IMAGE,
        "exportHeight": EXPORT_HEIGHT,
    }
    # The shared-port simulator: the exporter's bootstrap Job pod finishes at once under kwok,
    # so a per-pod sidecar would not outlive it (as in the bootstrap e2e of test_seinode_modes).
    async with run_operator(sidecars="simulator") as op:
        assert op.simulator is not None
        for node in _names(name, 2):
            op.sidecar(node).chain_id = CHAIN
        exporter = f"{name}-exporter"
        await kube.create(genesis_group(name, namespace, replicas=2, fork=fork))
        needed = await eventually(
            lambda: _group(op, name),
            lambda g: condition(g, "ForkGenesisCeremonyNeeded") is not None,
            timeout=120,
            message="ForkGenesisCeremonyNeeded",
        )
        found = condition(needed, "ForkGenesisCeremonyNeeded")
        assert found is not None
        assert (found["status"], found["reason"], found["message"]) == (
            "True",
            "ForkConfigured",
            f"Fork genesis from {SOURCE_CHAIN}",
        )
        created = await eventually(
            lambda: op.get("sei.io/v1alpha1", "SeiNode", exporter),
            lambda node: node is not None,
            timeout=120,
            message="exporter created",
        )
        assert created is not None
        assert created["metadata"]["labels"] == {
            "sei.io/nodedeployment": name,
            "sei.io/role": "exporter",
        }
        assert created["spec"]["chainId"] == SOURCE_CHAIN
        assert created["spec"]["image"] == SOURCE_IMAGE
        assert created["spec"]["fullNode"]["snapshot"] == {
            "s3": {"targetHeight": EXPORT_HEIGHT},
            "bootstrapImage": SOURCE_IMAGE,
        }

        plan = (await _group(op, name))["status"]["plan"]
        assert [(t["type"], t.get("maxRetries")) for t in plan["tasks"]] == [
            ("create-exporter", None),
            ("await-exporter-running", None),
            ("submit-export-state", None),
            ("teardown-exporter", None),
            ("assemble-genesis-fork", 180),
            ("collect-and-set-peers", None),
            ("await-nodes-running", None),
        ]

        done = await _run_to_completion(op, name)
        assert await op.get("sei.io/v1alpha1", "SeiNode", exporter) is None
        assert [n["name"] for n in done["status"]["nodes"]] == _names(name, 2)
        assert done["status"]["incumbentNodes"] == _names(name, 2)

        exported = op.simulator.bucket.json(f"{SOURCE_CHAIN}/exported-state.json")
        assert exported["initial_height"] == EXPORT_HEIGHT + 1
        genesis = op.simulator.bucket.json(f"{CHAIN}/genesis.json")
        assert genesis["chain_id"] == CHAIN
        assert genesis["app_state"] == exported["app_state"]
        assert sorted(v["name"] for v in genesis["validators"]) == _names(name, 2)
        posts = op.sidecar(exporter).posts_of("export-state")
        assert {p.id for p in posts} == {export_state_task_id(exporter)}


async def test_a_failed_ceremony_is_retried_with_a_new_plan(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """Spec 6.5/12.1 step 5: a validator that fails after its gentx was uploaded fails the
    ceremony's final wait; GenesisCeremonyNeeded stays True and a new ceremony plan (new task
    ids) starts after the retry delay."""
    name = "genfail"
    async with run_operator(sidecars="fleet-simulator") as op:
        op.sidecar(f"{name}-1").fail("config-apply", "simulated config failure", times=None)
        await kube.create(genesis_group(name, namespace, replicas=2))

        # A retried ceremony may start and fail within one pass (its status write shows no
        # plan then), so the plans are counted where each leaves a trace: its assembly task,
        # posted under the plan's own task id to the assembler's sidecar.
        def assemblies() -> set[str | None]:
            return {p.id for p in op.sidecar(f"{name}-0").posts_of("assemble-and-upload-genesis")}

        await eventually(
            assemblies, lambda ids: len(ids) >= 2, timeout=400, message="ceremony retried"
        )
        group = await _group(op, name)
        needed = condition(group, "GenesisCeremonyNeeded")
        assert needed is not None
        assert needed["status"] == "True"
        assert condition(group, "GenesisCeremonyComplete") is None
        failed = [e for e in await op.events(name) if e["reason"] == "PlanFailed"]
        assert failed
        assert (failed[0]["type"], failed[0]["message"]) == ("Warning", "Plan failed")
        node = await op.node(f"{name}-1")
        assert node["status"]["phase"] == "Failed"
