"""Monitor tasks of spec 12.6 (the monitor-task rows of spec 11.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from api.v1alpha1 import ConditionStatus, MonitorTask, SeiNode, TaskStatus
from controllers.seinode.monitor import (
    MonitorEvent,
    MonitorRequest,
    MonitorTransition,
    ensure_monitor_tasks,
    monitor_requests,
    poll_monitor_tasks,
    result_export_request,
    snapshot_upload_request,
)
from controllers.sidecar.api import SidecarUnavailableError, TaskResultStatus
from tests.unit.plan.fakes import FIXED_NOW, FakeSidecar
from tests.unit.plan.nodes import (
    monitor_replayer_node,
    node,
    replayer_node,
    snapshot_node,
    snapshotter_node,
)

TASK_ID = "0b3ba356-6851-5acb-8671-a666f5b272d4"


@dataclass(frozen=True)
class Platform:
    result_export_bucket: str = "test-sei-shadow-results"
    result_export_region: str = "us-east-2"
    result_export_prefix: str = "shadow-results/"


PLATFORM = Platform()


def _now() -> datetime:
    return FIXED_NOW


def _with_task(sei_node: SeiNode, task_type: str, task_id: str = TASK_ID) -> SeiNode:
    sei_node.metadata.generation = 3
    sei_node.status.monitor_tasks = {
        task_type: MonitorTask(id=task_id, status=TaskStatus.PENDING, submitted_at=FIXED_NOW)
    }
    return sei_node


# --- which monitor tasks apply -----------------------------------------------------------------


def test_result_export_applies_to_a_replayer_with_result_export() -> None:
    requests = monitor_requests(monitor_replayer_node(), PLATFORM)
    assert [r.task_type for r in requests] == ["result-export"]


def test_result_export_does_not_apply_to_a_replayer_without_result_export() -> None:
    assert monitor_requests(replayer_node(), PLATFORM) == []


def test_result_export_request_targets_the_platform_bucket_under_the_chain() -> None:
    assert result_export_request(monitor_replayer_node(), PLATFORM) == MonitorRequest(
        "result-export",
        {
            "bucket": "test-sei-shadow-results",
            "region": "us-east-2",
            "prefix": "shadow-results/pacific-1/",
            "canonicalRpc": "http://canonical-rpc:26657",
        },
    )


def test_result_export_request_is_none_without_result_export() -> None:
    assert result_export_request(replayer_node(), PLATFORM) is None


def test_result_export_request_is_none_for_a_non_replayer() -> None:
    assert result_export_request(snapshot_node(), PLATFORM) is None


def test_snapshot_upload_applies_with_snapshot_generation() -> None:
    assert snapshot_upload_request(snapshotter_node()) == MonitorRequest("snapshot-upload")
    full = node(fullNode={"snapshotGeneration": {"keepRecent": 2}})
    assert snapshot_upload_request(full) == MonitorRequest("snapshot-upload")


def test_snapshot_upload_does_not_apply_without_snapshot_generation() -> None:
    assert snapshot_upload_request(snapshot_node()) is None
    assert snapshot_upload_request(node(archive={})) is None


# --- submission --------------------------------------------------------------------------------


async def test_ensure_submits_once_and_records_a_pending_entry() -> None:
    sidecar = FakeSidecar()
    sei_node = monitor_replayer_node()

    outcome = await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert sidecar.submitted_types() == ["result-export"]
    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert (entry.status, entry.submitted_at) == (TaskStatus.PENDING, FIXED_NOW)
    assert outcome.changed
    assert not outcome.terminal
    assert outcome.transitions == [MonitorTransition("result-export", TaskStatus.PENDING)]


async def test_ensure_records_the_id_the_sidecar_answered() -> None:
    sidecar = FakeSidecar()
    sei_node = monitor_replayer_node()

    await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    (submission,) = sidecar.submissions
    assert (sei_node.status.monitor_tasks or {})["result-export"].id == submission.task_id


async def test_ensure_sends_a_stable_id_per_node_and_type() -> None:
    first, second = FakeSidecar(), FakeSidecar()

    await ensure_monitor_tasks(monitor_replayer_node(), PLATFORM, first, _now)
    await ensure_monitor_tasks(monitor_replayer_node(), PLATFORM, second, _now)

    assert first.submissions[0].task_id == second.submissions[0].task_id


async def test_ensure_submits_snapshot_upload_without_params() -> None:
    sidecar = FakeSidecar()
    sei_node = snapshotter_node()

    await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert [(s.task_type, s.params) for s in sidecar.submissions] == [("snapshot-upload", None)]
    assert set(sei_node.status.monitor_tasks or {}) == {"snapshot-upload"}


async def test_ensure_is_idempotent_for_an_existing_entry() -> None:
    sidecar = FakeSidecar()
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert sidecar.submissions == []
    assert not outcome.changed


async def test_ensure_never_resubmits_a_finished_entry() -> None:
    sidecar = FakeSidecar()
    sei_node = _with_task(monitor_replayer_node(), "result-export")
    (sei_node.status.monitor_tasks or {})["result-export"].status = TaskStatus.FAILED

    await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert sidecar.submissions == []


async def test_ensure_returns_the_submit_error_and_leaves_monitor_tasks_null() -> None:
    error = SidecarUnavailableError("connection refused")
    sidecar = FakeSidecar(submit_error=error)
    sei_node = monitor_replayer_node()

    outcome = await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert outcome.error is error
    assert sei_node.status.monitor_tasks is None
    assert not outcome.changed


async def test_ensure_submits_nothing_for_a_replayer_without_result_export() -> None:
    sidecar = FakeSidecar()
    sei_node = replayer_node()

    outcome = await ensure_monitor_tasks(sei_node, PLATFORM, sidecar, _now)

    assert sidecar.submissions == []
    assert sei_node.status.monitor_tasks is None
    assert not outcome.changed


# --- polling -----------------------------------------------------------------------------------


async def test_poll_completed_task_sets_complete_and_divergence_condition() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.COMPLETED)
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert (entry.status, entry.completed_at) == (TaskStatus.COMPLETE, FIXED_NOW)
    condition = sei_node.status.condition("ResultExportComplete")
    assert condition is not None
    assert (condition.status, condition.reason, condition.observed_generation) == (
        ConditionStatus.TRUE,
        "DivergenceDetected",
        3,
    )
    assert condition.message == (
        "Monitor task result-export completed \u2014 app-hash divergence detected"
    )
    assert outcome.changed
    assert outcome.terminal
    assert outcome.transitions == [
        MonitorTransition(
            "result-export",
            TaskStatus.COMPLETE,
            "DivergenceDetected",
            MonitorEvent("Normal", "MonitorTaskCompleted", "Monitor task result-export completed"),
        )
    ]


async def test_poll_failed_task_records_its_error_and_task_failed_condition() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.FAILED, "apphash mismatch")
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert (entry.status, entry.error, entry.completed_at) == (
        TaskStatus.FAILED,
        "apphash mismatch",
        FIXED_NOW,
    )
    condition = sei_node.status.condition("ResultExportComplete")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == (
        ConditionStatus.FALSE,
        "TaskFailed",
        "Monitor task result-export failed: apphash mismatch",
    )
    assert outcome.terminal
    message = "Monitor task result-export failed: apphash mismatch"
    assert outcome.transitions == [
        MonitorTransition(
            "result-export",
            TaskStatus.FAILED,
            "TaskFailed",
            MonitorEvent("Warning", "MonitorTaskFailed", message),
        )
    ]


async def test_poll_running_task_changes_nothing() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.RUNNING)
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    assert (sei_node.status.monitor_tasks or {})["result-export"].status == TaskStatus.PENDING
    assert sei_node.status.conditions is None
    assert (outcome.changed, outcome.terminal, outcome.transitions) == (False, False, [])


@pytest.mark.parametrize("status", [TaskStatus.COMPLETE, TaskStatus.FAILED])
async def test_poll_skips_finished_tasks(status: TaskStatus) -> None:
    sidecar = FakeSidecar()
    sei_node = _with_task(monitor_replayer_node(), "result-export")
    (sei_node.status.monitor_tasks or {})["result-export"].status = status

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    assert sidecar.gets == []
    assert not outcome.terminal


async def test_poll_task_lost_by_the_sidecar_fails_with_task_lost() -> None:
    sidecar = FakeSidecar()
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert entry.status == TaskStatus.FAILED
    assert entry.error
    condition = sei_node.status.condition("ResultExportComplete")
    assert condition is not None
    assert condition.reason == "TaskLost"
    assert condition.message == (
        "Monitor task result-export failed: "
        "sidecar lost task (not found after successful submission)"
    )
    assert outcome.terminal
    assert outcome.transitions[0].reason == "TaskLost"


async def test_poll_with_no_entries_observes_nothing() -> None:
    outcome = await poll_monitor_tasks(monitor_replayer_node(), FakeSidecar(), _now)
    assert (outcome.changed, outcome.terminal) == (False, False)


async def test_poll_invalid_task_id_fails_without_asking_the_sidecar() -> None:
    sidecar = FakeSidecar()
    sei_node = _with_task(monitor_replayer_node(), "result-export", task_id="not-a-uuid")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert (entry.status, entry.completed_at) == (TaskStatus.FAILED, FIXED_NOW)
    condition = sei_node.status.condition("ResultExportComplete")
    assert condition is not None
    assert condition.reason == "TaskFailed"
    assert sidecar.gets == []
    assert outcome.terminal


async def test_poll_transient_get_error_leaves_the_task_pending() -> None:
    sidecar = FakeSidecar(get_error=SidecarUnavailableError("timeout"))
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    outcome = await poll_monitor_tasks(sei_node, sidecar, _now)

    assert (sei_node.status.monitor_tasks or {})["result-export"].status == TaskStatus.PENDING
    assert (outcome.changed, outcome.terminal) == (False, False)


async def test_poll_failed_result_without_error_text_uses_unknown_error() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.FAILED)
    sei_node = _with_task(monitor_replayer_node(), "result-export")

    await poll_monitor_tasks(sei_node, sidecar, _now)

    entry = (sei_node.status.monitor_tasks or {})["result-export"]
    assert entry.error == "task failed with unknown error"


async def test_poll_sets_the_condition_for_snapshot_upload_too() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.COMPLETED)
    sei_node = _with_task(snapshotter_node(), "snapshot-upload")

    await poll_monitor_tasks(sei_node, sidecar, _now)

    condition = sei_node.status.condition("ResultExportComplete")
    assert condition is not None
    assert condition.message.startswith("Monitor task snapshot-upload completed")
