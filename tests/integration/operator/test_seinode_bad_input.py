"""Bad input never wedges the operator (issue 10 acceptance): a SeiNode the schema accepts but
no planner can plan (spec 3.9) is reported once and not retried until its spec changes, and
malformed sidecar answers cost retries, never a worker."""

from __future__ import annotations

import asyncio
from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from controllers.sidecar.simnode import Fault

from .conftest import OperatorFactory, condition, phase_is, seinode

PLAN_TIMEOUT = 180.0
# How long a rejected node is watched for retries. An error retried with the rate limiter's
# backoff (5 ms doubling) would reconcile about ten times in this window; a hot loop, hundreds.
OBSERVATION_WINDOW = 5.0
REJECTED_MESSAGE = "fullNode: bootstrapImage requires s3 with targetHeight > 0"


def _rejected_node(name: str, namespace: str) -> dict[str, Any]:
    """Valid for the schema (exactly one snapshot source), invalid for the full planner: a
    bootstrap image needs an S3 snapshot with a target height."""
    snapshot = {"bootstrapImage": "ghcr.io/sei-protocol/sei:v6.3.0", "stateSync": {}}
    return seinode(name, namespace, fullNode={"snapshot": snapshot})


def _spec_invalid(obj: dict[str, Any]) -> bool:
    found = condition(obj, "SpecValid")
    return found is not None and found.get("status") == "False"


async def test_spec_the_planner_rejects_is_reported_in_a_condition_and_an_event(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(_rejected_node("bad-0", namespace))
        node = await op.wait_node("bad-0", _spec_invalid, timeout=60)
        found = condition(node, "SpecValid")
        assert found is not None
        assert found["reason"] == "InvalidSpec"
        assert found["message"] == REJECTED_MESSAGE
        assert found["observedGeneration"] == node["metadata"]["generation"]
        assert not (node.get("status") or {}).get("phase")
        assert not (node.get("status") or {}).get("plan")
        events = await eventually(
            lambda: op.events("bad-0"),
            lambda evs: any(e["reason"] == "InvalidSpec" for e in evs),
            timeout=60,
        )
        invalid = next(e for e in events if e["reason"] == "InvalidSpec")
        assert invalid["type"] == "Warning"
        assert invalid["message"] == REJECTED_MESSAGE
        assert invalid["source"]["component"] == "seinode-controller"


async def test_spec_the_planner_rejects_is_not_retried(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(_rejected_node("bad-1", namespace))
        await op.wait_node("bad-1", _spec_invalid, timeout=60)
        await eventually(
            lambda: op.metric(
                "controller_runtime_terminal_reconcile_errors_total", controller="seinode"
            ),
            lambda errors: errors >= 1,
            timeout=30,
            message="terminal reconcile error counted",
        )
        reconciles = "controller_runtime_reconcile_total"
        before = op.metric_sum(reconciles, controller="seinode")
        # An observation window, not a synchronisation: nothing should happen in it.
        await asyncio.sleep(OBSERVATION_WINDOW)
        assert op.metric_sum(reconciles, controller="seinode") - before <= 2


async def test_fixing_a_rejected_spec_clears_the_condition_and_the_node_proceeds(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        created = await kube.create(_rejected_node("bad-2", namespace))
        await op.wait_node("bad-2", _spec_invalid, timeout=60)

        fix = {"spec": {"fullNode": {"snapshot": {"bootstrapImage": None}}}}
        await kube.patch(created, fix)

        node = await op.wait_node("bad-2", phase_is("Running"), timeout=PLAN_TIMEOUT)
        assert condition(node, "SpecValid") is None
        assert [t["type"] for t in node["status"]["plan"]["tasks"]] == [
            "configure-genesis",
            "config-apply",
            "configure-state-sync",
            "config-validate",
            "mark-ready",
        ]


async def test_malformed_sidecar_answers_never_crash_a_worker(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """Every fault is answered to one request of the plan's submissions and polls (the hang
    and the slow drip each cost a 10 s client timeout), one to the Running pass's readiness
    check; the node still gets through its plan."""
    plan_faults = [
        Fault.BAD_JSON,
        Fault.WRONG_TYPES,
        Fault.SERVER_ERROR,
        Fault.HANG,
        Fault.HUGE,
        Fault.DISCONNECT,
        Fault.SLOW_DRIP,
    ]
    async with run_operator(sidecars="simulator") as op:
        sidecar = op.sidecar("faulty-0")
        for fault in plan_faults:
            sidecar.inject(fault, times=1, endpoints={"submit", "task"})
        sidecar.inject(Fault.WRONG_TYPES, times=1, endpoints={"status"})
        await kube.create(seinode("faulty-0", namespace))

        await op.wait_node("faulty-0", phase_is("Running"), timeout=PLAN_TIMEOUT)
        served = await eventually(
            lambda: list(sidecar.faults_served),
            lambda faults: len(faults) == len(plan_faults) + 1,
            timeout=60,
            message="every injected fault answered",
        )
        assert [f for endpoint, f in served if endpoint != "status"] == plan_faults
        assert ("status", Fault.WRONG_TYPES) in served
        panics = "controller_runtime_reconcile_panics_total"
        assert op.metric(panics, controller="seinode") == 0
        assert op.metric(panics, controller="seinodedeployment") == 0
