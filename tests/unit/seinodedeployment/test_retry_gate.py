"""Group plan retries wait out their backoff whatever triggers the pass."""

from __future__ import annotations

from api.v1alpha1 import PlannedTask, TaskPlan, TaskPlanPhase, TaskStatus
from controllers.seinodedeployment.backoff import RetryGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _plan(retry_count: int = 0, task_id: str = "t1") -> TaskPlan:
    task = PlannedTask(type="assemble-and-upload-genesis", id=task_id, status=TaskStatus.PENDING)
    task.retry_count = retry_count or None
    return TaskPlan(id="p1", phase=TaskPlanPhase.ACTIVE, tasks=[task])


def test_a_scheduled_retry_waits_for_its_backoff() -> None:
    clock = Clock()
    gate = RetryGate(clock)
    plan = _plan(retry_count=1)
    gate.record("uid", plan, retries_before=0, delay=10.0)
    clock.now += 4
    assert gate.wait("uid", plan) == 6.0
    clock.now += 6
    assert gate.wait("uid", plan) == 0.0


def test_a_step_without_a_new_retry_sets_no_wait() -> None:
    gate = RetryGate(Clock())
    plan = _plan(retry_count=1)
    gate.record("uid", plan, retries_before=1, delay=5.0)
    assert gate.wait("uid", plan) == 0.0


def test_the_wait_belongs_to_one_retry_of_one_task_of_one_group() -> None:
    gate = RetryGate(Clock())
    gate.record("uid", _plan(retry_count=1), retries_before=0, delay=10.0)
    assert gate.wait("other", _plan(retry_count=1)) == 0.0
    assert gate.wait("uid", _plan(retry_count=2)) == 0.0
    assert gate.wait("uid", _plan(retry_count=1, task_id="t2")) == 0.0


def test_forget_drops_the_wait() -> None:
    gate = RetryGate(Clock())
    plan = _plan(retry_count=1)
    gate.record("uid", plan, retries_before=0, delay=10.0)
    gate.forget("uid")
    assert gate.wait("uid", plan) == 0.0
