"""SeiNode reconciler, pass by pass on the real API server: monitor tasks of Running nodes
(spec 12.6, 3.6; ports of the TestReconcile_CompletePlan_*, TestReconcile_*MonitorTask,
TestReconcileRunning_* rows of 11.3). Every sidecar here reports Ready, so mark-ready (F2) is
never part of what is submitted."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.controller import Result
from controllers.sidecar.api import SidecarStatus, TaskResultStatus
from tests.integration.seinode.reconciler_harness import (
    EC2_PEERS,
    S3_SNAPSHOT,
    ReconcilerHarness,
    random_uuid,
)
from tests.unit.plan.fakes import FakeSidecar

pytestmark = pytest.mark.integration

CANONICAL_RPC = "http://rpc.pacific-1.sei.io:26657"
SNAPSHOTTER = {"archive": {"snapshotGeneration": {"keepRecent": 5}}, "peers": EC2_PEERS}
REPLAYER = {"replayer": {"snapshot": S3_SNAPSHOT}, "peers": EC2_PEERS}
EXPORTING_REPLAYER = {
    "replayer": {"snapshot": S3_SNAPSHOT, "resultExport": {"canonicalRpc": CANONICAL_RPC}},
    "peers": EC2_PEERS,
}
SUBMITTED_AT = "2026-01-02T03:04:05Z"


async def _running(harness: ReconcilerHarness, spec: dict[str, Any], **status: Any) -> FakeSidecar:
    await harness.running("node", spec, **status)
    sidecar = harness.sidecar("node")
    sidecar.reported_status = SidecarStatus.READY
    return sidecar


def _pending(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "status": "Pending", "submittedAt": SUBMITTED_AT}


async def test_snapshotter_submits_snapshot_upload_and_records_it(
    harness: ReconcilerHarness,
) -> None:
    sidecar = await _running(harness, SNAPSHOTTER)

    await harness.reconcile("node")

    tasks = (await harness.node("node")).status.monitor_tasks or {}
    assert sidecar.submitted_types() == ["snapshot-upload"]
    assert [(t, task.id, task.status) for t, task in tasks.items()] == [
        ("snapshot-upload", sidecar.submissions[0].task_id, "Pending")
    ]


async def test_monitor_task_already_recorded_is_not_submitted_again(
    harness: ReconcilerHarness,
) -> None:
    task_id = random_uuid()
    sidecar = await _running(
        harness, SNAPSHOTTER, monitorTasks={"snapshot-upload": _pending(task_id)}
    )
    sidecar.set_result(task_id, TaskResultStatus.RUNNING)

    await harness.reconcile("node")

    assert sidecar.submissions == []


async def test_replayer_without_result_export_has_no_monitor_task(
    harness: ReconcilerHarness,
) -> None:
    sidecar = await _running(harness, REPLAYER)

    await harness.reconcile("node")

    assert sidecar.submissions == []
    assert (await harness.node("node")).status.monitor_tasks is None


async def test_exporting_replayer_submits_exactly_one_result_export(
    harness: ReconcilerHarness,
) -> None:
    sidecar = await _running(harness, EXPORTING_REPLAYER)

    await harness.reconcile_times("node", 2)

    assert sidecar.submitted_types() == ["result-export"]


async def test_result_export_request_names_the_platform_bucket_and_the_canonical_rpc(
    harness: ReconcilerHarness,
) -> None:
    sidecar = await _running(harness, EXPORTING_REPLAYER)

    await harness.reconcile("node")

    assert [s.params for s in sidecar.submissions] == [
        {
            "bucket": "test-sei-shadow-results",
            "region": "us-east-2",
            "prefix": "shadow-results/pacific-1/",
            "canonicalRpc": CANONICAL_RPC,
        }
    ]


async def test_result_export_is_recorded_under_the_id_the_sidecar_answered(
    harness: ReconcilerHarness,
) -> None:
    sidecar = await _running(harness, EXPORTING_REPLAYER)
    sidecar.assigned_id = random_uuid()

    await harness.reconcile("node")

    tasks = (await harness.node("node")).status.monitor_tasks or {}
    assert tasks["result-export"].id == sidecar.assigned_id


async def test_monitor_task_reported_complete_requeues_immediately(
    harness: ReconcilerHarness,
) -> None:
    task_id = random_uuid()
    sidecar = await _running(
        harness, EXPORTING_REPLAYER, monitorTasks={"result-export": _pending(task_id)}
    )
    sidecar.set_result(task_id, TaskResultStatus.COMPLETED)

    assert await harness.reconcile("node") == Result(requeue_after=0.001)


async def test_completed_monitor_task_is_recorded_with_its_condition_and_event(
    harness: ReconcilerHarness,
) -> None:
    task_id = random_uuid()
    sidecar = await _running(
        harness, EXPORTING_REPLAYER, monitorTasks={"result-export": _pending(task_id)}
    )
    sidecar.set_result(task_id, TaskResultStatus.COMPLETED)

    await harness.reconcile("node")

    node = await harness.node("node")
    condition = node.status.condition("ResultExportComplete")
    assert (node.status.monitor_tasks or {})["result-export"].status == "Complete"
    assert condition is not None
    assert (condition.status, condition.reason) == ("True", "DivergenceDetected")
    assert harness.recorder.events == [
        "Normal MonitorTaskCompleted Monitor task result-export completed"
    ]


async def test_monitor_task_status_gauge_follows_the_task(harness: ReconcilerHarness) -> None:
    task_id = random_uuid()
    sidecar = await _running(
        harness, EXPORTING_REPLAYER, monitorTasks={"result-export": _pending(task_id)}
    )
    sidecar.set_result(task_id, TaskResultStatus.FAILED, "apphash mismatch")

    await harness.reconcile("node")

    gauge = {
        status: harness.metric(
            "sei_controller_monitor_task_status",
            namespace=harness.namespace,
            node="node",
            task_type="result-export",
            status=status,
        )
        for status in ("Pending", "Complete", "Failed")
    }
    assert gauge == {"Pending": 0.0, "Complete": 0.0, "Failed": 1.0}
