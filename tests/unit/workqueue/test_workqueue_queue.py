"""Queue state machine: client-go's queue.go semantics of add, get, done, shut_down,
shut_down_with_drain and len, plus the fair / stingy / wake-up guarantees."""

from __future__ import annotations

import asyncio

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    DelayingInterface,
    DelayingQueue,
    Interface,
    PriorityInterface,
    PriorityQueue,
    Queue,
    RateLimitingInterface,
    RateLimitingQueue,
)
from tests.unit.workqueue.wq_helpers import Spawn, settle, within


@pytest.fixture
def queue(clock: FakeClock) -> Queue[str]:
    return Queue(clock=clock)


async def test_get_returns_added_item(queue: Queue[str]) -> None:
    queue.add("a")
    assert await within(queue.get()) == ("a", False)


async def test_items_are_handed_out_in_add_order(queue: Queue[str]) -> None:
    for key in "abcde":
        queue.add(key)
    got = [(await within(queue.get()))[0] for _ in range(5)]
    assert got == list("abcde")


async def test_repeated_adds_before_get_collapse_into_one(queue: Queue[str]) -> None:
    queue.add("a")
    queue.add("b")
    queue.add("a")
    queue.add("a")
    assert len(queue) == 2
    assert await within(queue.get()) == ("a", False)
    assert await within(queue.get()) == ("b", False)
    assert queue.len() == 0


async def test_readd_after_get_queues_again_at_the_back(queue: Queue[str]) -> None:
    queue.add("a")
    queue.add("b")
    await within(queue.get())  # a is processing
    queue.done("a")
    queue.add("a")
    assert [(await within(queue.get()))[0] for _ in range(2)] == ["b", "a"]


async def test_add_during_processing_only_marks_dirty(queue: Queue[str], spawn: Spawn) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add("a")
    assert len(queue) == 0  # not pushed while processing

    second = spawn(queue.get())
    await settle()
    assert not second.done(), "a key being processed must not be handed out again"

    queue.done("a")
    assert await within(second) == ("a", False)


async def test_adds_during_processing_collapse(queue: Queue[str]) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add("a")
    queue.add("a")
    queue.done("a")
    assert len(queue) == 1
    assert await within(queue.get()) == ("a", False)
    queue.done("a")
    assert len(queue) == 0


async def test_done_without_readd_does_not_requeue(queue: Queue[str]) -> None:
    queue.add("a")
    await within(queue.get())
    queue.done("a")
    assert len(queue) == 0


async def test_done_for_item_not_processing_is_a_noop(queue: Queue[str]) -> None:
    queue.add("a")
    queue.done("a")  # queued, not processing: must not queue a duplicate
    queue.done("zzz")
    assert len(queue) == 1


async def test_get_blocks_until_an_item_is_added(queue: Queue[str], spawn: Spawn) -> None:
    getter = spawn(queue.get())
    await settle()
    assert not getter.done()
    queue.add("a")
    assert await within(getter) == ("a", False)


async def test_sync_add_from_loop_callback_wakes_getter(queue: Queue[str], spawn: Spawn) -> None:
    # Informer event handlers are plain callbacks on the loop, not coroutines.
    getter = spawn(queue.get())
    await settle()
    asyncio.get_running_loop().call_soon(queue.add, "from-callback")
    assert await within(getter) == ("from-callback", False)


async def test_each_add_wakes_one_of_several_getters(queue: Queue[str], spawn: Spawn) -> None:
    getters = [spawn(queue.get()) for _ in range(3)]
    await settle()
    queue.add("a")
    queue.add("b")
    await settle()
    done = [g for g in getters if g.done()]
    assert sorted(g.result()[0] for g in done) == ["a", "b"]
    queue.add("c")
    assert await within(asyncio.gather(*getters)) is not None


async def test_cancelled_getter_passes_its_wakeup_on(queue: Queue[str], spawn: Spawn) -> None:
    first = spawn(queue.get())
    second = spawn(queue.get())
    await settle()
    queue.add("a")  # wakes `first`
    first.cancel()  # ...which is cancelled before it can run
    assert await within(second) == ("a", False)
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_cancelled_getters_do_not_accumulate(queue: Queue[str], spawn: Spawn) -> None:
    for _ in range(10):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(queue.get(), 0)
    assert len(queue._getters) == 0
    queue.add("a")
    assert await within(queue.get()) == ("a", False)


async def test_len_counts_only_queued_items(queue: Queue[str]) -> None:
    queue.add("a")
    queue.add("b")
    await within(queue.get())  # a processing
    queue.add("a")  # dirty while processing
    assert len(queue) == 1 == queue.len()


async def test_add_after_shutdown_is_ignored(queue: Queue[str]) -> None:
    queue.shut_down()
    queue.add("a")
    assert len(queue) == 0
    assert queue.shutting_down()
    assert await within(queue.get()) == (None, True)


