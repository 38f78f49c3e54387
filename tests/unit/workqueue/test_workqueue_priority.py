"""Priority queue (controller-runtime's priorityqueue): ordering, de-duplication, locking,
delays, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    LOW_PRIORITY,
    ItemExponentialFailureRateLimiter,
    PriorityQueue,
)
from tests.unit.workqueue.wq_helpers import Spawn, settle, within


@pytest.fixture
def queue(clock: FakeClock) -> PriorityQueue[str]:
    return PriorityQueue(clock=clock)


async def drain_keys(queue: PriorityQueue[str], n: int) -> list[tuple[str | None, int]]:
    out = []
    for _ in range(n):
        item, priority, shutdown = await within(queue.get_with_priority())
        assert not shutdown
        out.append((item, priority))
    return out


async def test_returns_an_item_with_its_priority(queue: PriorityQueue[str]) -> None:
    queue.add("a")
    assert await within(queue.get_with_priority()) == ("a", 0, False)
    queue.add("b")
    assert await within(queue.get()) == ("b", False)


def test_low_priority_constant() -> None:
    assert LOW_PRIORITY == -100


async def test_fifo_within_a_priority(queue: PriorityQueue[str]) -> None:
    for key in "abcd":
        queue.add(key)
    assert [k for k, _ in await drain_keys(queue, 4)] == list("abcd")


async def test_higher_priority_first_then_fifo(queue: PriorityQueue[str]) -> None:
    queue.add_with_opts("low1", priority=LOW_PRIORITY)  # e.g. from the initial list
    queue.add("n1")
    queue.add_with_opts("high", priority=10)
    queue.add_with_opts("low2", priority=LOW_PRIORITY)
    queue.add("n2")
    assert await drain_keys(queue, 5) == [
        ("high", 10),
        ("n1", 0),
        ("n2", 0),
        ("low1", -100),
        ("low2", -100),
    ]


async def test_adds_with_several_items(queue: PriorityQueue[str]) -> None:
    queue.add_with_opts("a", "b", "c", priority=2)
    assert await drain_keys(queue, 3) == [("a", 2), ("b", 2), ("c", 2)]


async def test_deduplicates(queue: PriorityQueue[str]) -> None:
    queue.add("a")
    queue.add("a")
    queue.add_after("a", 0)
    assert len(queue) == 1
    assert await within(queue.get()) == ("a", False)
    assert len(queue) == 0


async def test_keeps_the_highest_priority(queue: PriorityQueue[str]) -> None:
    queue.add_with_opts("a", priority=1)
    queue.add_with_opts("a", priority=2)
    queue.add_with_opts("b", priority=2)
    queue.add_with_opts("b", priority=1)  # never lowered
    queue.add("b")
    assert await drain_keys(queue, 2) == [("a", 2), ("b", 2)]


async def test_raising_priority_moves_to_the_end_of_the_new_band(
    queue: PriorityQueue[str],
) -> None:
    queue.add_with_opts("a1", priority=1)
    queue.add("b")
    queue.add("c")
    queue.add_with_opts("a2", priority=1)
    queue.add_with_opts("c", priority=1)  # behind a1 and a2, ahead of b
    assert [k for k, _ in await drain_keys(queue, 4)] == ["a1", "a2", "c", "b"]


async def test_readding_at_the_same_priority_keeps_the_place(queue: PriorityQueue[str]) -> None:
    for key in "abc":
        queue.add(key)
    queue.add("a")
    queue.add_with_opts("b", priority=0)
    assert [k for k, _ in await drain_keys(queue, 3)] == list("abc")


async def test_keeps_the_earliest_ready_time(queue: PriorityQueue[str], clock: FakeClock) -> None:
    queue.add("a")
    queue.add_after("a", 3600.0)  # ready wins over later
    assert len(queue) == 1
    t0 = clock.monotonic()
    queue.add_after("b", 3600.0)
    queue.add_after("b", 60.0)  # earlier wins
    queue.add_after("b", 120.0)  # later ignored
    clock.set_time(t0 + 59.0)
    assert len(queue) == 1
    clock.set_time(t0 + 60.0)
    assert len(queue) == 2


async def test_waiting_items_are_not_counted_by_len(
    queue: PriorityQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 60.0)
    queue.add("b")
    queue.add_after("c", 60.0)
    queue.add("d")
    assert len(queue) == 2 == queue.len()
    clock.step(60.0)
    assert len(queue) == 4


async def test_delayed_item_sorts_by_when_it_became_ready(
    queue: PriorityQueue[str], clock: FakeClock
) -> None:
    queue.add_after("early-added", 1.0)
    clock.step(0.5)
    queue.add("ready-first")
    clock.step(0.5)
    assert [k for k, _ in await drain_keys(queue, 2)] == ["ready-first", "early-added"]


async def test_ready_at_the_same_time_sorts_by_priority_then_fifo(
    queue: PriorityQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 1.0)
    queue.add_with_opts("b", after=1.0, priority=5)
    queue.add_after("c", 1.0)
    clock.step(1.0)
    assert [k for k, _ in await drain_keys(queue, 3)] == ["b", "a", "c"]


async def test_waiting_item_added_again_without_delay_keeps_its_first_counter(
    queue: PriorityQueue[str],
) -> None:
    # controller-runtime keeps the counter from the first add in this case, so
    # the item goes ahead of items added while it was waiting.
    queue.add_after("a", 10.0)
    queue.add("b")
    queue.add("a")
    assert [k for k, _ in await drain_keys(queue, 2)] == ["a", "b"]


async def test_raising_priority_of_a_waiting_item(
    queue: PriorityQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 1.0)
    queue.add_with_opts("a", after=5.0, priority=3)  # time stays 1 s, priority rises
    queue.add("b")
    clock.step(1.0)
    assert await drain_keys(queue, 2) == [("a", 3), ("b", 0)]


async def test_rate_limited_uses_the_smaller_delay(clock: FakeClock) -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(1.0, 100.0)
    queue: PriorityQueue[str] = PriorityQueue(rate_limiter=limiter, clock=clock)
    t0 = clock.monotonic()
    queue.add_with_opts("limiter-wins", after=10.0, rate_limited=True)  # 1 s < 10 s
    queue.add_with_opts("after-wins", after=0.5, rate_limited=True)  # 0.5 s < 1 s
    queue.add_with_opts("only-limiter", rate_limited=True)  # after 0: limiter's 1 s
    clock.set_time(t0 + 0.5)
    assert [k for k, _ in await drain_keys(queue, 1)] == ["after-wins"]
    clock.set_time(t0 + 1.0)
    assert len(queue) == 2
    assert queue.num_requeues("limiter-wins") == 1
    queue.forget("limiter-wins")
    assert queue.num_requeues("limiter-wins") == 0


async def test_default_rate_limiter_is_exponential_only(
    queue: PriorityQueue[str], clock: FakeClock
) -> None:
    t0 = clock.monotonic()
    for i in range(300):
        queue.add_rate_limited(f"k{i}")
    queue.add_rate_limited("k0")  # still waiting: the earlier time (5 ms) wins
    clock.set_time(t0 + 0.005)
    assert len(queue) == 300
    assert queue.num_requeues("k0") == 2


async def test_locked_key_is_skipped_until_done(queue: PriorityQueue[str], spawn: Spawn) -> None:
    queue.add_with_opts("a", priority=5)
    assert await within(queue.get()) == ("a", False)
    queue.add_with_opts("a", priority=5)  # re-added while processing
    queue.add("b")
    assert len(queue) == 2  # the locked key's entry is ready, and counted
    assert await within(queue.get()) == ("b", False)
    getter = spawn(queue.get_with_priority())
    await settle()
    assert not getter.done()
    queue.done("a")
    assert await within(getter) == ("a", 5, False)


async def test_unlocked_key_returns_to_its_place(queue: PriorityQueue[str]) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add("a")  # new entry, FIFO position now
    queue.add("b")
    queue.done("a")
    assert [k for k, _ in await drain_keys(queue, 2)] == ["a", "b"]


async def test_done_of_unknown_key_is_harmless(queue: PriorityQueue[str]) -> None:
    queue.done("nope")
    queue.add("a")
    queue.done("a")  # ready, not locked
    assert len(queue) == 1
    assert await within(queue.get()) == ("a", False)


async def test_blocked_getter_is_woken_by_add_and_by_delay(
    queue: PriorityQueue[str], clock: FakeClock, spawn: Spawn
) -> None:
    first = spawn(queue.get())
    second = spawn(queue.get())
    await settle()
    assert not first.done()
    asyncio.get_running_loop().call_soon(queue.add, "now")
    queue.add_after("later", 1.0)
    assert await within(first) == ("now", False)
    await settle()
    assert not second.done()
    clock.step(1.0)
    assert await within(second) == ("later", False)


async def test_shutdown_is_immediate(queue: PriorityQueue[str]) -> None:
    queue.add("in-flight")
    await within(queue.get())
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    assert queue.shutting_down()
    # Ready items are no longer handed out; adds are ignored.
    assert await within(queue.get_with_priority()) == (None, 0, True)
    assert await within(queue.get()) == (None, True)
    queue.add("c")
    assert len(queue) == 2
    queue.done("in-flight")


async def test_shutdown_releases_blocked_getters(queue: PriorityQueue[str], spawn: Spawn) -> None:
    getters = [spawn(queue.get_with_priority()) for _ in range(3)]
    await settle()
    queue.shut_down()
    assert await within(asyncio.gather(*getters)) == [(None, 0, True)] * 3


async def test_drain_does_not_wait(queue: PriorityQueue[str], clock: FakeClock) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add_after("b", 1.0)
    await within(queue.shut_down_with_drain())  # "a" is still in flight
    assert queue.shutting_down()
    assert clock.pending_timers() == 0
    queue.done("a")


async def test_stale_heap_entries_stay_bounded(queue: PriorityQueue[str]) -> None:
    for p in range(5000):
        queue.add_with_opts("a", priority=p)
    for i in range(5000):
        queue.add_after("w", 10_000.0 - i)
    assert len(queue._ready) <= 2 * 1 + 65
    assert len(queue._waiting) <= 2 * 1 + 65
    assert await within(queue.get_with_priority()) == ("a", 4999, False)
