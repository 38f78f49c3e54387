"""The BlueGreen and HardFork tasks on an in-memory cluster and sidecars (spec 6.7.3
await-nodes-running, 6.7.4, 6.2 sub-task ids; decisions F12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.v1alpha1 import Resource, RolloutStatus, SeiNode, SeiNodeDeployment, UpdateStrategyType
from controllers.operator import group_task_registry
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
)
from controllers.plan.ids import deployment_subtask_id
from controllers.seinode.render import render_statefulset
from controllers.seinodedeployment.children import desired_child
from controllers.sidecar.api import TaskResultStatus
from tests.fixtures.platform import platform_for_tests

from .fakes import FakeKube, NodeSidecar, NodeSidecars
from .fixtures import child, group

PARENT = "b9d69009-f302-5308-864e-653a8a1244d8"
SEINODE = ("sei.io/v1alpha1", "SeiNode")
HALT = {"condition": "height", "targetHeight": 5000, "action": "SIGTERM_SEID"}


def _rolling() -> SeiNodeDeployment:
    grp = group(metadata__generation=2)
    grp.status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.BLUE_GREEN,
        target_hash="h2",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        incumbent_nodes=["archive-rpc-0"],
        entrant_nodes=["archive-rpc-g2-0"],
        incumbent_revision="1",
        entrant_revision="2",
    )
    return grp


def _task(
    kube: FakeKube,
    task_type: str,
    params: dict[str, Any],
    owner: Resource | None = None,
    sidecars: NodeSidecars | None = None,
) -> Task:
    def no_assembler() -> Any:
        raise AssertionError("rollout tasks never use the owner's own sidecar")

    ctx = TaskContext.for_owner(
        owner or _rolling(),
        client=kube,
        sidecar=no_assembler,
        sidecars=sidecars if sidecars is not None else NodeSidecars(),
    )
    return group_task_registry().build(ctx, task_type, PARENT, params)


def _names(*names: str) -> dict[str, Any]:
    return {"namespace": "sei", "nodeNames": list(names)}


# --- create-entrant-nodes -------------------------------------------------------------------


async def test_create_entrant_nodes_creates_each_entrant_with_its_ordinal_and_revision() -> None:
    kube = FakeKube()
    params = {"groupName": "archive-rpc", "entrantRevision": "2", **_names("a-g2-0", "a-g2-1")}
    task = _task(kube, "create-entrant-nodes", params)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    second = kube.stored(*SEINODE, "a-g2-1", "sei")
    assert second["metadata"]["labels"]["sei.io/nodedeployment-ordinal"] == "1"
    assert second["metadata"]["labels"]["sei.io/revision"] == "2"
    assert second["spec"]["image"] == "ghcr.io/sei-protocol/seid:v1.0.0"


async def test_create_entrant_nodes_leaves_existing_entrants_alone() -> None:
    kube = FakeKube()
    kube.add(child("a-g2-0", 0, "2"))
    params = {"groupName": "archive-rpc", "entrantRevision": "2", **_names("a-g2-0")}
    await _task(kube, "create-entrant-nodes", params).execute()
    assert kube.writes == []


async def test_create_entrant_nodes_needs_a_group_owner() -> None:
    node = SeiNode.from_dict(desired_child(group(), 0, "1"))
    task = _task(FakeKube(), "create-entrant-nodes", _names("x"), owner=node)
    with pytest.raises(TerminalTaskError):
        await task.execute()


# --- await-nodes-running --------------------------------------------------------------------


async def test_await_nodes_running_completes_when_expected_nodes_run() -> None:
    kube = FakeKube()
    kube.add(child("e-0", 0, "2"), child("e-1", 1, "2", phase="Initializing"))
    params = {"groupName": "archive-rpc", "expected": 2, **_names("e-0", "e-1")}
    assert await _task(kube, "await-nodes-running", params).status() == TaskState.RUNNING
    kube.add(child("e-1", 1, "2"))
    assert await _task(kube, "await-nodes-running", params).status() == TaskState.COMPLETE


async def test_await_nodes_running_fails_on_a_failed_node() -> None:
    kube = FakeKube()
    kube.add(child("e-0", 0, "2", phase="Failed"))
    params = {"groupName": "archive-rpc", "expected": 1, **_names("e-0")}
    task = _task(kube, "await-nodes-running", params)
    assert await task.status() == TaskState.FAILED
    assert task.error() == "node e-0 is in Failed phase"


async def test_await_nodes_running_without_names_counts_the_group_label() -> None:
    kube = FakeKube()
    kube.add(child("e-0", 0, "2"), child("e-1", 1, "2"))
    params = {"groupName": "archive-rpc", "namespace": "sei", "expected": 2}
    assert await _task(kube, "await-nodes-running", params).status() == TaskState.COMPLETE


# --- await-nodes-caught-up ------------------------------------------------------------------


def _entrant(name: str) -> dict[str, Any]:
    node = desired_child(group(), 0, "2", name=name)
    node["metadata"]["uid"] = "00000000-0000-4000-8000-000000000009"
    node["status"] = {"phase": "Running"}
    return node


def _statefulset(node: dict[str, Any], ready: bool) -> dict[str, Any]:
    sts = render_statefulset(SeiNode.from_dict(node), platform_for_tests())
    sts["status"] = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1 if ready else 0}
    return sts


async def test_caught_up_needs_a_ready_sidecar() -> None:
    kube, node = FakeKube(), _entrant("e-0")
    kube.add(node, _statefulset(node, ready=True))
    sidecars = NodeSidecars({"e-0": NodeSidecar("e-0", ready=False)})
    task = _task(kube, "await-nodes-caught-up", _names("e-0"), sidecars=sidecars)
    assert await task.status() == TaskState.RUNNING
    sidecars.by_name["e-0"].ready = True
    assert await task.status() == TaskState.COMPLETE


async def test_caught_up_needs_a_ready_pod_so_the_service_has_endpoints() -> None:
    kube, node = FakeKube(), _entrant("e-0")
    kube.add(node, _statefulset(node, ready=False))
    sidecars = NodeSidecars({"e-0": NodeSidecar("e-0", ready=True)})
    task = _task(kube, "await-nodes-caught-up", _names("e-0"), sidecars=sidecars)
    assert await task.status() == TaskState.RUNNING


async def test_caught_up_never_submits_anything() -> None:
    kube, node = FakeKube(), _entrant("e-0")
    kube.add(node, _statefulset(node, ready=True))
    sidecars = NodeSidecars({"e-0": NodeSidecar("e-0", ready=False)})
    await _task(kube, "await-nodes-caught-up", _names("e-0"), sidecars=sidecars).status()
    assert sidecars.by_name["e-0"].submissions == []


# --- switch-traffic -------------------------------------------------------------------------


async def test_switch_traffic_points_the_active_revision_at_the_entrants() -> None:
    owner = _rolling()
    params = {"groupName": "archive-rpc", "namespace": "sei", "entrantRevision": "2"}
    task = _task(FakeKube(), "switch-traffic", params, owner=owner)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert owner.status.rollout is not None
    assert owner.status.rollout.incumbent_revision == "2"


async def test_switch_traffic_without_a_rollout_is_terminal() -> None:
    params = {"groupName": "archive-rpc", "namespace": "sei", "entrantRevision": "2"}
    task = _task(FakeKube(), "switch-traffic", params, owner=group())
    with pytest.raises(TerminalTaskError, match=r"^no rollout status on group archive-rpc$"):
        await task.execute()


# --- teardown-nodes -------------------------------------------------------------------------


async def test_teardown_deletes_the_incumbents_and_completes_when_they_are_gone() -> None:
    kube = FakeKube()
    kube.add(child("i-0", 0), child("i-1", 1))
    task = _task(kube, "teardown-nodes", _names("i-0", "i-1", "gone"))
    await task.execute()
    assert sorted(name for verb, name, _ in kube.writes if verb == "delete") == ["i-0", "i-1"]
    assert await task.status() == TaskState.COMPLETE


async def test_teardown_waits_while_a_node_still_exists() -> None:
    kube = FakeKube()
    task = _task(kube, "teardown-nodes", _names("i-0"))
    kube.add(child("i-0", 0))  # e.g. held by its finalizer
    assert await task.status() == TaskState.RUNNING


async def test_teardown_waits_while_an_incumbent_pod_exists() -> None:
    kube = FakeKube()
    task = _task(kube, "teardown-nodes", _names("i-0"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "i-0-0", "namespace": "sei"}}
    kube.add(pod)
    assert await task.status() == TaskState.RUNNING


async def test_teardown_does_not_wait_for_a_terminating_pods_grace_period() -> None:
    kube = FakeKube()
    task = _task(kube, "teardown-nodes", _names("i-0"))
    meta = {"name": "i-0-0", "namespace": "sei", "deletionTimestamp": "2026-01-01T00:00:00Z"}
    kube.add({"apiVersion": "v1", "kind": "Pod", "metadata": meta})
    assert await task.status() == TaskState.COMPLETE


# --- submit-halt-signal ---------------------------------------------------------------------


async def test_halt_signal_asks_each_incumbent_to_stop_seid_at_the_height() -> None:
    kube = FakeKube()
    kube.add(child("grp-0", 0), child("grp-1", 1))
    sidecars = NodeSidecars()
    params = {**_names("grp-0", "grp-1"), "haltHeight": 5000}
    task = _task(kube, "submit-halt-signal", params, sidecars=sidecars)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert sidecars.by_name["grp-0"].submissions == [
        ("await-condition", HALT, "04fa8003-1a47-5f88-a3bf-4f059809554b")
    ]
    assert sidecars.by_name["grp-1"].submissions == [
        ("await-condition", HALT, deployment_subtask_id("grp-1", "halt-signal", PARENT))
    ]


async def test_halt_signal_is_best_effort() -> None:
    kube = FakeKube()
    kube.add(child("grp-0", 0), child("grp-1", 1))
    sidecars = NodeSidecars({"grp-0": NodeSidecar("grp-0", reachable=False)})
    params = {**_names("missing", "grp-0", "grp-1"), "haltHeight": 5000}
    task = _task(kube, "submit-halt-signal", params, sidecars=sidecars)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert len(sidecars.by_name["grp-1"].submissions) == 1


# --- await-nodes-at-height ------------------------------------------------------------------


def _at_height(kube: FakeKube, sidecars: NodeSidecars, *names: str) -> Task:
    params = {**_names(*names), "targetHeight": 5000}
    return _task(kube, "await-nodes-at-height", params, sidecars=sidecars)


async def test_await_height_submits_with_the_per_node_id_and_no_action() -> None:
    kube, sidecars = FakeKube(), NodeSidecars()
    kube.add(child("grp-g2-0", 0, "2"))
    await _at_height(kube, sidecars, "grp-g2-0").execute()
    assert sidecars.by_name["grp-g2-0"].submissions == [
        (
            "await-condition",
            {"condition": "height", "targetHeight": 5000},
            "87a5767d-fc2d-5613-9d34-e17b60e15b41",
        )
    ]


async def test_await_height_completes_when_every_entrant_reached_it() -> None:
    kube, sidecars = FakeKube(), NodeSidecars()
    kube.add(child("e-0", 0, "2"), child("e-1", 1, "2"))
    task = _at_height(kube, sidecars, "e-0", "e-1")
    await task.execute()
    sidecars.by_name["e-0"].tasks[deployment_subtask_id("e-0", "await-height", PARENT)] = (
        TaskResultStatus.COMPLETED
    )
    assert await task.status() == TaskState.RUNNING
    for sidecar in sidecars.by_name.values():
        for sub in sidecar.tasks:
            sidecar.tasks[sub] = TaskResultStatus.COMPLETED
    assert await task.status() == TaskState.COMPLETE


async def test_await_height_fails_when_an_entrant_task_failed() -> None:
    kube, sidecars = FakeKube(), NodeSidecars()
    kube.add(child("e-0", 0, "2"))
    task = _at_height(kube, sidecars, "e-0")
    await task.execute()
    sidecars.by_name["e-0"].tasks[deployment_subtask_id("e-0", "await-height", PARENT)] = (
        TaskResultStatus.FAILED
    )
    assert await task.status() == TaskState.FAILED
    assert task.error() == "await-height failed on e-0: height unreachable"


async def test_await_height_resubmits_a_task_the_sidecar_lost() -> None:
    kube, sidecars = FakeKube(), NodeSidecars()
    kube.add(child("e-0", 0, "2"))
    task = _at_height(kube, sidecars, "e-0")
    await task.execute()
    sidecars.by_name["e-0"].tasks.clear()
    assert await task.status() == TaskState.RUNNING
    assert len(sidecars.by_name["e-0"].submissions) == 2


async def test_await_height_retries_later_when_an_entrant_is_unreachable() -> None:
    kube = FakeKube()
    kube.add(child("e-0", 0, "2"))
    sidecars = NodeSidecars({"e-0": NodeSidecar("e-0", reachable=False)})
    with pytest.raises(TransientTaskError):
        await _at_height(kube, sidecars, "e-0").execute()
