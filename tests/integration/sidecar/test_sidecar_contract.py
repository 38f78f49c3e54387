"""The sidecar contract: every behaviour of the section-7 API the controller relies on, run with
our client against BOTH the simulator and real `seictl serve` (v0.0.68), so the simulator
cannot drift from the real sidecar.

Tasks that need S3, EC2 or a running chain cannot succeed on a local seictl; they are exercised
on the simulator only, in the tests marked so at the end, never by skipping a real-backend test.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from controller_runtime.envtest import eventually
from controllers.sidecar.api import (
    SidecarError,
    SidecarRejectedError,
    SidecarStatus,
    SidecarTaskNotFoundError,
    TaskResult,
    TaskResultStatus,
)

from .conftest import Sidecar

IDENTITY = {"chainId": "contract-1", "moniker": "node-a"}
# No seid runs next to either backend, so this height is never reached: the task stays running.
NEVER = {"condition": "height", "targetHeight": 10**9}


def new_id() -> str:
    return str(uuid.uuid4())


async def settled(sidecar: Sidecar, task_id: str) -> TaskResult:
    """The task's result once it is no longer running."""
    result: TaskResult = await eventually(
        lambda: sidecar.client.get_task(task_id),
        lambda r: r.status is not TaskResultStatus.RUNNING,
        timeout=30,
        message=f"task {task_id} settled",
    )
    return result


async def holds(check: Callable[[], bool], seconds: float = 0.5, polls: int = 5) -> None:
    """``check`` holds on every poll over ``seconds`` (a "stays so" observation)."""
    for _ in range(polls):
        assert check()
        await asyncio.sleep(seconds / polls)


async def run_of(sidecar: Sidecar, task_id: str) -> int:
    result = await sidecar.client.get_task(task_id)
    assert result.raw is not None
    return int(result.raw["run"])


# --- readiness -----------------------------------------------------------------------------------


async def test_a_fresh_sidecar_is_initializing(sidecar: Sidecar) -> None:
    assert await sidecar.client.status() is SidecarStatus.INITIALIZING


async def test_healthz_is_503_before_mark_ready(sidecar: Sidecar) -> None:
    assert await sidecar.raw("GET", "/v0/healthz") == (503, None)


async def test_livez_is_200(sidecar: Sidecar) -> None:
    assert (await sidecar.raw("GET", "/v0/livez"))[0] == 200


