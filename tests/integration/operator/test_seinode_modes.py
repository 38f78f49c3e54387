"""Every node mode, and the bootstrap-Job path, from nothing to Running (issue 10 acceptance):
the plan holds the exact task order of spec 6.3, and the node's sidecar ran exactly those
tasks, each once.

Real `seictl serve` (v0.0.68) runs a plan only when every task works locally: it completes
configure-genesis (for the chains whose genesis it carries), config-apply, config-validate and
mark-ready, but fails snapshot-restore (it needs the S3 snapshot bucket), fails
configure-state-sync ("no peers in config.toml": it needs a reachable chain) and does not know
discover-peers. Every plan here but the validator's has one of those, so it runs on the
simulator, whose semantics the sidecar contract suite pins to the real sidecar's.
"""

from __future__ import annotations

import math
from typing import Any

from controller_runtime.envtest import eventually
from controllers.sidecar.simnode import SimulatedNode

from .conftest import OperatorFactory, OperatorHarness, phase_is, seinode

BOOTSTRAP_LABEL = ("sei.io/component", "bootstrap")
STATIC_PEER = {"static": {"addresses": ["0123456789abcdef0123456789abcdef01234567@10.0.0.1:26656"]}}
S3_SNAPSHOT = {"s3": {"targetHeight": 100}}
# Controller tasks run against the Kubernetes API, never the sidecar (spec 6.7.2).
CONTROLLER_TASKS = frozenset(
    {
        "deploy-bootstrap-service",
        "deploy-bootstrap-job",
        "await-bootstrap-complete",
        "teardown-bootstrap",
    }
)


def _plan(node: dict[str, Any]) -> list[dict[str, Any]]:
    plan = node["status"]["plan"]
    assert plan["phase"] == "Complete"
    tasks: list[dict[str, Any]] = plan["tasks"]
    assert [t["status"] for t in tasks] == ["Complete"] * len(tasks)
    return tasks


def _sidecar_task_ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in tasks if t["type"] not in CONTROLLER_TASKS]


def _params(tasks: list[dict[str, Any]], task_type: str) -> list[dict[str, Any] | None]:
    return [t.get("params") for t in tasks if t["type"] == task_type]


def _ran_once_each(sim: SimulatedNode, tasks: list[dict[str, Any]]) -> None:
    """The simulated sidecar started exactly the plan's sidecar tasks, in plan order, once."""
    ids = _sidecar_task_ids(tasks)
    assert [(e.id, e.run) for e in sim.executions] == [(i, 1) for i in ids]
    assert [sim.tasks[i].status for i in ids] == ["completed"] * len(ids)


def _simulated(op: OperatorHarness, name: str) -> SimulatedNode:
    assert op.simulator is not None
    return op.simulator.node(op.namespace, name)


async def test_validator_reaches_running_on_real_seictl(
    run_operator: OperatorFactory, namespace: str
) -> None:
    """A validator without snapshot or peers: every task works on real seictl, including
    config-apply in mode `validator`."""
    async with run_operator(sidecars="seictl") as op:
        await op.kube.create(seinode("val-0", namespace, validator={}))
        node = await op.wait_node("val-0", phase_is("Running"))
        tasks = _plan(node)
        assert [t["type"] for t in tasks] == [
            "configure-genesis",
            "config-apply",
            "config-validate",
            "mark-ready",
        ]
        assert _params(tasks, "config-apply") == [{"mode": "validator"}]
        status, listed = await op.sidecar_get("val-0", "tasks")
        assert status == 200
        ran = {t["id"]: (t["type"], t["status"], t["run"]) for t in listed}
        assert ran == {t["id"]: (t["type"], "completed", 1) for t in tasks}
        assert (await op.sidecar_get("val-0", "status")) == (200, {"status": "Ready"})


async def test_archive_reaches_running_through_state_sync(
    run_operator: OperatorFactory, namespace: str
) -> None:
    """An archive node always state-syncs (implicit `stateSync: {}`): configure-state-sync
    needs a reachable chain, so the node's sidecar is the simulator (one per pod, through the
    local fleet)."""
    async with run_operator(sidecars="fleet-simulator") as op:
        await op.kube.create(seinode("arch-0", namespace, archive={}))
        node = await op.wait_node("arch-0", phase_is("Running"))
        tasks = _plan(node)
        assert [t["type"] for t in tasks] == [
            "configure-genesis",
            "config-apply",
            "configure-state-sync",
            "config-validate",
            "mark-ready",
        ]
        assert _params(tasks, "config-apply") == [{"mode": "archive"}]
        assert _params(tasks, "configure-state-sync") == [{}]
        _ran_once_each(_simulated(op, "arch-0"), tasks)


