"""Faults a SeiNode heals from, or fails on, without manual action (issue 10 acceptance):
a restarted sidecar, a sidecar that lost its tasks, a task failing on the sidecar within and
past its retry budget, and a manager restarted in the middle of a plan.

Tasks that need S3 (snapshot-restore, the ceremony's uploads) run on the simulator only; the
sidecar restart of a Running node runs on real `seictl serve`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import aiohttp

from controller_runtime.client import Client, PatchType
from controller_runtime.envtest import eventually
from controllers.sidecar.api import SidecarStatus
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.simnode import SimulatedNode, StoredTask
from controllers.sidecar.simulator import SidecarSimulator

from .conftest import OperatorFactory, OperatorHarness, phase_is, plan_task, seinode

# Generous: the machine is shared and loaded; these bound waiting, they do not measure speed.
PLAN_TIMEOUT = 180.0
HEAL_TIMEOUT = 150.0


def _running(sidecar: SimulatedNode, task_type: str) -> StoredTask | None:
    """The task of ``task_type`` the simulated sidecar is running now, if any."""
    return next(
        (t for t in sidecar.tasks.values() if t.type == task_type and t.status == "running"),
        None,
    )


async def _held(sidecar: SimulatedNode, task_type: str) -> StoredTask:
    task = await eventually(
        lambda: _running(sidecar, task_type),
        lambda t: t is not None,
        timeout=PLAN_TIMEOUT,
        message=f"{task_type} running on the sidecar",
    )
    assert task is not None
    return task


async def _sidecar_tasks(url: str) -> list[dict[str, Any]]:
    """``GET /v0/tasks`` of a real sidecar (the operator never lists tasks)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"{url}/v0/tasks") as response,
    ):
        response.raise_for_status()
        listed: list[dict[str, Any]] = await response.json()
        return listed


async def _warnings(op: OperatorHarness, name: str, reason: str) -> list[dict[str, Any]]:
    return await eventually(
        lambda: op.events(name),
        lambda evs: any(e["reason"] == reason for e in evs),
        timeout=60,
        message=f"{reason} event of {name}",
    )


# --- sidecar restarts ----------------------------------------------------------------------