async def test_mark_ready_makes_the_sidecar_ready(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("mark-ready", None, new_id())
    assert (await settled(sidecar, task_id)).status is TaskResultStatus.COMPLETED
    assert await sidecar.client.status() is SidecarStatus.READY
    assert (await sidecar.raw("GET", "/v0/healthz"))[0] == 200


async def test_mark_ready_without_an_id_makes_the_sidecar_ready(sidecar: Sidecar) -> None:
    await sidecar.client.submit_task("mark-ready")
    await eventually(sidecar.client.status, lambda s: s is SidecarStatus.READY, timeout=30)


# --- submission ----------------------------------------------------------------------------------


async def test_post_answers_201_with_the_given_id(sidecar: Sidecar) -> None:
    task_id = new_id()
    body = json.dumps({"id": task_id, "type": "mark-ready"}).encode()
    assert await sidecar.raw("POST", "/v0/tasks", body) == (201, {"id": task_id})


async def test_post_without_an_id_gets_a_random_uuid(sidecar: Sidecar) -> None:
    first = await sidecar.client.submit_task("mark-ready")
    second = await sidecar.client.submit_task("mark-ready")
    assert first != second
    assert str(uuid.UUID(first)) == first


async def test_reposting_a_completed_id_does_not_run_it_again(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("generate-identity", IDENTITY, new_id())
    before = await settled(sidecar, task_id)
    assert await sidecar.client.submit_task("generate-identity", IDENTITY, task_id) == task_id
    assert await sidecar.client.get_task(task_id) == before
    assert await run_of(sidecar, task_id) == 1


async def test_reposting_a_running_id_does_not_run_it_again(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("await-condition", NEVER, new_id())
    before = await sidecar.client.get_task(task_id)
    assert await sidecar.client.submit_task("await-condition", NEVER, task_id) == task_id
    after = await sidecar.client.get_task(task_id)
    assert (after.status, after.submitted_at, await run_of(sidecar, task_id)) == (
        TaskResultStatus.RUNNING,
        before.submitted_at,
        1,
    )


async def test_reposting_a_failed_id_runs_it_again(sidecar: Sidecar) -> None:
    task_id = new_id()
    await sidecar.client.submit_task("generate-identity", {"chainId": "c"}, task_id)
    assert (await settled(sidecar, task_id)).status is TaskResultStatus.FAILED
    await sidecar.client.submit_task("generate-identity", {"chainId": "c"}, task_id)
    result = await settled(sidecar, task_id)
    assert (result.status, await run_of(sidecar, task_id)) == (TaskResultStatus.FAILED, 2)


async def test_a_failed_id_reposted_can_complete(sidecar: Sidecar) -> None:
    task_id = new_id()
    await sidecar.client.submit_task("generate-identity", {"chainId": "c"}, task_id)
    await settled(sidecar, task_id)
    await sidecar.client.submit_task("generate-identity", IDENTITY, task_id)
    result = await settled(sidecar, task_id)
    assert (result.status, result.error, await run_of(sidecar, task_id)) == (
        TaskResultStatus.COMPLETED,
        None,
        2,
    )


async def test_a_failed_task_reports_the_handlers_error(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("generate-identity", {"chainId": "c"}, new_id())
    result = await settled(sidecar, task_id)
    assert (result.status, result.error) == (
        TaskResultStatus.FAILED,
        "generate-identity: missing required param 'moniker'",
    )


async def test_an_unknown_task_type_is_rejected(sidecar: Sidecar) -> None:
    with pytest.raises(SidecarRejectedError) as caught:
        await sidecar.client.submit_task("warp-drive", None, new_id())
    assert str(caught.value) == "sidecar rejected warp-drive task: unknown task type: warp-drive"


async def test_an_id_that_is_not_a_uuid_is_rejected(sidecar: Sidecar) -> None:
    with pytest.raises(SidecarRejectedError) as caught:
        await sidecar.client.submit_task("mark-ready", None, "node-a/mark-ready")
    assert str(caught.value) == (
        'sidecar rejected mark-ready task: task ID must be a valid UUID: "node-a/mark-ready"'
    )


async def test_a_request_without_a_type_is_rejected(sidecar: Sidecar) -> None:
    body = json.dumps({"id": new_id()}).encode()
    assert await sidecar.raw("POST", "/v0/tasks", body) == (400, {"error": "type is required"})


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"type": 5}', b'{"type": "mark-ready", "params": [1]}', b"[]"],
    ids=["text", "type-number", "params-list", "array"],
)
async def test_a_body_that_does_not_decode_is_rejected(sidecar: Sidecar, body: bytes) -> None:
    assert await sidecar.raw("POST", "/v0/tasks", body) == (
        400,
        {"error": "invalid request body"},
    )


async def test_the_full_node_plan_tasks_complete_in_order(sidecar: Sidecar) -> None:
    """Spec 6.3's full-node plan for a chain whose genesis the sidecar carries (no S3)."""
    plan = [
        ("configure-genesis", None),
        ("config-apply", {"mode": "full", "incremental": False, "targetVersion": 0}),
        ("config-validate", None),
        ("mark-ready", None),
    ]
    outcomes = []
    for task_type, params in plan:
        task_id = await sidecar.client.submit_task(task_type, params, new_id())
        result = await settled(sidecar, task_id)
        outcomes.append((task_type, result.status, result.error))
    assert outcomes == [(t, TaskResultStatus.COMPLETED, None) for t, _ in plan]
    assert await sidecar.client.status() is SidecarStatus.READY


# --- task results --------------------------------------------------------------------------------


async def test_an_unknown_id_is_task_not_found(sidecar: Sidecar) -> None:
    task_id = new_id()
    assert await sidecar.raw("GET", f"/v0/tasks/{task_id}") == (404, {"error": "task not found"})
    with pytest.raises(SidecarTaskNotFoundError):
        await sidecar.client.get_task(task_id)


async def test_a_task_result_carries_its_request_and_times(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("generate-identity", IDENTITY, new_id())
    result = await settled(sidecar, task_id)
    assert (result.id, result.type, result.status, result.params) == (
        task_id,
        "generate-identity",
        TaskResultStatus.COMPLETED,
        IDENTITY,
    )
    assert result.submitted_at is not None
    assert result.completed_at is not None
    assert result.submitted_at <= result.completed_at  # both RFC 3339 UTC


async def test_a_running_task_has_no_completion_time(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("await-condition", NEVER, new_id())
    result = await sidecar.client.get_task(task_id)
    assert (result.status, result.completed_at, result.error) == (
        TaskResultStatus.RUNNING,
        None,
        None,
    )


# --- genesis ceremony tasks (the parts that need no bucket; the rest: test_sidecar_genesis.py) --

GENTX = {"chainId": "contract-1", "stakingAmount": "10usei", "accountBalance": "100usei"}
ASSEMBLE = {"accountBalance": "100usei", "namespace": "sei", "nodes": [{"name": "node-a"}]}


@pytest.mark.parametrize("missing", ["chainId", "stakingAmount", "accountBalance"])
async def test_generate_gentx_names_its_missing_param(sidecar: Sidecar, missing: str) -> None:
    params = {k: v for k, v in GENTX.items() if k != missing}
    result = await settled(sidecar, await sidecar.client.submit_task("generate-gentx", params))
    assert (result.status, result.error) == (
        TaskResultStatus.FAILED,
        f"generate-gentx: missing required param '{missing}'",
    )


async def test_upload_genesis_artifacts_needs_a_node_name(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("upload-genesis-artifacts", {}, new_id())
    result = await settled(sidecar, task_id)
    assert (result.status, result.error) == (
        TaskResultStatus.FAILED,
        "upload-genesis-artifacts: missing required param 'nodeName'",
    )


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (ASSEMBLE | {"accountBalance": ""}, "missing required param 'accountBalance'"),
        (ASSEMBLE | {"namespace": ""}, "missing required param 'namespace'"),
        (ASSEMBLE | {"nodes": []}, "'nodes' list is empty"),
        (ASSEMBLE | {"nodes": [{"name": ""}]}, "nodes[0] missing required field 'name'"),
    ],
    ids=["balance", "namespace", "no-nodes", "unnamed-node"],
)
async def test_assembly_checks_its_params(
    sidecar: Sidecar, params: dict[str, object], error: str
) -> None:
    task_id = await sidecar.client.submit_task("assemble-and-upload-genesis", params, new_id())
    result = await settled(sidecar, task_id)
    assert (result.status, result.error) == (TaskResultStatus.FAILED, f"assemble-genesis: {error}")


# --- node identity -------------------------------------------------------------------------------


async def test_node_id_fails_before_generate_identity(sidecar: Sidecar) -> None:
    with pytest.raises(SidecarError, match=r"HTTP 500: node_key\.json not found"):
        await sidecar.client.node_id()


async def test_node_id_is_forty_hex_digits_after_generate_identity(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("generate-identity", IDENTITY, new_id())
    await settled(sidecar, task_id)
    node_id = await sidecar.client.node_id()
    assert re.fullmatch(r"[0-9a-f]{40}", node_id)
    assert await sidecar.client.node_id() == node_id


# --- restarts (same data volume, new process) ----------------------------------------------------


async def test_results_survive_a_restart_and_readiness_does_not(sidecar: Sidecar) -> None:
    ready = await sidecar.client.submit_task("mark-ready", None, new_id())
    identity = await sidecar.client.submit_task("generate-identity", IDENTITY, new_id())
    before = [await settled(sidecar, ready), await settled(sidecar, identity)]
    await sidecar.restart()
    assert await sidecar.client.status() is SidecarStatus.INITIALIZING
    assert (await sidecar.raw("GET", "/v0/healthz"))[0] == 503
    assert [await sidecar.client.get_task(ready), await sidecar.client.get_task(identity)] == before


async def test_the_node_id_survives_a_restart(sidecar: Sidecar) -> None:
    await settled(sidecar, await sidecar.client.submit_task("generate-identity", IDENTITY))
    node_id = await sidecar.client.node_id()
    await sidecar.restart()
    assert await sidecar.client.node_id() == node_id


async def test_reposting_the_original_mark_ready_id_after_a_restart_stays_initializing(
    sidecar: Sidecar,
) -> None:
    ready = await sidecar.client.submit_task("mark-ready", None, new_id())
    await settled(sidecar, ready)
    await sidecar.restart()
    assert await sidecar.client.submit_task("mark-ready", None, ready) == ready
    assert await run_of(sidecar, ready) == 1
    assert await sidecar.client.status() is SidecarStatus.INITIALIZING


async def test_a_new_mark_ready_after_a_restart_makes_it_ready_again(sidecar: Sidecar) -> None:
    await settled(sidecar, await sidecar.client.submit_task("mark-ready", None, new_id()))
    await sidecar.restart()
    await settled(sidecar, await sidecar.client.submit_task("mark-ready"))
    assert await sidecar.client.status() is SidecarStatus.READY


async def test_a_task_running_at_a_restart_is_still_running_after_it(sidecar: Sidecar) -> None:
    task_id = await sidecar.client.submit_task("await-condition", NEVER, new_id())
    await sidecar.restart()
    result = await sidecar.client.get_task(task_id)
    assert (result.status, await run_of(sidecar, task_id)) == (TaskResultStatus.RUNNING, 1)


# --- simulator only: tasks that need S3, EC2 or a running chain ---------------------------------
# A local seictl has no S3, no EC2 and no seid: these tasks can only fail or wait on it, so the
# simulator stands in for the real sidecar here (and only here). The genesis ceremony's tasks run
# on real seictl in test_sidecar_genesis.py, through an S3 stand-in; the fork's two tasks are not
# in seictl v0.0.68 at all.

EXTERNAL_TASKS = {
    "snapshot-restore": {"targetHeight": 100},
    "configure-genesis": None,  # for a chain whose genesis seictl does not carry: S3
    "configure-state-sync": {"useLocalSnapshot": True},
    "discover-peers": {"sources": [{"type": "ec2Tags", "region": "r", "tags": {"k": "v"}}]},
    "export-state": {"height": 1, "chainId": "a", "s3Bucket": "b", "s3Key": "k", "s3Region": "r"},
}


@pytest.mark.parametrize("task_type", EXTERNAL_TASKS)
async def test_simulator_only_tasks_needing_s3_ec2_or_a_chain_complete(
    simulated_sidecar: Sidecar, task_type: str
) -> None:
    client = simulated_sidecar.client
    task_id = await client.submit_task(task_type, EXTERNAL_TASKS[task_type], new_id())
    assert (await settled(simulated_sidecar, task_id)).status is TaskResultStatus.COMPLETED


async def test_simulator_only_a_fork_genesis_is_assembled_after_the_export(
    simulated_sidecar: Sidecar,
) -> None:
    """One node through its ceremony tasks, assembling the fork of the state it exported."""
    client = simulated_sidecar.client
    steps: list[tuple[str, Any]] = [
        ("generate-identity", IDENTITY),
        ("generate-gentx", GENTX),
        ("upload-genesis-artifacts", {"nodeName": "node-a"}),
        ("export-state", {"height": 9, "chainId": "src-1", "s3Key": "src-1/exported-state.json"}),
        (
            "assemble-genesis-fork",
            ASSEMBLE | {"sourceChainId": "src-1", "chainId": "contract-1"},
        ),
        ("set-genesis-peers", None),
        ("configure-genesis", None),
    ]
    outcomes = []
    for task_type, params in steps:
        result = await settled(simulated_sidecar, await client.submit_task(task_type, params))
        outcomes.append((task_type, result.status, result.error))
    assert outcomes == [(t, TaskResultStatus.COMPLETED, None) for t, _ in steps]


async def test_simulator_only_await_condition_completes_at_the_height(
    simulated_sidecar: Sidecar,
) -> None:
    node = simulated_sidecar.simulated
    assert node is not None
    params = {"condition": "height", "targetHeight": 50, "action": "SIGTERM_SEID"}
    task_id = await simulated_sidecar.client.submit_task("await-condition", params, new_id())
    node.set_height(50)
    assert (await settled(simulated_sidecar, task_id)).status is TaskResultStatus.COMPLETED


@pytest.mark.parametrize("task_type", ["snapshot-upload", "result-export"])
async def test_simulator_only_monitor_tasks_run_until_they_end(
    simulated_sidecar: Sidecar, task_type: str
) -> None:
    node, client = simulated_sidecar.simulated, simulated_sidecar.client
    assert node is not None
    task_id = await client.submit_task(task_type)
    assert (await client.get_task(task_id)).status is TaskResultStatus.RUNNING
    node.finish(task_id)
    assert (await client.get_task(task_id)).status is TaskResultStatus.COMPLETED


# --- await-condition (HardFork halt signal and await-height, spec 6.7.4) -------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"targetHeight": 5}, "condition is required"),
        ({"condition": "height", "targetHeight": 0}, "targetHeight must be > 0, got 0"),
        ({"condition": "sunrise", "targetHeight": 5}, 'unknown condition "sunrise"'),
    ],
)
async def test_await_condition_rejects_bad_params_as_a_failed_task(
    sidecar: Sidecar, params: dict[str, object], error: str
) -> None:
    task_id = await sidecar.client.submit_task("await-condition", params, new_id())
    result = await settled(sidecar, task_id)
    assert (result.status, result.error) == (TaskResultStatus.FAILED, error)


async def test_a_halt_signal_is_accepted_and_waits_for_its_height(sidecar: Sidecar) -> None:
    params = {"condition": "height", "targetHeight": 10**9, "action": "SIGTERM_SEID"}
    task_id = await sidecar.client.submit_task("await-condition", params, new_id())
    result = await sidecar.client.get_task(task_id)
    assert result.status is TaskResultStatus.RUNNING
    assert result.params == params


async def test_simulator_only_a_halt_signal_stops_the_chain_at_its_height(
    simulated_sidecar: Sidecar,
) -> None:
    node = simulated_sidecar.simulated
    assert node is not None
    node.produce_blocks(0.01)
    params = {"condition": "height", "targetHeight": 20, "action": "SIGTERM_SEID"}
    task_id = await simulated_sidecar.client.submit_task("await-condition", params, new_id())
    assert (await settled(simulated_sidecar, task_id)).status is TaskResultStatus.COMPLETED
    assert node.halted_at == 20
    await holds(lambda: node.height == 20)


async def test_simulator_only_await_height_without_action_leaves_the_chain_running(
    simulated_sidecar: Sidecar,
) -> None:
    node = simulated_sidecar.simulated
    assert node is not None
    node.produce_blocks(0.01)
    params = {"condition": "height", "targetHeight": 5}
    task_id = await simulated_sidecar.client.submit_task("await-condition", params, new_id())
    assert (await settled(simulated_sidecar, task_id)).status is TaskResultStatus.COMPLETED
    await eventually(lambda: node.height, lambda h: (h or 0) > 10, timeout=30)
    assert node.halted_at is None


async def test_simulator_only_an_unknown_action_fails_once_the_condition_holds(
    simulated_sidecar: Sidecar,
) -> None:
    node = simulated_sidecar.simulated
    assert node is not None
    params = {"condition": "height", "targetHeight": 3, "action": "REBOOT"}
    task_id = await simulated_sidecar.client.submit_task("await-condition", params, new_id())
    assert (await simulated_sidecar.client.get_task(task_id)).status is TaskResultStatus.RUNNING
    node.set_height(3)
    result = await settled(simulated_sidecar, task_id)
    assert (result.status, result.error) == (TaskResultStatus.FAILED, 'unknown action "REBOOT"')


# --- real seictl only: where v0.0.68 differs from the reference's sidecar (spec 7.2) ------------


@pytest.mark.parametrize("task_type", ["discover-peers", "assemble-genesis-fork", "export-state"])
async def test_seictl_v0_0_68_no_longer_knows_some_reference_task_types(
    real_sidecar: Sidecar, task_type: str
) -> None:
    """Spec 7.2 lists these (seictl v0.0.30); v0.0.68 dropped their handlers, so plans using
    them (peers, fork genesis, export) need the simulator locally. The simulator keeps the
    spec's list, as the reference's sidecar did."""
    with pytest.raises(SidecarRejectedError, match=f"unknown task type: {task_type}$"):
        await real_sidecar.client.submit_task(task_type, {}, new_id())
