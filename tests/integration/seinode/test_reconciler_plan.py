"""SeiNode reconciler, pass by pass on the real API server: building the init plan (Pending)
and running it one step per pass (Initializing). Spec 3.7 step 8, 6.4; ports of the
TestReconcilePending_*, TestReconcileInitializing_* rows of 11.3 and the TestReconcile_* rows
of 11.2 (there one executor step; here one reconcile pass, which runs exactly one step)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.v1alpha1 import SeiNode, TaskPlan, TaskPlanPhase, TaskStatus
from controller_runtime.controller import Result
from controllers.seinode import planners
from controllers.sidecar.api import SidecarUnavailableError, TaskResultStatus
from tests.integration.seinode.reconciler_harness import S3_SNAPSHOT, ReconcilerHarness

pytestmark = pytest.mark.integration

IMMEDIATE = Result(requeue_after=0.001)
TASK_POLL = Result(requeue_after=5.0)
SNAPSHOT_NODE = {"fullNode": {"snapshot": S3_SNAPSHOT}}
BOOTSTRAP_NODE = {"fullNode": {"snapshot": {**S3_SNAPSHOT, "bootstrapImage": "sei:bootstrap"}}}


async def _initializing(
    harness: ReconcilerHarness,
    name: str,
    spec: dict[str, Any],
    edit: Callable[[TaskPlan], None] = lambda plan: None,
) -> TaskPlan:
    """A node in Initializing with its plan (as its Pending pass built it), edited by ``edit``."""
    created = await harness.create(name, spec, finalizers=["sei.io/seinode-finalizer"])
    plan = planners.build_node_plan(SeiNode.from_dict(created))
    edit(plan)
    await harness.set_status(name, {"phase": "Initializing", "plan": plan.to_dict()})
    return plan


def _all_complete(plan: TaskPlan) -> None:
    for task in plan.tasks:
        task.status = TaskStatus.COMPLETE


def _complete(plan: TaskPlan) -> None:
    _all_complete(plan)
    plan.phase = TaskPlanPhase.COMPLETE


def _failed(plan: TaskPlan) -> None:
    plan.phase = TaskPlanPhase.FAILED
    plan.tasks[0].status = TaskStatus.FAILED
    plan.tasks[0].error = "S3 access denied"
    plan.failed_task_index = 0


# --- Pending ------------------------------------------------------------------------------


async def test_pending_node_becomes_initializing_with_its_plan(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", SNAPSHOT_NODE)

    result = await harness.reconcile("node")

    node = await harness.node("node")
    assert result == IMMEDIATE
    assert node.status.phase == "Initializing"
    assert node.status.plan is not None
    assert node.status.plan.phase == TaskPlanPhase.ACTIVE
    assert next(t.type for t in node.status.plan.tasks) == "snapshot-restore"


async def test_pending_bootstrap_node_becomes_initializing_with_the_bootstrap_plan(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", BOOTSTRAP_NODE)

    result = await harness.reconcile("node")

    node = await harness.node("node")
    assert result == IMMEDIATE
    assert node.status.phase == "Initializing"
    assert node.status.plan is not None
    assert [t.type for t in node.status.plan.tasks][:2] == [
        "deploy-bootstrap-service",
        "deploy-bootstrap-job",
    ]


async def test_pending_bootstrap_node_gets_no_statefulset_before_teardown(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", BOOTSTRAP_NODE)

    await harness.reconcile_times("node", 2)

    assert await harness.child("apps/v1", "StatefulSet", "node") is None


# --- one executor step per pass -----------------------------------------------------------


async def test_first_runs_create_the_plan_and_submit_snapshot_restore(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", SNAPSHOT_NODE)

    await harness.reconcile_times("node", 2)

    node = await harness.node("node")
    assert node.status.plan is not None
    assert node.status.plan.phase == TaskPlanPhase.ACTIVE
    assert harness.sidecar("node").submitted_types() == ["snapshot-restore"]


async def test_a_pass_submits_exactly_the_first_pending_task(harness: ReconcilerHarness) -> None:
    plan = await _initializing(harness, "node", {"validator": {}})

    await harness.reconcile("node")

    submissions = harness.sidecar("node").submissions
    assert [(s.task_type, s.task_id) for s in submissions] == [
        (plan.tasks[0].type, plan.tasks[0].id)
    ]


async def test_all_tasks_complete_marks_the_plan_complete(harness: ReconcilerHarness) -> None:
    await _initializing(harness, "node", {"validator": {}}, _all_complete)

    result = await harness.reconcile("node")

    node = await harness.node("node")
    assert result == IMMEDIATE
    assert node.status.plan is not None
    assert node.status.plan.phase == TaskPlanPhase.COMPLETE


async def test_failed_node_with_a_failed_plan_submits_nothing_and_does_not_requeue(
    harness: ReconcilerHarness,
) -> None:
    await _initializing(harness, "node", SNAPSHOT_NODE, _failed)
    await harness.set_status("node", {"phase": "Failed"})

    result = await harness.reconcile("node")

    assert result == Result()
    assert harness.sidecar("node").submissions == []


async def test_submit_error_requeues_after_five_seconds_and_keeps_the_task_pending(
    harness: ReconcilerHarness,
) -> None:
    await _initializing(harness, "node", SNAPSHOT_NODE)
    harness.sidecar("node").submit_error = SidecarUnavailableError("connection refused")

    result = await harness.reconcile("node")

    node = await harness.node("node")
    assert result == TASK_POLL
    assert node.status.plan is not None
    first = node.status.plan.tasks[0]
    assert (first.status, first.retry_count, first.submitted_at) == (TaskStatus.PENDING, None, None)


async def test_sidecar_client_error_requeues_after_five_seconds(
    harness: ReconcilerHarness,
) -> None:
    await _initializing(harness, "node", SNAPSHOT_NODE)
    harness.sidecars.factory_error = SidecarUnavailableError("no address for node")

    assert await harness.reconcile("node") == TASK_POLL


# --- end of the plan ------------------------------------------------------------------------


async def test_complete_plan_moves_the_node_to_running(harness: ReconcilerHarness) -> None:
    await _initializing(harness, "node", SNAPSHOT_NODE, _complete)

    result = await harness.reconcile("node")

    assert result == IMMEDIATE
    assert (await harness.node("node")).status.phase == "Running"


async def test_failed_plan_moves_the_node_to_failed(harness: ReconcilerHarness) -> None:
    await _initializing(harness, "node", SNAPSHOT_NODE, _failed)

    result = await harness.reconcile("node")

    assert result == IMMEDIATE
    assert (await harness.node("node")).status.phase == "Failed"


# --- whole plans (the TestIntegration* rows of 11.2, one pass per step) -----------------------


async def test_snapshot_node_runs_its_whole_plan_in_order_to_running(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", SNAPSHOT_NODE)
    harness.sidecar("node").complete_on_submit = True

    for _ in range(10):
        await harness.reconcile("node")

    node = await harness.node("node")
    assert node.status.phase == "Running"
    assert node.status.plan is not None
    assert harness.sidecar("node").submitted_types() == [t.type for t in node.status.plan.tasks]


async def _failing_first_task(harness: ReconcilerHarness) -> None:
    """A snapshot node whose snapshot-restore the sidecar reports failed, after its Pending
    pass and the pass that runs that task."""
    await harness.create("node", SNAPSHOT_NODE)
    await harness.reconcile("node")
    plan = (await harness.node("node")).status.plan
    assert plan is not None
    harness.sidecar("node").set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "S3 denied")
    await harness.reconcile("node")


async def test_task_failure_fails_the_plan_with_the_task_error(
    harness: ReconcilerHarness,
) -> None:
    await _failing_first_task(harness)

    node = await harness.node("node")
    assert node.status.phase == "Failed"
    assert node.status.plan is not None
    detail = node.status.plan.failed_task_detail
    assert detail is not None
    assert (detail.type, detail.error, node.status.plan.failed_task_index) == (
        "snapshot-restore",
        "S3 denied",
        0,
    )


async def test_task_failure_is_a_transition_to_failed(harness: ReconcilerHarness) -> None:
    await _failing_first_task(harness)

    assert harness.recorder.events[-1] == (
        "Normal PhaseTransition Phase changed from Initializing to Failed"
    )


async def test_task_failure_is_counted(harness: ReconcilerHarness) -> None:
    await _failing_first_task(harness)

    failures = harness.metric(
        "sei_controller_task_failures_total",
        controller="seinode",
        namespace=harness.namespace,
        task_type="snapshot-restore",
    )
    assert failures == 1.0


async def test_failed_plan_submits_nothing_more(harness: ReconcilerHarness) -> None:
    await _failing_first_task(harness)
    submitted = len(harness.sidecar("node").submissions)

    await harness.reconcile_times("node", 2)

    assert harness.sidecar("node").submissions[submitted:] == []


async def test_initializing_node_that_lost_its_plan_gets_a_new_one_without_a_transition(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", SNAPSHOT_NODE, finalizers=["sei.io/seinode-finalizer"])
    await harness.set_status("node", {"phase": "Initializing"})

    result = await harness.reconcile("node")

    node = await harness.node("node")
    assert result == IMMEDIATE
    assert (node.status.phase, node.status.plan is not None) == ("Initializing", True)
    assert harness.recorder.events == []
