"""A plan from its steps: what every planner (node and group) ends with."""

from __future__ import annotations

from collections.abc import Sequence

from api.v1alpha1 import PlannedTask, TaskPlan, TaskPlanPhase, TaskStatus
from controllers.plan.ids import task_id
from controllers.plan.params import TaskParams

__all__ = ["Step", "planned"]

# (task type, params, max retries); 0 retries leaves ``maxRetries`` out of the stored task.
Step = tuple[str, TaskParams, int]


def planned(plan_id: str, steps: Sequence[Step | tuple[str, TaskParams]]) -> TaskPlan:
    """An Active plan of Pending tasks, in order, with their deterministic ids (spec 6.2)."""
    tasks = []
    for index, step in enumerate(steps):
        task_type, params = step[0], step[1]
        task = PlannedTask(
            type=task_type,
            id=task_id(plan_id, task_type, index),
            status=TaskStatus.PENDING,
            params=params.stored(),
        )
        max_retries = step[2] if len(step) > 2 else 0
        if max_retries:
            task.max_retries = max_retries
        tasks.append(task)
    return TaskPlan(id=plan_id, phase=TaskPlanPhase.ACTIVE, tasks=tasks)
