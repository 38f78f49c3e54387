"""Controller start-up rules that need no API server."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.controller import Controller, ControllerOptions, Request, Result
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
