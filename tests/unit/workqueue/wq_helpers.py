"""Helpers shared by the workqueue tests.

Nothing here sleeps for time: delays run on a FakeClock, "still blocked" is
checked after letting every ready callback of the loop run (yielding, not
sleeping), and anything expected to happen is awaited with a timeout, so a bug
fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

R = TypeVar("R")

# The `spawn` fixture: starts a task that is cancelled at teardown if still running.
Spawn = Callable[..., "asyncio.Task[Any]"]

# Generous: only reached when the code under test is broken.
TIMEOUT = 2.0


async def within(awaitable: Awaitable[R]) -> R:
    """Await with a timeout that only a broken queue reaches (no hanging tests)."""
    return await asyncio.wait_for(awaitable, TIMEOUT)


async def settle() -> None:
    """Run every callback and task step that is ready; no time passes."""
    for _ in range(20):
        await asyncio.sleep(0)
