"""Every row of the reconcile result table, one test per row (as controller-runtime's
controller_test.go), observed through metrics and queue behaviour.

The queue runs on a fake clock and the controller has one worker, so "requeued after a delay"
and "not requeued" are both decided deterministically: a delayed requeue happens only when the
test steps the clock, and a sentinel request added after a step is handed out after anything
that step released.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.cache import Cache
from controller_runtime.client import Client
from controller_runtime.clock import FakeClock
from controller_runtime.controller import (
    Controller,
    ControllerOptions,
    EnqueueRequestForObject,
    Kind,
    ReconcileError,
    Request,
    Result,
    TerminalError,
)
from controller_runtime.envtest import eventually
from controller_runtime.workqueue import PriorityInterface

HANG = object()


class Script:
    """Per object name, what each successive reconcile does (then: success)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.plans: dict[str, list[object]] = {
            "err": [ReconcileError("try again"), ReconcileError("still not"), None],
            "term": [ReconcileError("first a plain error"), TerminalError("cannot be fixed")],
            "boom": [KeyError("bug")],
            "later": [Result(requeue_after=30)],
            "again": [Result(requeue=True)],
            "slow": [HANG],
        }

    async def reconcile(self, request: Request) -> Result:
        n = self.calls[request.name]
        self.calls[request.name] += 1
        plan = self.plans.get(request.name, [])
        step = plan[n] if n < len(plan) else None
        if step is HANG:
            await asyncio.Event().wait()  # never returns: the reconciliation timeout ends it
        if isinstance(step, BaseException):
            raise step
        return step if isinstance(step, Result) else Result()


@dataclass
class Harness:
    kube: Client
    namespace: str
    script: Script
    controller: Controller
    clock: FakeClock
    registry: CollectorRegistry
    sentinels: int = 0

    @property
    def queue(self) -> PriorityInterface[Request]:
        assert self.controller.queue is not None
        return self.controller.queue

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, {"controller": "results", **labels})
        return value or 0.0

    def total(self, result: str) -> float:
        return self.sample("controller_runtime_reconcile_total", result=result)

    async def create(self, name: str) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap"}
        await self.kube.create({**cm, "metadata": {"name": name, "namespace": self.namespace}})

    async def called(self, name: str, times: int) -> None:
        await eventually(lambda: self.script.calls[name], lambda n: n >= times, timeout=30)
        assert self.script.calls[name] == times

    async def settle(self) -> None:
        """Returns once everything queued before it has been reconciled."""
        self.sentinels += 1
        name = f"sentinel-{self.sentinels}"
        self.queue.add(Request(self.namespace, name))
        await self.called(name, 1)


@pytest_asyncio.fixture(loop_scope="session")
async def harness(kube: Client, namespace: str) -> AsyncIterator[Harness]:
    registry = CollectorRegistry()
    clock = FakeClock()
    cache = Cache(kube, namespace=namespace)
    script = Script()
    controller = Controller(
        "results",
        script,
        ControllerOptions(max_concurrent_reconciles=1, reconciliation_timeout=0.5),
        registry=registry,
        clock=clock,
    )
    controller.watch(Kind(cache, "v1", "ConfigMap", EnqueueRequestForObject()))
    await cache.start()
    task = asyncio.create_task(controller.start())
    await eventually(lambda: controller.queue is not None and cache.informers, timeout=30)
    h = Harness(kube, namespace, script, controller, clock, registry)
    await h.settle()  # sources synced, initial ConfigMaps (kube-root-ca.crt) handled
    try:
        yield h
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await cache.stop()


async def test_success_forgets_the_request(harness: Harness) -> None:
    h = harness
    base = h.total("success")
    await h.create("ok")
    await h.called("ok", 1)
    assert h.total("success") == base + 1
    assert h.queue.num_requeues(Request(h.namespace, "ok")) == 0


async def test_error_requeues_rate_limited_and_success_then_forgets(harness: Harness) -> None:
    h = harness
    err = Request(h.namespace, "err")
    await h.create("err")
    await h.called("err", 1)
    assert (h.total("error"), h.sample("controller_runtime_reconcile_errors_total")) == (1, 1)
    assert h.queue.num_requeues(err) == 1
    h.clock.step(0.005)  # the first retry comes after 5 ms...
    await h.called("err", 2)
    assert h.queue.num_requeues(err) == 2
    h.clock.step(0.005)
    await h.settle()
    assert h.script.calls["err"] == 2  # ...the second only after 10 ms
    h.clock.step(0.005)
    await h.called("err", 3)
    await h.settle()
    assert h.queue.num_requeues(err) == 0


async def test_terminal_error_is_counted_and_neither_requeued_nor_forgotten(
    harness: Harness,
) -> None:
    h = harness
    term = Request(h.namespace, "term")
    await h.create("term")
    await h.called("term", 1)
    h.clock.step(0.005)
    await h.called("term", 2)  # this time a terminal error
    assert h.sample("controller_runtime_terminal_reconcile_errors_total") == 1
    assert h.total("error") == 2
    h.clock.step(3600)
    await h.settle()
    assert h.script.calls["term"] == 2
    assert h.queue.num_requeues(term) == 1  # the earlier failure is still counted


async def test_panic_is_recovered_counted_and_retried_like_an_error(harness: Harness) -> None:
    h = harness
    await h.create("boom")
    await h.called("boom", 1)
    assert h.sample("controller_runtime_reconcile_panics_total") == 1
    assert h.total("error") == 1
    h.clock.step(0.005)
    await h.called("boom", 2)


async def test_requeue_after_forgets_and_requeues_after_exactly_the_delay(
    harness: Harness,
) -> None:
    h = harness
    await h.create("later")
    await h.called("later", 1)
    assert h.total("requeue_after") == 1
    assert h.queue.num_requeues(Request(h.namespace, "later")) == 0
    h.clock.step(29.9)
    await h.settle()
    assert h.script.calls["later"] == 1
    h.clock.step(0.2)
    await h.called("later", 2)


async def test_requeue_is_rate_limited_and_counted_as_requeue(harness: Harness) -> None:
    h = harness
    again = Request(h.namespace, "again")
    await h.create("again")
    await h.called("again", 1)
    assert h.total("requeue") == 1
    assert h.total("error") == 0
    assert h.queue.num_requeues(again) == 1
    h.clock.step(0.005)
    await h.called("again", 2)


async def test_reconciliation_timeout_cuts_the_reconcile_and_retries(harness: Harness) -> None:
    h = harness
    await h.create("slow")
    await h.called("slow", 1)
    await eventually(lambda: h.sample("controller_runtime_reconcile_timeouts_total"), timeout=10)
    assert h.total("error") == 1
    h.clock.step(0.005)
    await h.called("slow", 2)


async def test_histogram_gauges_and_queue_metrics_agree_with_the_reconciles(
    harness: Harness,
) -> None:
    h = harness
    for name in ("ok", "err"):
        await h.create(name)
    await h.called("err", 1)
    h.clock.step(0.005)
    await h.called("err", 2)
    await h.settle()
    calls = sum(h.script.calls.values())
    assert h.sample("controller_runtime_reconcile_time_seconds_count") == calls
    assert h.sample("controller_runtime_max_concurrent_reconciles") == 1
    assert h.sample("controller_runtime_active_workers") == 0
    labels = {"name": "results", "controller": "results"}
    assert not h.registry.get_sample_value("workqueue_depth", {**labels, "priority": "0"})
    assert h.registry.get_sample_value("workqueue_retries_total", labels) == 2  # err x2
