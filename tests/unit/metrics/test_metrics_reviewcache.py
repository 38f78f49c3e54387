"""The review cache: TTL, size bound, coalescing, failures not cached."""

from __future__ import annotations

import asyncio

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.metrics.reviewcache import ReviewCache


class Loader:
    """Counts loads; each load waits for `release` so tests control when it finishes."""

    def __init__(self, value: str = "v", error: Exception | None = None) -> None:
        self.calls = 0
        self.value = value
        self.error = error
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> str:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def test_answers_are_served_until_the_ttl_expires() -> None:
    clock = FakeClock(start=100.0)
    cache: ReviewCache[str, str] = ReviewCache(ttl=10, clock=clock)
    load = Loader()
    assert await cache.get_or_load("k", load) == "v"
    clock.step(9.9)
    assert await cache.get_or_load("k", load) == "v"
    assert load.calls == 1
    clock.step(0.1)
    assert await cache.get_or_load("k", load) == "v"
    assert load.calls == 2


async def test_falsy_answers_are_cached_too() -> None:
    cache: ReviewCache[str, None] = ReviewCache(ttl=10)
    calls = 0

    async def load() -> None:
        nonlocal calls
        calls += 1

    for _ in range(2):
        await cache.get_or_load("k", load)
    assert calls == 1
    assert cache.get("k") == (None,)


async def test_size_is_bounded_oldest_first() -> None:
    cache: ReviewCache[int, int] = ReviewCache(ttl=10, max_size=3)
    for i in range(5):
        cache.put(i, i)
    assert len(cache) == 3
    assert cache.get(0) is None
    assert cache.get(1) is None
    assert cache.get(4) == (4,)


async def test_zero_ttl_caches_nothing() -> None:
    cache: ReviewCache[str, str] = ReviewCache(ttl=0)
    load = Loader()
    await cache.get_or_load("k", load)
    await cache.get_or_load("k", load)
    assert load.calls == 2


async def test_concurrent_lookups_share_one_load() -> None:
    cache: ReviewCache[str, str] = ReviewCache(ttl=10)
    load = Loader()
    load.release.clear()
    waiters = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(10)]
    # One yield runs every ready task once (asyncio runs ready callbacks FIFO), so all waiters
    # are parked on the shared load before it is released: scheduling order, not timing.
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiters) == ["v"] * 10
    assert load.calls == 1


async def test_failures_reach_every_waiter_and_are_not_cached() -> None:
    cache: ReviewCache[str, str] = ReviewCache(ttl=10)
    load = Loader(error=RuntimeError("api down"))
    load.release.clear()
    waiters = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert load.calls == 1
    load.error = None
    assert await cache.get_or_load("k", load) == "v"
    assert load.calls == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_load() -> None:
    cache: ReviewCache[str, str] = ReviewCache(ttl=10)
    load = Loader()
    load.release.clear()
    first = asyncio.ensure_future(cache.get_or_load("k", load))
    second = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    load.release.set()
    assert await second == "v"
    assert cache.get("k") == ("v",)
    assert load.calls == 1


def test_rejects_a_useless_size() -> None:
    with pytest.raises(ValueError, match="max_size"):
        ReviewCache(ttl=1, max_size=0)
