"""Controller start-up rules that need no API server."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.controller import (
    Channel,
    Controller,
    ControllerOptions,
    EnqueueRequestForObject,
    Request,
    Result,
)
from controller_runtime.controller.handler import Queue


class NeverSyncs:
    def __init__(self) -> None:
        self.stopped = False

    async def start(self, queue: Queue) -> None:
        return None

    async def wait_for_sync(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stopped = True


class BlocksInStart(NeverSyncs):
    async def start(self, queue: Queue) -> None:
        await asyncio.Event().wait()  # should have started a task and returned


async def reconcile(request: Request) -> Result:
    return Result()


async def test_sources_must_sync_within_the_timeout() -> None:
    source = NeverSyncs()
    controller = Controller(
        "slow", reconcile, ControllerOptions(cache_sync_timeout=0.2), registry=CollectorRegistry()
    )
    controller.watch(source)
    with pytest.raises(TimeoutError, match="failed to wait for slow caches to sync"):
        await controller.start()
    assert source.stopped  # what started is cleaned up
    with pytest.raises(RuntimeError, match=r"started more than once.*added to a manager multiple"):
        await controller.start()
    with pytest.raises(RuntimeError, match="started controller"):
        controller.watch(NeverSyncs())


async def test_a_source_whose_start_blocks_is_named_with_the_fix() -> None:
    controller = Controller(
        "blocked",
        reconcile,
        ControllerOptions(cache_sync_timeout=0.2),
        registry=CollectorRegistry(),
    )
    controller.watch(BlocksInStart())
    with pytest.raises(
        TimeoutError, match=r"to Start\. Please ensure that its start\(\) method is non-blocking"
    ):
        await controller.start()


def test_names_are_unique_per_registry() -> None:
    registry = CollectorRegistry()
    Controller("dup", reconcile, registry=registry)
    with pytest.raises(ValueError, match='controller with name "dup" already exists'):
        Controller("dup", reconcile, registry=registry)
    Controller("dup", reconcile, ControllerOptions(skip_name_validation=True), registry=registry)
    Controller("dup", reconcile, registry=CollectorRegistry())  # another registry, another scope
    with pytest.raises(ValueError, match="at least 1"):
        Controller("zero", reconcile, ControllerOptions(max_concurrent_reconciles=0))


async def test_each_reconcile_logs_with_its_request_and_a_fresh_reconcile_id() -> None:
    seen: dict[str, dict[str, object]] = {}
    both = asyncio.Event()

    async def record(request: Request) -> Result:
        seen[request.name] = structlog.contextvars.get_contextvars()
        if len(seen) == 2:
            both.set()
        return Result()

    source = Channel(EnqueueRequestForObject())
    controller = Controller(
        "logged",
        record,
        ControllerOptions(max_concurrent_reconciles=2),
        group_kind=("apps", "Deployment"),
        registry=CollectorRegistry(),
    )
    controller.watch(source)
    for name in ("a", "b"):
        source.send({"metadata": {"name": name, "namespace": "ns"}})
    task = asyncio.create_task(controller.start())
    try:
        await asyncio.wait_for(both.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    for name in ("a", "b"):
        assert {
            k: seen[name][k] for k in ("controller", "controllerKind", "namespace", "name")
        } == {
            "controller": "logged",
            "controllerKind": "Deployment",
            "namespace": "ns",
            "name": name,
        }
    assert seen["a"]["reconcile_id"] != seen["b"]["reconcile_id"]
