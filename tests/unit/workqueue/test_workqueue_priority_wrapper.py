"""PriorityQueueWrapper: the plain rate-limiting queue through the priority interface."""

from __future__ import annotations

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    ItemExponentialFailureRateLimiter,
    PriorityInterface,
    PriorityQueueWrapper,
    RateLimitingQueue,
)
from tests.unit.workqueue.wq_helpers import within


@pytest.fixture
def queue(clock: FakeClock) -> PriorityQueueWrapper[str]:
    limiter = ItemExponentialFailureRateLimiter[str](1.0, 100.0)
    return PriorityQueueWrapper(RateLimitingQueue(rate_limiter=limiter, clock=clock))


def test_satisfies_the_priority_interface(queue: PriorityQueueWrapper[str]) -> None:
    typed: PriorityInterface[str] = queue  # checked by mypy
    assert typed is queue


async def test_items_come_out_with_priority_zero_in_fifo_order(
    queue: PriorityQueueWrapper[str],
) -> None:
    queue.add_with_opts("low", priority=-100)
    queue.add_with_opts("high", priority=10)
    queue.add("plain")
    got = [await within(queue.get_with_priority()) for _ in range(3)]
    assert got == [("low", 0, False), ("high", 0, False), ("plain", 0, False)]


async def test_after_delays_the_item(queue: PriorityQueueWrapper[str], clock: FakeClock) -> None:
    queue.add_with_opts("a", after=5.0)
    assert queue.len() == 0
    clock.step(5.0)
    assert await within(queue.get_with_priority()) == ("a", 0, False)


async def test_rate_limited_wins_over_after(
    queue: PriorityQueueWrapper[str], clock: FakeClock
) -> None:
    queue.add_with_opts("a", after=50.0, rate_limited=True)  # limiter: 1 s for a first failure
    assert queue.num_requeues("a") == 1
    clock.step(1.0)
    assert await within(queue.get_with_priority()) == ("a", 0, False)
    queue.done("a")
    queue.forget("a")
    assert queue.num_requeues("a") == 0


async def test_several_items_in_one_call(queue: PriorityQueueWrapper[str]) -> None:
    queue.add_with_opts("a", "b")
    assert len(queue) == 2


async def test_shutdown_is_reported_with_priority_zero(queue: PriorityQueueWrapper[str]) -> None:
    queue.shut_down()
    assert queue.shutting_down()
    assert await within(queue.get_with_priority()) == (None, 0, True)
