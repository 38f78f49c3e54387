"""The executor step of spec 6.4 (and the executor rows of spec 11.2)."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from api.v1alpha1 import (
    PlannedTask,
    SeiNodeDeployment,
    TaskPlan,
    TaskPlanPhase,
    TaskStatus,
)
from controllers.plan import (
    IMMEDIATE_REQUEUE,
    TASK_POLL_INTERVAL,
    PlanError,
    PlanExecutor,
    StepResult,
    TaskRegistry,
    TaskState,
    TerminalTaskError,
    plan_metrics,
    retry_backoff,
    seinode_task_registry,
)
from controllers.plan.ids import new_plan_id, task_id
from controllers.seinode.planners import build_node_plan
from controllers.sidecar.api import (
    SidecarUnavailableError,
    SidecarUnreachableError,
    TaskResultStatus,
)
from tests.unit.plan.fakes import FIXED_NOW, FakeSidecar, sidecar_context
from tests.unit.plan.nodes import genesis_node, snapshot_node


def _plan(*tasks: tuple[str, dict[str, Any]], **task_fields: Any) -> TaskPlan:
    plan_id = new_plan_id()
    return TaskPlan(
        id=plan_id,
        phase=TaskPlanPhase.ACTIVE,
        tasks=[
            PlannedTask(
                type=t,
                id=task_id(plan_id, t, i),
                status=TaskStatus.PENDING,
                params=params,
                **task_fields,
            )
            for i, (t, params) in enumerate(tasks)
        ],
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def executor(registry: CollectorRegistry) -> PlanExecutor:
    return PlanExecutor(seinode_task_registry(), plan_metrics(registry))


@pytest.fixture
def sidecar() -> FakeSidecar:
    return FakeSidecar()


def _metric(registry: CollectorRegistry, metric: str, labels: dict[str, str]) -> float | None:
    return registry.get_sample_value(metric, labels)


async def test_retry_on_failure_resets_the_task_with_the_same_id(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}), max_retries=5)
    original_id = plan.tasks[0].id
    sidecar.set_result(original_id, TaskResultStatus.FAILED, "genesis not found")

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert len(sidecar.submissions) == 1
    task = plan.tasks[0]
    assert (task.status, task.retry_count, task.id) == (TaskStatus.PENDING, 1, original_id)
    assert plan.phase == TaskPlanPhase.ACTIVE
    assert result == StepResult(persist=True, requeue_after=10.0)


async def test_retry_clears_error_and_submitted_at(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}), max_retries=5)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "boom")

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.tasks[0].error is None
    assert plan.tasks[0].submitted_at is None


async def test_retry_counts_in_the_retries_metric(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    plan = _plan(("configure-genesis", {}), max_retries=5)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "boom")

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    labels = {"controller": "seinode", "namespace": "default", "task_type": "configure-genesis"}
    assert _metric(registry, "sei_controller_task_retries_total", labels) == 1


async def test_exhausted_retries_fail_the_plan_with_the_task_detail(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}), max_retries=2, retry_count=2)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "genesis not found")

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=None)
    assert plan.phase == TaskPlanPhase.FAILED
    assert plan.tasks[0].status == TaskStatus.FAILED
    assert plan.tasks[0].error == "genesis not found"
    assert plan.failed_task_index == 0
    detail = plan.failed_task_detail
    assert detail is not None
    assert detail.to_dict() == {
        "type": "configure-genesis",
        "id": plan.tasks[0].id,
        "error": "genesis not found",
        "retryCount": 2,
        "maxRetries": 2,
    }


async def test_failed_task_counts_in_the_failures_metric_and_ends_plan_active(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    plan = _plan(("snapshot-restore", {"targetHeight": 5}))
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "S3 access denied")

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    labels = {"controller": "seinode", "namespace": "default", "task_type": "snapshot-restore"}
    assert _metric(registry, "sei_controller_task_failures_total", labels) == 1
    active = {"controller": "seinode", "namespace": "default", "name": "test-node"}
    assert _metric(registry, "sei_controller_plan_active", active) == 0


async def test_failed_task_index_is_the_position_of_the_failing_task(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}), ("config-apply", {"mode": "full"}))
    plan.tasks[0].status = TaskStatus.COMPLETE
    sidecar.set_result(plan.tasks[1].id, TaskResultStatus.FAILED, "bad config")

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.failed_task_index == 1


async def test_failed_result_without_error_text_fails_with_task_id_message(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}))
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED)

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.tasks[0].error == f"task {plan.tasks[0].id} failed with unknown error"


async def test_group_plan_completes_its_sidecar_task(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    group = SeiNodeDeployment.from_dict(
        {
            "metadata": {"name": "grp", "namespace": "sei"},
            "spec": {
                "replicas": 1,
                "template": {"spec": {"chainId": "c", "image": "i", "validator": {}}},
                "updateStrategy": {"type": "InPlace"},
            },
        }
    )
    params = {"accountBalance": "1usei", "namespace": "sei", "nodes": [{"name": "grp-0"}]}
    plan = _plan(("assemble-and-upload-genesis", params), max_retries=180)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.COMPLETED)

    result = await executor.step(plan, sidecar_context(group, sidecar))

    assert sidecar.submissions[0].params == params
    assert len(sidecar.submissions) == 1
    assert plan.tasks[0].status == TaskStatus.COMPLETE
    assert result == StepResult(persist=True, requeue_after=IMMEDIATE_REQUEUE)
    labels = {"controller": "seinodedeployment", "namespace": "sei", "name": "grp"}
    assert _metric(registry, "sei_controller_plan_active", labels) == 1


@pytest.mark.parametrize(
    ("attempt", "delay"), [(0, 5.0), (1, 10.0), (2, 20.0), (3, 30.0), (4, 30.0), (5, 30.0)]
)
def test_retry_backoff_doubles_from_five_seconds_up_to_thirty(attempt: int, delay: float) -> None:
    assert retry_backoff(attempt) == delay


async def test_nil_plan_is_an_error(executor: PlanExecutor, sidecar: FakeSidecar) -> None:
    with pytest.raises(PlanError):
        await executor.step(None, sidecar_context(snapshot_node(), sidecar))


@pytest.mark.parametrize("phase", [TaskPlanPhase.COMPLETE, TaskPlanPhase.FAILED])
async def test_finished_plan_is_a_no_op(
    executor: PlanExecutor, sidecar: FakeSidecar, phase: TaskPlanPhase
) -> None:
    plan = build_node_plan(snapshot_node())
    plan.phase = phase
    before = plan.model_copy(deep=True)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=False, requeue_after=None)
    assert sidecar.submissions == []
    assert plan == before


async def test_first_step_submits_exactly_the_first_task(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert sidecar.submitted_types() == ["snapshot-restore"]
    assert sidecar.submissions[0].task_id == plan.tasks[0].id
    assert plan.phase == TaskPlanPhase.ACTIVE


async def test_first_submission_of_a_running_task_is_persisted(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=TASK_POLL_INTERVAL)
    assert plan.tasks[0].status == TaskStatus.PENDING
    assert plan.tasks[0].submitted_at == FIXED_NOW


async def test_submitted_running_task_is_polled_without_persisting_or_resubmitting(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)
    ctx = sidecar_context(snapshot_node(), sidecar)
    await executor.step(plan, ctx)

    result = await executor.step(plan, ctx)

    assert result == StepResult(persist=False, requeue_after=TASK_POLL_INTERVAL)
    assert [s.task_id for s in sidecar.submissions] == [plan.tasks[0].id]
    assert sidecar.gets == [plan.tasks[0].id] * 2


async def test_failed_poll_keeps_the_task_pending_and_says_why(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)
    ctx = sidecar_context(snapshot_node(), sidecar)
    await executor.step(plan, ctx)
    sidecar.get_error = SidecarUnavailableError("answer is not JSON: '<html>'")

    result = await executor.step(plan, ctx)

    assert result == StepResult(
        persist=False,
        requeue_after=TASK_POLL_INTERVAL,
        stalled="task snapshot-restore: polling it failed: answer is not JSON: '<html>'",
    )
    assert plan.tasks[0].status == TaskStatus.PENDING
    assert [s.task_id for s in sidecar.submissions] == [plan.tasks[0].id]


async def test_a_step_that_polls_fine_is_not_stalled(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result.stalled is None


async def test_task_failing_between_two_steps_consumes_a_retry(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    """A POST of a failed id re-runs it (spec 7.3): resubmitting on every step would restart a
    task that failed since the last poll before its failure was seen, so budgets never ran out
    and the node never failed."""
    plan = _plan(("configure-genesis", {}), max_retries=1)
    sidecar.rerun_failed = True
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)
    ctx = sidecar_context(snapshot_node(), sidecar)
    await executor.step(plan, ctx)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "genesis not found")

    result = await executor.step(plan, ctx)

    assert result == StepResult(persist=True, requeue_after=retry_backoff(1))
    assert (plan.tasks[0].retry_count, plan.tasks[0].submitted_at) == (1, None)
    assert len(sidecar.submissions) == 1


async def test_retry_submits_the_failed_id_again(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("configure-genesis", {}), max_retries=1)
    sidecar.rerun_failed = True
    ctx = sidecar_context(snapshot_node(), sidecar)
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "genesis not found")
    plan.tasks[0].submitted_at = FIXED_NOW
    await executor.step(plan, ctx)  # the failure is seen: retry 1

    result = await executor.step(plan, ctx)

    assert [s.task_id for s in sidecar.submissions] == [plan.tasks[0].id]
    assert result == StepResult(persist=True, requeue_after=TASK_POLL_INTERVAL)
    assert plan.phase == TaskPlanPhase.ACTIVE


async def test_task_lost_by_the_sidecar_is_submitted_again_and_stays_running(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    plan.tasks[0].submitted_at = FIXED_NOW
    # Submitted in an earlier step, but the sidecar has no record of it: GET answers 404.
    sidecar.results.clear()

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=False, requeue_after=TASK_POLL_INTERVAL)
    assert [s.task_id for s in sidecar.submissions] == [plan.tasks[0].id]
    assert plan.phase == TaskPlanPhase.ACTIVE


async def test_submitted_at_is_set_in_memory_on_the_first_successful_execute(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.RUNNING)

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.tasks[0].submitted_at == FIXED_NOW


async def test_submitted_at_already_set_is_kept(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    earlier = FIXED_NOW.replace(year=2025)
    plan.tasks[0].submitted_at = earlier
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.COMPLETED)

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.tasks[0].submitted_at == earlier


async def test_completed_task_is_persisted_and_requeued_immediately(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.COMPLETED)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=IMMEDIATE_REQUEUE)
    assert plan.tasks[0].status == TaskStatus.COMPLETE
    assert plan.tasks[1].status == TaskStatus.PENDING


async def test_all_tasks_complete_marks_the_plan_complete(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    plan = build_node_plan(snapshot_node())
    for task in plan.tasks:
        task.status = TaskStatus.COMPLETE

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=IMMEDIATE_REQUEUE)
    assert plan.phase == TaskPlanPhase.COMPLETE
    assert sidecar.submissions == []
    labels = {"controller": "seinode", "namespace": "default", "name": "test-node"}
    assert _metric(registry, "sei_controller_plan_active", labels) == 0


async def test_submit_error_requeues_after_five_seconds_and_keeps_the_task_pending(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.submit_error = SidecarUnavailableError("connection refused")

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(
        persist=False,
        requeue_after=5.0,
        stalled="task snapshot-restore: submitting it failed: connection refused",
    )
    assert plan.tasks[0].status == TaskStatus.PENDING
    assert plan.tasks[0].submitted_at is None


async def test_a_sidecar_not_listening_yet_is_retried_without_a_stall(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    """Every new pod's first seconds: connection refused is expected, not news."""
    plan = build_node_plan(snapshot_node())
    sidecar.submit_error = SidecarUnreachableError("cannot connect: Connection refused")

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=False, requeue_after=5.0, stalled=None)
    assert plan.tasks[0].submitted_at is None


