"""The SeiNode reconciler against sidecars that answer garbage, through the stand-in.

One node per malformed answer, each answered that way on every poll of its first plan task.
Each node must say so (TaskProgressing=False, reason TaskStalled, the client's message, one
Warning event per cause, not per retry), be retried at the task poll pace and no faster, and
cost no panic and no reconcile error. When the answers heal, every node finishes its plan and
the condition goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from controllers.plan.engine import TASK_POLL_INTERVAL

from ..integration.operator.conftest import OperatorFactory, OperatorHarness, condition, seinode
from .standin import EXPECTED, HARMLESS, Answer, StandInSidecars

pytestmark = pytest.mark.integration

MALFORMED = sorted(set(Answer) - HARMLESS)
OBSERVATION_WINDOW = 12.0
# Reconciles a stalled node gets in a window: one per poll interval (a pass that waits out a
# hung answer only makes them rarer), plus the one in flight at each end and events on its
# children (the StatefulSet's status as its pod comes up).
PASS_SLACK = 4


@pytest_asyncio.fixture(loop_scope="session")
async def sidecars() -> AsyncIterator[StandInSidecars]:
    standin = StandInSidecars()
    await standin.start()
    try:
        yield standin
    finally:
        await standin.close()


def _name(answer: Answer) -> str:
    return f"garbled-{answer.value}"


def _stalled(obj: dict[str, Any]) -> bool:
    found = condition(obj, "TaskProgressing")
    return found is not None and found["status"] == "False"


async def _warnings(op: OperatorHarness, name: str) -> list[dict[str, Any]]:
    return [e for e in await op.events(name) if e["reason"] == "TaskStalled"]


async def test_garbled_sidecar_answers_are_reported_paced_and_survived(
    run_operator: OperatorFactory, kube: Client, namespace: str, sidecars: StandInSidecars
) -> None:
    # Every poll of configure-genesis (the first task of a bare full node) gets the answer.
    for answer in MALFORMED:
        sidecars.standin.inject(namespace, _name(answer), answer, {"task"})
    async with run_operator(sidecars="simulator", simulator=sidecars) as op:
        for answer in MALFORMED:
            await kube.create(seinode(_name(answer), namespace))

        for answer in MALFORMED:
            node = await op.wait_node(_name(answer), _stalled, timeout=120)
            found = condition(node, "TaskProgressing")
            assert found is not None
            assert found["reason"] == "TaskStalled"
            assert found["message"].startswith("task configure-genesis: polling it failed: ")
            assert EXPECTED[answer] in found["message"]
            assert node["status"]["phase"] == "Initializing"

        reconciles = "controller_runtime_reconcile_total"
        before = op.metric_sum(reconciles, controller="seinode")
        # An observation window, not a synchronisation: the retries in it are counted.
        await asyncio.sleep(OBSERVATION_WINDOW)
        grown = op.metric_sum(reconciles, controller="seinode") - before
        per_node = OBSERVATION_WINDOW / TASK_POLL_INTERVAL + PASS_SLACK
        assert grown <= len(MALFORMED) * per_node, (grown, per_node)
        for answer in MALFORMED:
            # One Warning per cause: the same garbage again is no news.
            events = await _warnings(op, _name(answer))
            assert [e["type"] for e in events] == ["Warning"], events
            assert events[0]["count"] == 1, events
        for controller in ("seinode", "seinodedeployment"):
            assert (
                op.metric("controller_runtime_reconcile_panics_total", controller=controller) == 0
            )
            assert (
                op.metric("controller_runtime_reconcile_errors_total", controller=controller) == 0
            )

        sidecars.standin.clear()
        for answer in MALFORMED:
            node = await op.wait_node(
                _name(answer), lambda o: (o.get("status") or {}).get("phase") == "Running"
            )
            assert condition(node, "TaskProgressing") is None


async def test_content_type_alone_does_not_stall_a_node(
    run_operator: OperatorFactory, kube: Client, namespace: str, sidecars: StandInSidecars
) -> None:
    sidecars.standin.inject(
        namespace, "typed", Answer.WRONG_CONTENT_TYPE, {"submit", "task", "status"}
    )
    async with run_operator(sidecars="simulator", simulator=sidecars) as op:
        await kube.create(seinode("typed", namespace))
        node = await op.wait_node(
            "typed", lambda o: (o.get("status") or {}).get("phase") == "Running"
        )
        assert condition(node, "TaskProgressing") is None
        assert await _warnings(op, "typed") == []
        await eventually(
            lambda: list(sidecars.standin.served),
            lambda served: {kind for *_, kind, _ in served} >= {"submit", "task"},
            timeout=10,
            message="wrong content type served",
        )


async def test_a_sidecar_not_listening_yet_is_no_stall(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    """The local fleet serves a node's sidecar only once its pod runs: until then connections
    are refused, as after every real pod start. That is waited out quietly."""
    async with run_operator(sidecars="fleet-simulator") as op:
        await kube.create(seinode("fresh", namespace))
        node = await op.wait_node(
            "fresh", lambda o: (o.get("status") or {}).get("phase") == "Running"
        )
        assert condition(node, "TaskProgressing") is None
        assert await _warnings(op, "fresh") == []
