"""Monitor tasks of a Running SeiNode (spec 12.6, 3.6): long-running sidecar tasks.

A monitor task is submitted once per node (keyed by task type in ``status.monitorTasks``) and
polled on every Running reconcile until it reports a terminal state; failed and completed ones
are never resubmitted. These functions edit ``node.status`` in memory (the map and the
``ResultExportComplete`` condition) and return what the caller must do: write the status when
``changed``, requeue immediately when ``terminal``, and emit the events and metrics of each
transition.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from api.v1alpha1 import ConditionStatus, MonitorTask, SeiNode, TaskStatus
from controllers.plan.ids import monitor_task_id
from controllers.sidecar.api import (
    SidecarClient,
    SidecarError,
    SidecarTaskNotFoundError,
    TaskResultStatus,
)

__all__ = [
    "CONDITION_RESULT_EXPORT_COMPLETE",
    "EVENT_MONITOR_TASK_COMPLETED",
    "EVENT_MONITOR_TASK_FAILED",
    "REASON_DIVERGENCE_DETECTED",
    "REASON_TASK_FAILED",
    "REASON_TASK_LOST",
    "RESULT_EXPORT",
    "SNAPSHOT_UPLOAD",
    "MonitorEvent",
    "MonitorOutcome",
    "MonitorRequest",
    "MonitorTransition",
    "ResultExportSettings",
    "ensure_monitor_tasks",
    "monitor_requests",
    "poll_monitor_tasks",
    "result_export_request",
    "snapshot_upload_request",
]

SNAPSHOT_UPLOAD: Final = "snapshot-upload"
RESULT_EXPORT: Final = "result-export"

# The only condition of a SeiNode; set for any monitor task type despite its name.
CONDITION_RESULT_EXPORT_COMPLETE: Final = "ResultExportComplete"
REASON_DIVERGENCE_DETECTED: Final = "DivergenceDetected"
REASON_TASK_FAILED: Final = "TaskFailed"
REASON_TASK_LOST: Final = "TaskLost"
EVENT_MONITOR_TASK_COMPLETED: Final = "MonitorTaskCompleted"
EVENT_MONITOR_TASK_FAILED: Final = "MonitorTaskFailed"

_LOST: Final = "sidecar lost task (not found after successful submission)"
_UNKNOWN_ERROR: Final = "task failed with unknown error"


class ResultExportSettings(Protocol):
    """The platform settings the result-export request needs (spec 5.1)."""

    @property
    def result_export_bucket(self) -> str: ...

    @property
    def result_export_region(self) -> str: ...

    @property
    def result_export_prefix(self) -> str: ...


@dataclass(frozen=True)
class MonitorRequest:
    """A monitor task to submit: ``{"type", "params"?}`` (the id is added on submission)."""

    task_type: str
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class MonitorEvent:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class MonitorTransition:
    """A monitor task entered ``status``: set ``sei_controller_monitor_task_status`` one-hot;
    when ``reason`` is set, increment ``sei_controller_monitor_task_completed_total``; emit
    ``event`` if any."""

    task_type: str
    status: TaskStatus
    reason: str | None = None
    event: MonitorEvent | None = None


@dataclass
class MonitorOutcome:
    changed: bool = False  # node.status was edited: write it (optimistic lock)
    terminal: bool = False  # a task reached Complete/Failed: requeue immediately
    transitions: list[MonitorTransition] = field(default_factory=list)
    error: SidecarError | None = None  # the first submission error, if any


def snapshot_upload_request(node: SeiNode) -> MonitorRequest | None:
    """When the mode sub-spec generates snapshots (fullNode or archive)."""
    spec = node.spec
    generation = (spec.full_node.snapshot_generation if spec.full_node is not None else None) or (
        spec.archive.snapshot_generation if spec.archive is not None else None
    )
    return MonitorRequest(SNAPSHOT_UPLOAD) if generation is not None else None


def result_export_request(node: SeiNode, platform: ResultExportSettings) -> MonitorRequest | None:
    """When a replayer exports results: the platform bucket, under ``<prefix><chainId>/``."""
    replayer = node.spec.replayer
    if replayer is None or replayer.result_export is None:
        return None
    params: dict[str, Any] = {
        "bucket": platform.result_export_bucket,
        "region": platform.result_export_region,
        "prefix": f"{platform.result_export_prefix}{node.spec.chain_id}/",
    }
    if replayer.result_export.canonical_rpc:
        params["canonicalRpc"] = replayer.result_export.canonical_rpc
    return MonitorRequest(RESULT_EXPORT, params)


def monitor_requests(node: SeiNode, platform: ResultExportSettings) -> list[MonitorRequest]:
    """Every monitor task that applies to the node."""
    found = (snapshot_upload_request(node), result_export_request(node, platform))
    return [request for request in found if request is not None]


async def ensure_monitor_tasks(
    node: SeiNode,
    platform: ResultExportSettings,
    sidecar: SidecarClient,
    now: Callable[[], datetime],
) -> MonitorOutcome:
    """Submit each applicable monitor task that has no entry yet. Every task is attempted;
    the first submission error is returned in the outcome (the others are lost to it)."""
    outcome = MonitorOutcome()
    key = node.metadata.uid or f"{node.metadata.namespace}/{node.metadata.name}"
    for request in monitor_requests(node, platform):
        if request.task_type in (node.status.monitor_tasks or {}):
            continue
        try:
            task_id = await sidecar.submit_task(
                request.task_type, request.params, monitor_task_id(key, request.task_type)
            )
        except SidecarError as exc:
            outcome.error = outcome.error or exc
            continue
        tasks = node.status.monitor_tasks or {}
        tasks[request.task_type] = MonitorTask(
            id=task_id, status=TaskStatus.PENDING, submitted_at=now()
        )
        node.status.monitor_tasks = tasks
        outcome.changed = True
        outcome.transitions.append(MonitorTransition(request.task_type, TaskStatus.PENDING))
    return outcome


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def poll_monitor_tasks(
    node: SeiNode, sidecar: SidecarClient, now: Callable[[], datetime]
) -> MonitorOutcome:
    """Poll every Pending monitor task once; transport errors leave a task Pending."""
    outcome = MonitorOutcome()
    tasks = node.status.monitor_tasks or {}
    for task_type in sorted(tasks):
        task = tasks[task_type]
        if task.status != TaskStatus.PENDING:
            continue
        transition: MonitorTransition
        if not _is_uuid(task.id):
            error = f'invalid task id "{task.id}"'
            transition = _fail(node, task_type, task, error, REASON_TASK_FAILED, now)
        else:
            try:
                result = await sidecar.get_task(task.id)
            except SidecarTaskNotFoundError:
                transition = _fail(node, task_type, task, _LOST, REASON_TASK_LOST, now)
            except SidecarError:
                continue
            else:
                if result.status == TaskResultStatus.COMPLETED:
                    transition = _complete(node, task_type, task, now)
                elif result.status == TaskResultStatus.FAILED:
                    error = result.error or _UNKNOWN_ERROR
                    transition = _fail(node, task_type, task, error, REASON_TASK_FAILED, now)
                else:
                    continue
        outcome.changed = outcome.terminal = True
        outcome.transitions.append(transition)
    return outcome


def _complete(
    node: SeiNode, task_type: str, task: MonitorTask, now: Callable[[], datetime]
) -> MonitorTransition:
    task.status = TaskStatus.COMPLETE
    task.completed_at = now()
    node.status.set_condition(
        CONDITION_RESULT_EXPORT_COMPLETE,
        ConditionStatus.TRUE,
        REASON_DIVERGENCE_DETECTED,
        f"Monitor task {task_type} completed \u2014 app-hash divergence detected",
        node.metadata.generation,
    )
    event = MonitorEvent(
        "Normal", EVENT_MONITOR_TASK_COMPLETED, f"Monitor task {task_type} completed"
    )
    return MonitorTransition(task_type, TaskStatus.COMPLETE, REASON_DIVERGENCE_DETECTED, event)


def _fail(
    node: SeiNode,
    task_type: str,
    task: MonitorTask,
    error: str,
    reason: str,
    now: Callable[[], datetime],
) -> MonitorTransition:
    task.status = TaskStatus.FAILED
    task.error = error
    task.completed_at = now()
    message = f"Monitor task {task_type} failed: {error}"
    node.status.set_condition(
        CONDITION_RESULT_EXPORT_COMPLETE,
        ConditionStatus.FALSE,
        reason,
        message,
        node.metadata.generation,
    )
    event = MonitorEvent("Warning", EVENT_MONITOR_TASK_FAILED, message)
    return MonitorTransition(task_type, TaskStatus.FAILED, reason, event)
