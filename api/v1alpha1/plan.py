"""Status types of the plan engine: TaskPlan (spec 3.2, 6) and MonitorTask (spec 12.6)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from .base import SeiModel
from .markers import PreserveUnknownFields
from .scalars import Time

__all__ = [
    "FailedTaskDetail",
    "MonitorTask",
    "PlannedTask",
    "TaskPlan",
    "TaskPlanPhase",
    "TaskStatus",
]


class TaskPlanPhase(StrEnum):
    ACTIVE = "Active"
    COMPLETE = "Complete"
    FAILED = "Failed"


class TaskStatus(StrEnum):
    """Persisted task state. There is no "Running": a submitted, in-flight task stays Pending."""

    PENDING = "Pending"
    COMPLETE = "Complete"
    FAILED = "Failed"


class PlannedTask(SeiModel):
    """One step of a TaskPlan; ``params`` is the task type's self-contained JSON payload."""

    type: str = Field(description="Task type name.")
    id: str = Field(description="Deterministic UUIDv5; also the sidecar task ID.")
    status: TaskStatus
    # Free-form: Go-written plans carry e.g. ``"nodeNames": null``; kept verbatim.
    params: Annotated[dict[str, Any], PreserveUnknownFields()] | None = Field(
        default=None, description="Serialized task parameters (shape depends on the task type)."
    )
    submitted_at: Time | None = Field(default=None, description="When Execute first succeeded.")
    error: str | None = Field(default=None, description="Failure message.")
    max_retries: int | None = Field(default=None, description="Retry budget; 0 means no retries.")
    retry_count: int | None = Field(default=None, description="Retries consumed.")


class FailedTaskDetail(SeiModel):
    """The task that failed a plan."""

    type: str
    id: str
    error: str
    retry_count: int
    max_retries: int


class TaskPlan(SeiModel):
    """An ordered list of tasks persisted in status and executed one step per reconcile."""

    id: str | None = Field(default=None, description="Random UUIDv4 of this plan instance.")
    phase: TaskPlanPhase
    tasks: list[PlannedTask]
    failed_task_index: int | None = Field(
        default=None, description="Index of the task that failed."
    )
    failed_task_detail: FailedTaskDetail | None = None


class MonitorTask(SeiModel):
    """A long-running sidecar task of a Running node, keyed by task type in ``monitorTasks``."""

    id: str = Field(description="Sidecar task UUID.")
    status: TaskStatus
    submitted_at: Time
    completed_at: Time | None = None
    error: str | None = None