async def test_replayer_reaches_running_from_an_s3_snapshot_with_peers(
    run_operator: OperatorFactory, namespace: str
) -> None:
    """A replayer restores an S3 snapshot and discovers its peers: both need what only a cluster
    has (the snapshot bucket, a known task type), so its sidecar is the simulator."""
    async with run_operator(sidecars="fleet-simulator") as op:
        manifest = seinode(
            "replay-0", namespace, replayer={"snapshot": S3_SNAPSHOT}, peers=[STATIC_PEER]
        )
        await op.kube.create(manifest)
        node = await op.wait_node("replay-0", phase_is("Running"))
        tasks = _plan(node)
        assert [t["type"] for t in tasks] == [
            "snapshot-restore",
            "configure-genesis",
            "config-apply",
            "discover-peers",
            "configure-state-sync",
            "config-validate",
            "mark-ready",
        ]
        sim = _simulated(op, "replay-0")
        _ran_once_each(sim, tasks)
        received = {sim.tasks[t["id"]].type: sim.tasks[t["id"]].params for t in tasks}
        assert received["snapshot-restore"] == {"targetHeight": 100}
        assert received["discover-peers"] == {
            "sources": [{"type": "static", "addresses": STATIC_PEER["static"]["addresses"]}]
        }
        assert received["configure-state-sync"] == {"useLocalSnapshot": True}
        assert (received["config-apply"] or {})["mode"] == "full"


async def test_full_node_reaches_running_from_an_s3_snapshot(
    run_operator: OperatorFactory, namespace: str
) -> None:
    """A full node restoring an S3 snapshot (no bootstrap image): snapshot-restore needs the
    snapshot bucket, so its sidecar is the simulator."""
    async with run_operator(sidecars="fleet-simulator") as op:
        await op.kube.create(seinode("snap-0", namespace, fullNode={"snapshot": S3_SNAPSHOT}))
        node = await op.wait_node("snap-0", phase_is("Running"))
        tasks = _plan(node)
        assert [t["type"] for t in tasks] == [
            "snapshot-restore",
            "configure-genesis",
            "config-apply",
            "configure-state-sync",
            "config-validate",
            "mark-ready",
        ]
        assert _params(tasks, "snapshot-restore") == [{"targetHeight": 100}]
        assert _params(tasks, "configure-state-sync") == [{"useLocalSnapshot": True}]
        _ran_once_each(_simulated(op, "snap-0"), tasks)


def _has_label(obj: dict[str, Any] | None, key: str, value: str) -> bool:
    return obj is not None and (obj["metadata"].get("labels") or {}).get(key) == value


def _job_complete(job: dict[str, Any] | None) -> bool:
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)


async def test_bootstrap_job_path_reaches_running(
    run_operator: OperatorFactory, namespace: str
) -> None:
    """A full node with `snapshot.s3.targetHeight` and `bootstrapImage` (spec 12.3): the
    bootstrap Service and Job come first and no StatefulSet while they live; kwok completes
    the Job, teardown deletes both, then the StatefulSet and its headless Service run the
    post-bootstrap tasks.

    The sidecar is the simulator on one shared port, independent of pods: the bootstrap tasks
    need S3 and peers, and kwok finishes a Job pod at once, so no per-pod sidecar would outlive
    it. The snapshot restore is held until the test has seen the bootstrap objects."""
    name, bootstrap_image = "boot-0", "ghcr.io/sei-protocol/sei:v6.2.0"
    async with run_operator(sidecars="simulator") as op:
        sim = _simulated(op, name)
        sim.latencies["snapshot-restore"] = math.inf
        snapshot = {**S3_SNAPSHOT, "bootstrapImage": bootstrap_image}
        manifest = seinode(name, namespace, fullNode={"snapshot": snapshot}, peers=[STATIC_PEER])
        await op.kube.create(manifest)

        job = await eventually(
            lambda: op.get("batch/v1", "Job", f"{name}-bootstrap"),
            _job_complete,
            timeout=120,
            message="bootstrap Job completed by kwok",
        )
        assert _has_label(job, *BOOTSTRAP_LABEL)
        assert job is not None
        seid = job["spec"]["template"]["spec"]["containers"][0]
        assert (seid["name"], seid["image"]) == ("seid", bootstrap_image)
        assert _has_label(await op.get("v1", "Service", name), *BOOTSTRAP_LABEL)
        assert await op.get("apps/v1", "StatefulSet", name) is None

        planned = (await op.node(name))["status"]["plan"]["tasks"][2]
        assert planned["type"] == "snapshot-restore"
        await eventually(
            lambda: sim.tasks.get(planned["id"]),
            lambda task: task is not None and task.status == "running",
            timeout=120,
            message="snapshot-restore held on the sidecar",
        )
        sim.finish(planned["id"])

        node = await op.wait_node(name, phase_is("Running"), timeout=180)
        tasks = _plan(node)
        assert [t["type"] for t in tasks] == [
            "deploy-bootstrap-service",
            "deploy-bootstrap-job",
            "snapshot-restore",
            "configure-genesis",
            "config-apply",
            "discover-peers",
            "configure-state-sync",
            "config-validate",
            "mark-ready",
            "await-bootstrap-complete",
            "teardown-bootstrap",
            "configure-genesis",
            "config-apply",
            "discover-peers",
            "config-validate",
            "mark-ready",
        ]
        _ran_once_each(sim, tasks)
        await eventually(
            lambda: op.get("batch/v1", "Job", f"{name}-bootstrap"),
            lambda gone: gone is None,
            timeout=120,
            message="bootstrap Job deleted",
        )
        service = await op.get("v1", "Service", name)
        assert service is not None
        assert not _has_label(service, *BOOTSTRAP_LABEL)
        assert service["spec"]["clusterIP"] == "None"
        statefulset = await op.get("apps/v1", "StatefulSet", name)
        assert statefulset is not None
        assert (
            statefulset["spec"]["template"]["spec"]["containers"][0]["image"]
            == (node["spec"]["image"])
        )