async def test_sidecar_client_build_error_requeues_after_five_seconds(
    executor: PlanExecutor,
) -> None:
    plan = build_node_plan(snapshot_node())
    ctx = sidecar_context(snapshot_node(), sidecar_error="bad URL template")

    result = await executor.step(plan, ctx)

    assert result.requeue_after == 5.0
    assert not result.persist
    assert result.stalled == (
        "task snapshot-restore: submitting it failed: building sidecar client: bad URL template"
    )
    assert plan.phase == TaskPlanPhase.ACTIVE


async def test_unknown_task_type_fails_the_plan(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("reticulate-splines", {}))

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=None)
    assert plan.phase == TaskPlanPhase.FAILED
    assert plan.tasks[0].error == 'unknown task type "reticulate-splines"'
    assert sidecar.submissions == []


async def test_params_of_the_wrong_shape_fail_the_plan(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = _plan(("snapshot-restore", {"targetHeight": "high"}))

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert plan.phase == TaskPlanPhase.FAILED
    error = plan.tasks[0].error or ""
    assert error.startswith("invalid params for snapshot-restore task: targetHeight")
    assert sidecar.submissions == []


async def test_full_progression_of_a_snapshot_plan_reaches_complete(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    sidecar.complete_on_submit = True
    plan = build_node_plan(snapshot_node())
    ctx = sidecar_context(snapshot_node(), sidecar)

    steps = 0
    while plan.phase == TaskPlanPhase.ACTIVE and steps < 50:
        await executor.step(plan, ctx)
        steps += 1

    assert plan.phase == TaskPlanPhase.COMPLETE
    assert sidecar.submitted_types() == [t.type for t in plan.tasks]
    # One step per task, then one for the plan.
    assert steps == len(plan.tasks) + 1


async def test_fire_and_forget_tasks_complete_without_a_sidecar_result(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(genesis_node())
    ctx = sidecar_context(genesis_node(), sidecar)
    for task in plan.tasks:
        if task.type not in ("config-validate", "mark-ready"):
            sidecar.set_result(task.id, TaskResultStatus.COMPLETED)

    while plan.phase == TaskPlanPhase.ACTIVE:
        await executor.step(plan, ctx)

    assert plan.phase == TaskPlanPhase.COMPLETE
    assert sidecar.submitted_types() == [
        "configure-genesis",
        "config-apply",
        "config-validate",
        "mark-ready",
    ]
    assert set(sidecar.gets) == {plan.tasks[0].id, plan.tasks[1].id}


async def test_task_failure_fails_the_plan_and_later_steps_submit_nothing(
    executor: PlanExecutor, sidecar: FakeSidecar
) -> None:
    plan = build_node_plan(snapshot_node())
    sidecar.set_result(plan.tasks[0].id, TaskResultStatus.FAILED, "S3 access denied")
    ctx = sidecar_context(snapshot_node(), sidecar)

    await executor.step(plan, ctx)
    await executor.step(plan, ctx)

    assert plan.phase == TaskPlanPhase.FAILED
    assert (plan.tasks[0].status, plan.tasks[0].error) == (TaskStatus.FAILED, "S3 access denied")
    assert len(sidecar.submissions) == 1


async def test_plan_active_is_set_while_a_plan_runs(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    plan = build_node_plan(snapshot_node())

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    labels = {"controller": "seinode", "namespace": "default", "name": "test-node"}
    assert _metric(registry, "sei_controller_plan_active", labels) == 1


async def test_explicit_controller_label_is_used_for_metrics(
    executor: PlanExecutor, sidecar: FakeSidecar, registry: CollectorRegistry
) -> None:
    plan = build_node_plan(snapshot_node())

    await executor.step(plan, sidecar_context(snapshot_node(), sidecar), controller="custom")

    labels = {"controller": "custom", "namespace": "default", "name": "test-node"}
    assert _metric(registry, "sei_controller_plan_active", labels) == 1


def test_delete_plan_active_removes_the_series(registry: CollectorRegistry) -> None:
    metrics = plan_metrics(registry)
    metrics.plan_active.labels("seinode", "ns", "n").set(1)

    metrics.delete_plan_active("seinode", "ns", "n")
    metrics.delete_plan_active("seinode", "ns", "never-set")

    labels = {"controller": "seinode", "namespace": "ns", "name": "n"}
    assert _metric(registry, "sei_controller_plan_active", labels) is None


def test_plan_metrics_are_shared_per_registry(registry: CollectorRegistry) -> None:
    assert plan_metrics(registry) is plan_metrics(registry)


class _Raising:
    """A task whose Execute raises the given exception."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def execute(self) -> None:
        raise self.exc

    async def status(self) -> TaskState:
        raise AssertionError("status after a failed execute")

    def error(self) -> str | None:
        return None


def _raising_executor(exc: Exception, registry: CollectorRegistry) -> PlanExecutor:
    tasks = TaskRegistry()
    tasks.register("raise", lambda ctx, task_id, params: _Raising(exc))
    return PlanExecutor(tasks, plan_metrics(registry))


async def test_terminal_execute_error_fails_the_plan_without_retrying(
    registry: CollectorRegistry, sidecar: FakeSidecar
) -> None:
    plan = _plan(("raise", {}), max_retries=3)
    executor = _raising_executor(TerminalTaskError("owner is not a group"), registry)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(persist=True, requeue_after=None)
    assert plan.phase == TaskPlanPhase.FAILED
    assert (plan.tasks[0].error, plan.tasks[0].retry_count) == ("owner is not a group", None)


async def test_unexpected_execute_error_is_transient(
    registry: CollectorRegistry, sidecar: FakeSidecar
) -> None:
    plan = _plan(("raise", {}))
    executor = _raising_executor(RuntimeError("bug"), registry)

    result = await executor.step(plan, sidecar_context(snapshot_node(), sidecar))

    assert result == StepResult(
        persist=False,
        requeue_after=TASK_POLL_INTERVAL,
        stalled="task raise: submitting it failed: RuntimeError('bug')",
    )
    assert plan.phase == TaskPlanPhase.ACTIVE


def test_registering_a_type_twice_is_an_error() -> None:
    tasks = TaskRegistry()
    tasks.register("raise", lambda ctx, task_id, params: _Raising(RuntimeError()))
    with pytest.raises(ValueError, match="already registered"):
        tasks.register("raise", lambda ctx, task_id, params: _Raising(RuntimeError()))