async def test_restarted_sidecar_of_a_running_node_is_marked_ready_again(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """F2 on real seictl: a container restart loses readiness (process-local) and keeps the
    task store; the controller notices the Initializing sidecar on its Running pass and submits
    a fresh mark-ready (the plan's id would be deduplicated as completed). Nothing in kwok
    reflects the sidecar in the pod, so the trigger here is the 30 s Running requeue."""
    async with run_operator(sidecars="seictl") as op:
        await kube.create(seinode("heal-0", namespace))
        await op.wait_node("heal-0", phase_is("Running"))
        assert op.fleet is not None
        before = op.fleet.sidecar(namespace, "heal-0")
        assert before is not None
        marked_before = {
            t["id"] for t in await _sidecar_tasks(before.url) if t["type"] == "mark-ready"
        }

        restarted = await op.fleet.restart_sidecar(namespace, "heal-0")
        assert restarted.starts == before.starts + 1

        async with HTTPSidecarClientFactory() as clients:
            sidecar = clients.for_url(restarted.url)
            await eventually(
                sidecar.status,
                lambda status: status == SidecarStatus.READY,
                timeout=HEAL_TIMEOUT,
                message="restarted sidecar Ready",
            )
        marked_after = {
            t["id"]
            for t in await _sidecar_tasks(restarted.url)
            if t["type"] == "mark-ready" and t["status"] == "completed"
        }
        assert marked_after - marked_before, "no new mark-ready ran in the restarted sidecar"
        node = await op.node("heal-0")
        assert node["status"]["phase"] == "Running"


async def test_task_lost_by_the_sidecar_mid_plan_is_submitted_again_under_its_id(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """A sidecar that comes back with an empty store answers 404 for the running task; the
    executor keeps the task Pending and re-POSTs the plan's id, which runs it afresh."""
    async with run_operator(sidecars="simulator") as op:
        sidecar = op.sidecar("lost-0")
        sidecar.latencies["config-apply"] = math.inf
        await kube.create(seinode("lost-0", namespace))
        held = await _held(sidecar, "config-apply")

        sidecar.lose_tasks()  # store wiped (fresh volume) ...
        sidecar.restart()  # ... in a new process: readiness lost too
        await eventually(
            lambda: len(sidecar.executions_of(held.id)),
            lambda runs: runs == 2,
            timeout=PLAN_TIMEOUT,
            message="config-apply submitted again",
        )
        sidecar.finish(held.id)

        node = await op.wait_node("lost-0", phase_is("Running"), timeout=PLAN_TIMEOUT)
        assert plan_task(node, "config-apply")["id"] == held.id
        assert {p.id for p in sidecar.posts_of("config-apply")} == {held.id}
        # A fresh store knows nothing of the first run: the resubmission is its run 1.
        assert [e.run for e in sidecar.executions_of(held.id)] == [1, 1]
        assert sidecar.ready


# --- task failures and retry budgets ---------------------------------------------------------


async def test_task_without_retry_budget_fails_the_node_at_once(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        sidecar = op.sidecar("denied-0")
        sidecar.fail("snapshot-restore", "S3 access denied", times=None)
        spec = {"fullNode": {"snapshot": {"s3": {"targetHeight": 100}}}}
        await kube.create(seinode("denied-0", namespace, **spec))

        node = await op.wait_node("denied-0", phase_is("Failed"), timeout=PLAN_TIMEOUT)
        plan = node["status"]["plan"]
        restore = plan_task(node, "snapshot-restore")
        assert plan["phase"] == "Failed"
        assert plan["failedTaskIndex"] == 0
        assert plan["failedTaskDetail"] == {
            "type": "snapshot-restore",
            "id": restore["id"],
            "error": "S3 access denied",
            "retryCount": 0,
            "maxRetries": 0,
        }
        assert restore["status"] == "Failed"
        assert restore["error"] == "S3 access denied"
        assert len(sidecar.executions_of(restore["id"])) == 1
        events = await _warnings(op, "denied-0", "NodeFailed")
        failed = next(e for e in events if e["reason"] == "NodeFailed")
        assert failed["type"] == "Warning"
        assert failed["message"] == (
            "SeiNode is in Failed state. Delete and recreate the resource to retry."
        )
        failures = "sei_controller_task_failures_total"
        labels = {"controller": "seinode", "namespace": namespace}
        assert op.metric(failures, **labels, task_type="snapshot-restore") == 1


async def test_budgeted_task_is_retried_until_it_succeeds(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """A ceremony validator's configure-genesis (budget 180) fails while the group has not
    uploaded the genesis yet; each retry re-POSTs the same id, which the sidecar runs again.
    The retries wait 10 s and 20 s (spec 6.4 backoff)."""
    async with run_operator(sidecars="simulator") as op:
        sidecar = op.sidecar("ceremony-0")
        sidecar.fail("configure-genesis", "genesis.json not found in the genesis bucket", times=2)
        ceremony = {
            "chainId": "sei-e2e",
            "stakingAmount": "10000000usei",
            "accountBalance": "1000000000usei",
            "index": 0,
        }
        await kube.create(seinode("ceremony-0", namespace, validator={"genesisCeremony": ceremony}))

        node = await op.wait_node("ceremony-0", phase_is("Running"), timeout=PLAN_TIMEOUT)
        genesis = plan_task(node, "configure-genesis")
        assert genesis["status"] == "Complete"
        assert genesis["maxRetries"] == 180
        assert genesis["retryCount"] == 2
        assert not genesis.get("error")
        assert [e.run for e in sidecar.executions_of(genesis["id"])] == [1, 2, 3]
        assert {p.id for p in sidecar.posts_of("configure-genesis")} == {genesis["id"]}
        retries = "sei_controller_task_retries_total"
        labels = {"controller": "seinode", "namespace": namespace}
        assert op.metric(retries, **labels, task_type="configure-genesis") == 2


async def test_exhausted_retry_budget_fails_the_node_with_the_task_detail(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        sidecar = op.sidecar("budget-0")
        sidecar.latencies["configure-genesis"] = math.inf
        await kube.create(seinode("budget-0", namespace))
        held = await _held(sidecar, "configure-genesis")

        # While a task runs the executor writes nothing, so this budget is the one it reads
        # once the task fails; wait until the operator's cache shows it. Only after the
        # submission is persisted, though: the sidecar runs the task before the executor writes
        # its submittedAt, and that write (of the plan as the executor read it) would drop a
        # budget patched in between.
        node = await eventually(
            lambda: op.node("budget-0"),
            lambda obj: bool(plan_task(obj, "configure-genesis").get("submittedAt")),
            timeout=60,
            message="configure-genesis submission persisted",
        )
        index = next(i for i, t in enumerate(node["status"]["plan"]["tasks"]) if t["id"] == held.id)
        path = f"/status/plan/tasks/{index}"
        await kube.status().patch(
            node,
            [
                {"op": "test", "path": f"{path}/id", "value": held.id},
                {"op": "add", "path": f"{path}/maxRetries", "value": 1},
            ],
            PatchType.JSON,
        )
        await eventually(
            lambda: op.manager.client.get("sei.io/v1alpha1", "SeiNode", "budget-0", namespace),
            lambda cached: plan_task(cached, "configure-genesis").get("maxRetries") == 1,
            timeout=60,
            message="patched budget in the operator's cache",
        )

        sidecar.finish(held.id, error="config dir not writable (1)")
        await eventually(
            lambda: len(sidecar.executions_of(held.id)),
            lambda runs: runs == 2,
            timeout=PLAN_TIMEOUT,
            message="configure-genesis retried",
        )
        retried = await _held(sidecar, "configure-genesis")
        assert retried.id == held.id
        sidecar.finish(held.id, error="config dir not writable (2)")

        node = await op.wait_node("budget-0", phase_is("Failed"), timeout=PLAN_TIMEOUT)
        plan = node["status"]["plan"]
        assert plan["failedTaskIndex"] == index
        assert plan["failedTaskDetail"] == {
            "type": "configure-genesis",
            "id": held.id,
            "error": "config dir not writable (2)",
            "retryCount": 1,
            "maxRetries": 1,
        }
        genesis = plan_task(node, "configure-genesis")
        assert genesis["status"] == "Failed"
        assert genesis["error"] == "config dir not writable (2)"
        events = await _warnings(op, "budget-0", "NodeFailed")
        assert {e["type"] for e in events if e["reason"] == "NodeFailed"} == {"Warning"}


# --- manager restarts ------------------------------------------------------------------------


async def test_manager_restarted_mid_plan_resumes_without_running_a_task_twice(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """The plan in status is the engine's only memory: a new manager resumes the same plan,
    polls the running task under its persisted id, and submits every later task once."""
    async with SidecarSimulator() as simulator:
        sidecar = simulator.node(namespace, "resume-0")
        sidecar.latencies["config-apply"] = math.inf
        async with run_operator(sidecars="simulator", simulator=simulator):
            await kube.create(seinode("resume-0", namespace))
            held = await _held(sidecar, "config-apply")
            persisted = await eventually(
                lambda: kube.get("sei.io/v1alpha1", "SeiNode", "resume-0", namespace),
                lambda obj: bool(plan_task(obj, "config-apply").get("submittedAt")),
                timeout=60,
                message="config-apply submission persisted",
            )

        async with run_operator(sidecars="simulator", simulator=simulator) as second:
            active = "sei_controller_plan_active"
            labels = {"controller": "seinode", "namespace": namespace, "name": "resume-0"}
            await eventually(
                lambda: second.metric(active, **labels),
                lambda value: value == 1,
                timeout=PLAN_TIMEOUT,
                message="the new manager steps the plan",
            )
            sidecar.finish(held.id)
            node = await second.wait_node("resume-0", phase_is("Running"), timeout=PLAN_TIMEOUT)
            transitions = "sei_controller_seinode_phase_transitions_total"
            running = {"namespace": namespace, "from": "Initializing", "to": "Running"}
            assert second.metric(transitions, **running) == 1

    plan = node["status"]["plan"]
    assert plan["id"] == persisted["status"]["plan"]["id"]
    plan_ids = [t["id"] for t in plan["tasks"]]
    assert Counter(e.id for e in sidecar.executions) == Counter(plan_ids)
    assert {p.id for p in sidecar.posts} == set(plan_ids)
    assert {p.id for p in sidecar.posts_of("config-apply")} == {held.id}