async def test_get_hands_out_queued_items_after_shutdown(queue: Queue[str]) -> None:
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    assert await within(queue.get()) == ("a", False)
    assert await within(queue.get()) == ("b", False)
    assert await within(queue.get()) == (None, True)
    assert await within(queue.get()) == (None, True)


async def test_readded_in_flight_item_is_handed_out_after_shutdown(queue: Queue[str]) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add("a")
    queue.shut_down()
    queue.add("b")  # ignored
    queue.done("a")
    assert await within(queue.get()) == ("a", False)
    assert await within(queue.get()) == (None, True)


async def test_shut_down_wakes_every_blocked_getter(queue: Queue[str], spawn: Spawn) -> None:
    getters = [spawn(queue.get()) for _ in range(4)]
    await settle()
    queue.shut_down()
    assert await within(asyncio.gather(*getters)) == [(None, True)] * 4


async def test_shut_down_does_not_wait_for_in_flight_items(queue: Queue[str]) -> None:
    queue.add("a")
    await within(queue.get())
    queue.shut_down()  # a plain call: returns although "a" is not done
    assert queue.shutting_down()
    queue.done("a")


async def test_drain_waits_for_in_flight_items(queue: Queue[str], spawn: Spawn) -> None:
    for key in "abc":
        queue.add(key)
    await within(queue.get())
    await within(queue.get())
    drain = spawn(queue.shut_down_with_drain())
    await settle()
    assert not drain.done()
    assert queue.shutting_down()
    queue.add("d")  # ignored while draining
    queue.done("a")
    await settle()
    assert not drain.done()
    queue.done("b")
    await within(drain)
    # Queued items are not waited for, but are still handed out.
    assert await within(queue.get()) == ("c", False)
    assert await within(queue.get()) == (None, True)


async def test_drain_wakes_blocked_getters(queue: Queue[str], spawn: Spawn) -> None:
    queue.add("a")
    await within(queue.get())
    getter = spawn(queue.get())
    drain = spawn(queue.shut_down_with_drain())
    assert await within(getter) == (None, True)
    queue.done("a")
    await within(drain)


async def test_drain_with_nothing_in_flight_returns_at_once(queue: Queue[str]) -> None:
    queue.add("a")
    await within(queue.shut_down_with_drain())
    assert await within(queue.get()) == ("a", False)


async def test_drain_ends_when_readded_item_is_requeued(queue: Queue[str], spawn: Spawn) -> None:
    queue.add("a")
    await within(queue.get())
    queue.add("a")
    drain = spawn(queue.shut_down_with_drain())
    await settle()
    queue.done("a")  # requeued; nothing in flight any more
    await within(drain)
    assert await within(queue.get()) == ("a", False)


async def test_shut_down_ends_a_drain_wait(queue: Queue[str], spawn: Spawn) -> None:
    queue.add("a")
    await within(queue.get())
    drain = spawn(queue.shut_down_with_drain())
    await settle()
    assert not drain.done()
    queue.shut_down()
    await within(drain)  # "a" is still not done
    queue.done("a")


async def test_concurrent_workers_never_hold_the_same_key(clock: FakeClock) -> None:
    queue: Queue[int] = Queue(clock=clock)
    held: set[int] = set()
    handled: list[int] = []
    overlaps: list[int] = []

    async def worker() -> None:
        while True:
            item, shutdown = await queue.get()
            if shutdown:
                return
            assert item is not None
            if item in held:
                overlaps.append(item)
            held.add(item)
            await asyncio.sleep(0)  # a reconcile that awaits
            if item >= 3:
                queue.add(item % 3)  # re-add a hot key, possibly one in flight
            held.discard(item)
            handled.append(item)
            queue.done(item)

    workers = [asyncio.ensure_future(worker()) for _ in range(8)]
    for i in range(300):
        queue.add(i % 20)
        if i % 7 == 0:
            await asyncio.sleep(0)
    await settle()
    await within(queue.shut_down_with_drain())
    await within(asyncio.gather(*workers))
    assert overlaps == []
    assert set(range(20)) <= set(handled)


async def test_rate_limiting_queue_has_the_queue_semantics(clock: FakeClock) -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    queue.add("a")
    queue.add("a")
    assert await within(queue.get()) == ("a", False)
    queue.add("a")
    assert len(queue) == 0
    queue.done("a")
    assert len(queue) == 1


def test_queues_implement_the_interfaces() -> None:
    # Checked by mypy (structural typing); the asserts only keep the names used.
    fifo: Interface[str] = Queue()
    delaying: DelayingInterface[str] = DelayingQueue()
    limited: RateLimitingInterface[str] = RateLimitingQueue()
    priority: PriorityInterface[str] = PriorityQueue()
    as_limited: RateLimitingInterface[str] = priority  # usable wherever the FIFO one is
    assert all(q.len() == 0 for q in (fifo, delaying, limited, priority, as_limited))
