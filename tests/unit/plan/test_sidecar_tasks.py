"""Sidecar tasks of spec 6.7.1: what is POSTed, and how results map to task states."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.plan import TaskState, TransientTaskError, seinode_task_registry
from controllers.plan.engine import Task
from controllers.plan.sidecar_tasks import FIRE_AND_FORGET, SIDECAR_TASK_PARAMS
from controllers.sidecar.api import (
    SidecarRejectedError,
    SidecarUnavailableError,
    TaskResultStatus,
)
from tests.unit.plan.fakes import FakeSidecar, Submission, sidecar_context
from tests.unit.plan.nodes import snapshot_node

TASK_ID = "5a099d26-8c40-5fe0-8eb6-31090a9daf07"


def _task(
    sidecar: FakeSidecar, task_type: str, params: dict[str, Any] | None = None, **ctx: Any
) -> Task:
    context = sidecar_context(snapshot_node(), sidecar, **ctx)
    return seinode_task_registry().build(context, task_type, TASK_ID, params or {})


async def _sent(task_type: str, params: dict[str, Any]) -> dict[str, Any] | None:
    sidecar = FakeSidecar()
    await _task(sidecar, task_type, params).execute()
    (submission,) = sidecar.submissions
    assert (submission.task_type, submission.task_id) == (task_type, TASK_ID)
    return submission.params


def test_registry_knows_every_sidecar_task_type_of_the_catalogue() -> None:
    assert set(SIDECAR_TASK_PARAMS) == {
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
        "generate-identity",
        "generate-gentx",
        "upload-genesis-artifacts",
        "set-genesis-peers",
        "assemble-and-upload-genesis",
        "assemble-genesis-fork",
        "await-condition",
    }
    assert set(SIDECAR_TASK_PARAMS) <= seinode_task_registry().types()


def test_only_config_validate_and_mark_ready_are_fire_and_forget() -> None:
    assert frozenset({"config-validate", "mark-ready"}) == FIRE_AND_FORGET


async def test_snapshot_restore_sends_its_target_height() -> None:
    assert await _sent("snapshot-restore", {"targetHeight": 42}) == {"targetHeight": 42}


async def test_snapshot_restore_without_height_sends_no_params() -> None:
    assert await _sent("snapshot-restore", {}) is None


@pytest.mark.parametrize(
    "task_type", ["configure-genesis", "config-validate", "mark-ready", "set-genesis-peers"]
)
async def test_parameterless_tasks_send_no_params(task_type: str) -> None:
    assert await _sent(task_type, {}) is None


async def test_config_apply_always_sends_incremental_and_target_version() -> None:
    assert await _sent("config-apply", {"mode": "full"}) == {
        "mode": "full",
        "incremental": False,
        "targetVersion": 0,
    }


async def test_config_apply_sends_non_empty_overrides() -> None:
    params = {"mode": "archive", "overrides": {"a.b": "1"}, "incremental": True, "targetVersion": 3}
    assert await _sent("config-apply", params) == params


async def test_config_apply_leaves_out_empty_overrides() -> None:
    sent = await _sent("config-apply", {"mode": "full", "overrides": {}})
    assert sent is not None
    assert "overrides" not in sent


async def test_discover_peers_sends_only_each_source_types_own_keys() -> None:
    stored = {
        "sources": [
            {"type": "ec2Tags", "region": "eu-central-1", "tags": {"k": "v"}, "addresses": ["x"]},
            {"type": "static", "addresses": ["id@host:26656"], "region": "stray"},
            {"type": "dnsEndpoints", "endpoints": ["a-0.a.ns.svc.cluster.local"], "tags": {}},
        ]
    }
    assert await _sent("discover-peers", stored) == {
        "sources": [
            {"type": "ec2Tags", "region": "eu-central-1", "tags": {"k": "v"}},
            {"type": "static", "addresses": ["id@host:26656"]},
            {"type": "dnsEndpoints", "endpoints": ["a-0.a.ns.svc.cluster.local"]},
        ]
    }


async def test_discover_peers_sends_an_empty_endpoint_list_for_an_unresolved_label_source() -> None:
    sent = await _sent("discover-peers", {"sources": [{"type": "dnsEndpoints"}]})
    assert sent == {"sources": [{"type": "dnsEndpoints", "endpoints": []}]}


async def test_configure_state_sync_sends_only_non_zero_keys() -> None:
    sent = await _sent("configure-state-sync", {"trustPeriod": "9999h0m0s", "backfillBlocks": 0})
    assert sent == {"trustPeriod": "9999h0m0s"}


async def test_configure_state_sync_without_settings_sends_no_params() -> None:
    assert await _sent("configure-state-sync", {}) is None


async def test_generate_gentx_leaves_out_empty_genesis_params() -> None:
    stored = {"chainId": "c", "stakingAmount": "1", "accountBalance": "2", "genesisParams": ""}
    assert await _sent("generate-gentx", stored) == {
        "chainId": "c",
        "stakingAmount": "1",
        "accountBalance": "2",
    }


async def test_assemble_genesis_fork_sends_its_params_unchanged() -> None:
    stored = {
        "sourceChainId": "pacific-1",
        "chainId": "fork-1",
        "accountBalance": "1usei",
        "namespace": "sei",
        "nodes": [{"name": "g-0"}, {"name": "g-1"}],
    }
    assert await _sent("assemble-genesis-fork", stored) == stored


async def test_fire_and_forget_task_is_complete_after_a_successful_post() -> None:
    sidecar = FakeSidecar()
    task = _task(sidecar, "mark-ready")

    await task.execute()

    assert await task.status() == TaskState.COMPLETE
    assert sidecar.gets == []


async def test_completed_result_completes_the_task() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.COMPLETED)
    task = _task(sidecar, "configure-genesis")

    await task.execute()

    assert await task.status() == TaskState.COMPLETE


async def test_running_result_keeps_the_task_running() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.RUNNING)
    task = _task(sidecar, "configure-genesis")

    await task.execute()

    assert await task.status() == TaskState.RUNNING


async def test_failed_result_fails_the_task_with_its_error() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.FAILED, "S3 access denied")
    task = _task(sidecar, "snapshot-restore")

    await task.execute()

    assert await task.status() == TaskState.FAILED
    assert task.error() == "S3 access denied"


async def test_failed_result_without_error_names_the_task() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.FAILED)
    task = _task(sidecar, "snapshot-restore")

    await task.execute()

    assert await task.status() == TaskState.FAILED
    assert task.error() == f"task {TASK_ID} failed with unknown error"


async def test_terminal_state_sticks_for_the_rest_of_the_step() -> None:
    sidecar = FakeSidecar()
    sidecar.set_result(TASK_ID, TaskResultStatus.COMPLETED)
    task = _task(sidecar, "configure-genesis")
    await task.execute()
    assert await task.status() == TaskState.COMPLETE

    sidecar.set_result(TASK_ID, TaskResultStatus.RUNNING)

    assert await task.status() == TaskState.COMPLETE
    assert len(sidecar.gets) == 1


async def test_not_found_result_submits_the_task_again_and_keeps_it_running() -> None:
    sidecar = FakeSidecar()
    task = _task(sidecar, "snapshot-restore", {"targetHeight": 7})

    assert await task.status() == TaskState.RUNNING

    (submission,) = sidecar.submissions
    assert submission == Submission("snapshot-restore", {"targetHeight": 7}, TASK_ID)


async def test_failed_resubmission_of_a_lost_task_keeps_it_running() -> None:
    sidecar = FakeSidecar(submit_error=SidecarUnavailableError("connection refused"))
    task = _task(sidecar, "configure-genesis")

    assert await task.status() == TaskState.RUNNING


async def test_get_error_is_transient() -> None:
    """The state is unknown this step: the executor keeps the task pending and says why."""
    sidecar = FakeSidecar(get_error=SidecarUnavailableError("timeout"))
    task = _task(sidecar, "configure-genesis")

    await task.execute()

    with pytest.raises(TransientTaskError, match="timeout"):
        await task.status()


async def test_post_failure_is_transient() -> None:
    sidecar = FakeSidecar(submit_error=SidecarUnavailableError("connection refused"))

    with pytest.raises(TransientTaskError, match="connection refused"):
        await _task(sidecar, "configure-genesis").execute()


async def test_rejected_submission_is_transient() -> None:
    error = SidecarRejectedError("sidecar rejected configure-genesis task: unknown task type")
    sidecar = FakeSidecar(submit_error=error)

    with pytest.raises(TransientTaskError, match="sidecar rejected configure-genesis task"):
        await _task(sidecar, "configure-genesis").execute()


async def test_client_build_failure_is_transient_with_its_cause() -> None:
    task = _task(FakeSidecar(), "configure-genesis", sidecar_error="no such node")

    with pytest.raises(TransientTaskError, match=r"^building sidecar client: no such node$"):
        await task.execute()


async def test_client_build_failure_while_polling_is_transient() -> None:
    task = _task(FakeSidecar(), "configure-genesis", sidecar_error="no such node")

    with pytest.raises(TransientTaskError, match="no such node"):
        await task.status()
