"""Fixtures for the workqueue tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import MetricsProvider

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def provider(registry: CollectorRegistry) -> MetricsProvider:
    return MetricsProvider(registry)


@pytest.fixture
async def spawn() -> AsyncIterator[Spawn]:
    """Start background tasks; whatever is still running is cancelled at teardown."""
    tasks: list[asyncio.Task[Any]] = []

    def start(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
