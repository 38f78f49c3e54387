"""Identifiers of plans and tasks (spec 6.2).

Task IDs are deterministic UUIDv5 so that a controller restart, a retry or a re-submission on
every reconcile reaches the sidecar with the same id: the sidecar deduplicates by id, and a
different id would start the same work twice. The namespaces and name formats are part of the
wire contract with plans written by the reference operator; they must never change.
"""

from __future__ import annotations

import uuid
from typing import Final

__all__ = [
    "DEPLOYMENT_SUBTASK_NAMESPACE",
    "TASK_ID_NAMESPACE",
    "deployment_subtask_id",
    "export_state_task_id",
    "monitor_task_id",
    "new_plan_id",
    "task_id",
]

TASK_ID_NAMESPACE: Final = uuid.UUID("b7e89c3a-4f12-4d8b-9a6e-1c2d3e4f5a6b")
DEPLOYMENT_SUBTASK_NAMESPACE: Final = uuid.UUID("d4a7e1f3-8b29-4c6d-a5e0-2f1d3c4b5a6e")


def new_plan_id() -> str:
    """A fresh random plan id (UUIDv4): every rebuilt plan gets new task IDs."""
    return str(uuid.uuid4())


def task_id(plan_id: str, task_type: str, index: int) -> str:
    """The id of the task at ``index`` (0-based position in the plan) of plan ``plan_id``."""
    return str(uuid.uuid5(TASK_ID_NAMESPACE, f"{plan_id}/{task_type}/{index}"))


def deployment_subtask_id(node_name: str, kind: str, parent_task_id: str) -> str:
    """The sidecar task id a deployment task submits to one node (kind ``await-height`` or
    ``halt-signal``); ``parent_task_id`` is the PlannedTask id exactly as stored."""
    return str(uuid.uuid5(DEPLOYMENT_SUBTASK_NAMESPACE, f"{node_name}/{kind}/{parent_task_id}"))


def export_state_task_id(exporter: str) -> str:
    """The export-state sidecar task id of an exporter node: the task-id function applied to
    (exporter name, ``export-state``, 0)."""
    return task_id(exporter, "export-state", 0)


def monitor_task_id(node_key: str, task_type: str) -> str:
    """The sidecar task id of a node's monitor task (``snapshot-upload``, ``result-export``).

    The reference submits monitor tasks without an id; we send this one so that a submission
    whose status write was lost (a 409, a restart) is deduplicated by the sidecar instead of
    starting a second, never-ending uploader. ``node_key`` is the node's uid: a node recreated
    under the same name gets new tasks.
    """
    return str(uuid.uuid5(TASK_ID_NAMESPACE, f"{node_key}/{task_type}/monitor"))
