"""Plan and task identifiers against every vector of spec 6.2."""

from __future__ import annotations

import uuid

from controllers.plan.ids import (
    deployment_subtask_id,
    export_state_task_id,
    monitor_task_id,
    new_plan_id,
    task_id,
)

PARENT = "b9d69009-f302-5308-864e-653a8a1244d8"


def test_task_id_matches_spec_vector() -> None:
    assert task_id("11111111-1111-4111-8111-111111111111", "config-apply", 2) == PARENT


def test_deployment_await_height_subtask_id_matches_spec_vector() -> None:
    got = deployment_subtask_id("grp-g2-0", "await-height", PARENT)
    assert got == "87a5767d-fc2d-5613-9d34-e17b60e15b41"


def test_deployment_halt_signal_subtask_id_matches_spec_vector() -> None:
    got = deployment_subtask_id("grp-0", "halt-signal", PARENT)
    assert got == "04fa8003-1a47-5f88-a3bf-4f059809554b"


def test_export_state_task_id_matches_spec_vector() -> None:
    assert export_state_task_id("grp-exporter") == "0aeb61e9-375f-5430-a2ad-f6d83f4cee3d"


def test_task_id_differs_by_index_for_the_same_type() -> None:
    plan = "11111111-1111-4111-8111-111111111111"
    assert task_id(plan, "config-apply", 2) != task_id(plan, "config-apply", 12)


def test_new_plan_id_is_a_random_uuid4() -> None:
    first, second = new_plan_id(), new_plan_id()
    assert uuid.UUID(first).version == 4
    assert first != second


def test_monitor_task_id_is_stable_per_node_and_type() -> None:
    assert monitor_task_id("uid-1", "result-export") == monitor_task_id("uid-1", "result-export")
    assert monitor_task_id("uid-1", "result-export") != monitor_task_id("uid-2", "result-export")
    assert monitor_task_id("uid-1", "result-export") != monitor_task_id("uid-1", "snapshot-upload")
