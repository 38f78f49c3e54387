"""Delaying queue and rate-limiting queue (client-go's delaying_queue.go and
rate_limiting_queue.go), on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    RateLimitingQueue,
)
from tests.unit.workqueue.wq_helpers import Spawn, settle, within


@pytest.fixture
def queue(clock: FakeClock) -> DelayingQueue[str]:
    return DelayingQueue(clock=clock)


async def test_item_is_added_when_its_delay_has_passed(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    t0 = clock.monotonic()
    queue.add_after("a", 1.0)
    assert len(queue) == 0
    clock.set_time(t0 + 0.999)
    assert len(queue) == 0
    clock.set_time(t0 + 1.0)
    assert len(queue) == 1
    assert await within(queue.get()) == ("a", False)


async def test_delayed_item_wakes_a_blocked_getter(
    queue: DelayingQueue[str], clock: FakeClock, spawn: Spawn
) -> None:
    getter = spawn(queue.get())
    queue.add_after("a", 5.0)
    await settle()
    assert not getter.done()
    clock.step(5.0)
    assert await within(getter) == ("a", False)


@pytest.mark.parametrize("delay", [0.0, -1.0])
async def test_non_positive_delay_adds_at_once(queue: DelayingQueue[str], delay: float) -> None:
    queue.add_after("a", delay)
    assert len(queue) == 1


async def test_delayed_items_come_in_ready_time_order(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    queue.add_after("c", 3.0)
    queue.add_after("a", 1.0)
    queue.add_after("b", 2.0)
    clock.step(10.0)
    assert [(await within(queue.get()))[0] for _ in range(3)] == ["a", "b", "c"]


async def test_earlier_ready_time_replaces_a_pending_one(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 10.0)
    queue.add_after("a", 5.0)
    clock.step(5.0)
    assert len(queue) == 1


async def test_later_ready_time_is_ignored(queue: DelayingQueue[str], clock: FakeClock) -> None:
    queue.add_after("a", 5.0)
    queue.add_after("a", 10.0)
    clock.step(5.0)
    assert await within(queue.get()) == ("a", False)
    queue.done("a")
    clock.step(10.0)
    assert len(queue) == 0, "the later request was dropped, not kept as a second entry"


async def test_immediate_add_while_waiting_is_deduplicated_if_still_queued(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 1.0)
    queue.add("a")  # the delayed entry is not dirty: queued at once
    assert len(queue) == 1
    clock.step(1.0)  # still queued when the timer fires: collapses
    assert len(queue) == 1
    assert await within(queue.get()) == ("a", False)
    assert len(queue) == 0


async def test_item_due_while_processing_is_processed_again(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    queue.add_after("a", 1.0)
    queue.add("a")
    assert await within(queue.get()) == ("a", False)
    clock.step(1.0)  # due while "a" is processing: only marked dirty
    assert len(queue) == 0
    queue.done("a")
    assert await within(queue.get()) == ("a", False)


async def test_shutdown_drops_waiting_items(queue: DelayingQueue[str], clock: FakeClock) -> None:
    queue.add_after("a", 1.0)
    queue.add("b")
    queue.shut_down()
    assert clock.pending_timers() == 0
    clock.step(2.0)
    assert await within(queue.get()) == ("b", False)
    assert await within(queue.get()) == (None, True)


async def test_drain_drops_waiting_items(queue: DelayingQueue[str], clock: FakeClock) -> None:
    queue.add_after("a", 1.0)
    await within(queue.shut_down_with_drain())
    clock.step(2.0)
    assert await within(queue.get()) == (None, True)


async def test_add_after_during_shutdown_is_ignored(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    queue.shut_down()
    queue.add_after("a", 0.0)
    queue.add_after("b", 1.0)
    clock.step(1.0)
    assert len(queue) == 0
    assert clock.pending_timers() == 0


async def test_one_timer_for_many_waiting_items(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    for i in range(100):
        queue.add_after(f"k{i}", 1.0 + i)
    assert clock.pending_timers() == 1
    assert clock.next_deadline() == clock.monotonic() + 1.0
    queue.add_after("early", 0.5)
    assert clock.pending_timers() == 1
    assert clock.next_deadline() == clock.monotonic() + 0.5


async def test_superseded_entries_do_not_accumulate(
    queue: DelayingQueue[str], clock: FakeClock
) -> None:
    for i in range(10_000):
        queue.add_after("a", 10_000.0 - i)
    assert len(queue._heap) <= 2 * len(queue._waiting) + 65
    clock.step(1.0)
    assert len(queue) == 1
    clock.step(20_000.0)
    assert len(queue) == 1


async def test_real_clock_delays_use_the_event_loop() -> None:
    queue: DelayingQueue[str] = DelayingQueue()
    loop = asyncio.get_running_loop()
    start = loop.time()
    queue.add_after("a", 0.02)
    assert await within(queue.get()) == ("a", False)
    assert loop.time() - start >= 0.02
    queue.shut_down()


# --- rate-limiting queue ---------------------------------------------------------


@pytest.fixture
def rl_queue(clock: FakeClock) -> RateLimitingQueue[str]:
    return RateLimitingQueue(
        rate_limiter=ItemExponentialFailureRateLimiter(0.005, 1000.0), clock=clock
    )


async def test_add_rate_limited_waits_the_limiters_delay(
    rl_queue: RateLimitingQueue[str], clock: FakeClock
) -> None:
    t0 = clock.monotonic()
    rl_queue.add_rate_limited("a")
    clock.set_time(t0 + 0.004)
    assert len(rl_queue) == 0
    clock.set_time(t0 + 0.005)
    assert await within(rl_queue.get()) == ("a", False)
    rl_queue.done("a")
    t1 = clock.monotonic()
    rl_queue.add_rate_limited("a")  # second failure: 10 ms
    clock.set_time(t1 + 0.009)
    assert len(rl_queue) == 0
    clock.set_time(t1 + 0.01)
    assert len(rl_queue) == 1
    assert rl_queue.num_requeues("a") == 2


async def test_forget_resets_the_backoff_but_not_processing(
    rl_queue: RateLimitingQueue[str], clock: FakeClock, spawn: Spawn
) -> None:
    for _ in range(3):
        rl_queue.add_rate_limited("a")
    assert rl_queue.num_requeues("a") == 3
    clock.step(1.0)
    assert await within(rl_queue.get()) == ("a", False)
    rl_queue.forget("a")
    assert rl_queue.num_requeues("a") == 0
    rl_queue.add("a")
    getter = spawn(rl_queue.get())
    await settle()
    assert not getter.done(), "forget does not end processing; done is still required"
    rl_queue.done("a")
    assert await within(getter) == ("a", False)


async def test_default_rate_limiter_is_the_controller_default(clock: FakeClock) -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    t0 = clock.monotonic()
    for i in range(100):  # exponential 5 ms; bucket burst of 100 absorbs these
        queue.add_rate_limited(f"k{i}")
    queue.add_rate_limited("k100")  # 101st token in the same instant: 0.1 s
    clock.set_time(t0 + 0.005)
    assert len(queue) == 100
    clock.set_time(t0 + 0.099)
    assert len(queue) == 100
    clock.set_time(t0 + 0.1)
    assert len(queue) == 101
