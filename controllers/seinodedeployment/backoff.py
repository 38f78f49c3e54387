"""Retry backoff of group plan tasks that outlives the requeue it came with.

The executor answers a failed task that has retries left with "retry after backoff(n)". A
requeue only sets the latest time of the next pass, though: any event of the group (a child's
phase, a StatefulSet's status) runs a pass sooner, and that pass would re-run the task at once.
A genesis assembly waiting for slow validators would then spend its 180 retries in the first
minutes of a ceremony instead of the ~90 minutes they are meant to cover. The gate remembers,
per group, when the current retry may run, and the reconciler does not step the plan before.

Kept in memory: after a controller restart the first retry may come early, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from api.v1alpha1 import TaskPlan, TaskStatus

__all__ = ["RetryGate"]

# (group uid, plan id, task id, retry count): one retry of one task.
_Key = tuple[str, str, str, int]


def _current(plan: TaskPlan) -> tuple[str, int] | None:
    task = next((t for t in plan.tasks if t.status != TaskStatus.COMPLETE), None)
    return None if task is None else (task.id, task.retry_count or 0)


@dataclass
class RetryGate:
    clock: Callable[[], float] = time.monotonic
    _not_before: dict[str, tuple[_Key, float]] = field(default_factory=dict)

    def wait(self, owner: str, plan: TaskPlan) -> float:
        """Seconds until the plan's current task may run again (0: now)."""
        entry = self._not_before.get(owner)
        current = _current(plan)
        if entry is None or current is None or entry[0] != (owner, plan.id or "", *current):
            return 0.0
        return max(entry[1] - self.clock(), 0.0)

    def record(self, owner: str, plan: TaskPlan, retries_before: int, delay: float | None) -> None:
        """After a step: if it scheduled a retry of the current task, remember when it runs."""
        current = _current(plan)
        if current is None or delay is None or current[1] <= retries_before:
            return
        self._not_before[owner] = ((owner, plan.id or "", *current), self.clock() + delay)

    def retries(self, plan: TaskPlan) -> int:
        current = _current(plan)
        return 0 if current is None else current[1]

    def forget(self, owner: str) -> None:
        self._not_before.pop(owner, None)
