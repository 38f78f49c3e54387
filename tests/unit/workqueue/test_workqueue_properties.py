"""Property-based tests: random interleavings of add / add_after / add_rate_limited
/ get / done / clock steps / shut_down across concurrent workers.

Each worker is a real task that calls ``get`` and ``done`` only when the
generated program says so, so hypothesis controls the interleaving. A reference
model of the documented semantics runs alongside and is checked at every hand-out:

* a key is never held by two workers at once;
* only a key the model says is available is handed out, and (FIFO queue) in
  FIFO order, (priority queue) with the highest available priority;
* an idle worker blocked in ``get`` is always woken when something is available
  or on shutdown (checked by waiting for the system to settle, with a timeout);
* at the end, every key added before shutdown was handed out after its last add
  (nothing lost), and every worker sees shutdown.

Time only moves through the fake clock. Runs derandomized for CI.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    LOW_PRIORITY,
    ItemExponentialFailureRateLimiter,
    PriorityQueue,
    RateLimitingQueue,
)

WORKERS = 3
KEYS = st.integers(0, 5)
DELAYS = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.5])
STEPS = st.sampled_from([0.25, 0.5, 1.0, 3.0])
PRIORITIES = st.sampled_from([LOW_PRIORITY, 0, 1, 2])
WORKER_IDS = st.integers(0, WORKERS - 1)

OPS = st.one_of(
    st.tuples(st.just("add"), KEYS, PRIORITIES),
    st.tuples(st.just("add_after"), KEYS, DELAYS, PRIORITIES),
    st.tuples(st.just("add_rate_limited"), KEYS),
    st.tuples(st.just("get"), WORKER_IDS),
    st.tuples(st.just("done"), WORKER_IDS),
    st.tuples(st.just("step"), STEPS),
)
PROGRAMS = st.tuples(st.lists(OPS, min_size=10, max_size=80), st.none() | st.integers(0, 80))

SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def limiter() -> ItemExponentialFailureRateLimiter[int]:
    return ItemExponentialFailureRateLimiter(0.25, 2.0)


class FifoModel:
    """client-go semantics: dirty / processing / FIFO order, delays, drain on shutdown."""

    def __init__(self) -> None:
        self.order: deque[int] = deque()
        self.dirty: set[int] = set()
        self.processing: set[int] = set()
        self.waiting: dict[int, tuple[float, int]] = {}
        self.seq = 0
        self.shutdown = False
        self.limiter = limiter()

    def add(self, key: int, priority: int = 0) -> None:
        if self.shutdown or key in self.dirty:
            return
        self.dirty.add(key)
        if key not in self.processing:
            self.order.append(key)

    def add_after(self, key: int, delay: float, now: float, priority: int = 0) -> None:
        if self.shutdown:
            return
        if delay <= 0:
            self.add(key)
            return
        ready = now + delay
        if key in self.waiting and self.waiting[key][0] <= ready:
            return
        self.seq += 1
        self.waiting[key] = (ready, self.seq)

    def add_rate_limited(self, key: int, now: float) -> None:
        self.add_after(key, self.limiter.when(key), now)

    def advance(self, now: float) -> None:
        due = sorted((t, key) for key, t in self.waiting.items() if t[0] <= now)
        for _, key in due:
            del self.waiting[key]
            self.add(key)

    def available(self) -> bool:
        return bool(self.order)

    def hand_out(self, key: int, priority: int) -> None:
        assert self.order, f"{key} handed out while nothing was queued"
        expected = self.order.popleft()
        assert key == expected, f"FIFO broken: got {key}, expected {expected}"
        self.dirty.remove(key)
        self.processing.add(key)

    def done(self, key: int) -> None:
        self.processing.remove(key)
        if key in self.dirty:
            self.order.append(key)

    def shut_down(self) -> None:
        self.shutdown = True
        self.waiting.clear()

    def pending(self) -> bool:
        return bool(self.order or self.waiting or self.processing)


class PriorityModel:
    """controller-runtime priority queue: one entry per key, max priority, min ready time."""

    def __init__(self) -> None:
        # key -> [priority, ready_at or None]
        self.items: dict[int, list[Any]] = {}
        self.locked: set[int] = set()
        self.shutdown = False
        self.limiter = limiter()

    def add(self, key: int, priority: int = 0) -> None:
        self.add_after(key, 0.0, 0.0, priority)

    def add_after(self, key: int, delay: float, now: float, priority: int = 0) -> None:
        if self.shutdown:
            return
        ready = now + delay if delay > 0 else None
        entry = self.items.get(key)
        if entry is None:
            self.items[key] = [priority, ready]
            return
        entry[0] = max(entry[0], priority)
        if entry[1] is not None:
            entry[1] = None if ready is None else min(entry[1], ready)

    def add_rate_limited(self, key: int, now: float) -> None:
        self.add_after(key, self.limiter.when(key), now)

    def advance(self, now: float) -> None:
        for entry in self.items.values():
            if entry[1] is not None and entry[1] <= now:
                entry[1] = None

    def _ready_unlocked(self) -> dict[int, int]:
        return {k: e[0] for k, e in self.items.items() if e[1] is None and k not in self.locked}

    def available(self) -> bool:
        return not self.shutdown and bool(self._ready_unlocked())

    def hand_out(self, key: int, priority: int) -> None:
        assert not self.shutdown, f"{key} handed out after shutdown"
        ready = self._ready_unlocked()
        assert key in ready, f"{key} handed out but not available ({self.items}, {self.locked})"
        assert priority == ready[key], f"{key}: priority {priority}, expected {ready[key]}"
        assert priority == max(ready.values()), f"{key} ({priority}) before a higher priority"
        del self.items[key]
        self.locked.add(key)

    def done(self, key: int) -> None:
        self.locked.remove(key)

    def shut_down(self) -> None:
        self.shutdown = True

    def pending(self) -> bool:
        return bool(self.items or self.locked)


@dataclass
class Worker:
    ident: int
    state: str = "idle"  # idle | getting | holding | exited
    item: int | None = None
    permit: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class Harness:
    queue: Any
    model: Any
    clock: FakeClock
    priority: bool
    workers: list[Worker] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    event: int = 0
    last_add: dict[int, int] = field(default_factory=dict)
    last_handout: dict[int, int] = field(default_factory=dict)

    def start(self) -> None:
        for i in range(WORKERS):
            worker = Worker(i)
            worker.task = asyncio.ensure_future(self.run(worker))
            worker.task.add_done_callback(lambda _: self.changed.set())
            self.workers.append(worker)

    async def run(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        while True:
            worker.state, worker.permit = "idle", loop.create_future()
            self.changed.set()
            await worker.permit
            worker.state = "getting"
            self.changed.set()
            if self.priority:
                item, priority, shutdown = await self.queue.get_with_priority()
            else:
                (item, shutdown), priority = await self.queue.get(), 0
            if shutdown:
                assert self.model.shutdown, "shutdown reported before shut_down()"
                assert not self.model.available(), "shutdown reported with items queued"
                worker.state = "exited"
                self.changed.set()
                return
            held = {w.item for w in self.workers if w.state == "holding"}
            assert item not in held, f"{item} handed to two workers at once"
            self.model.hand_out(item, priority)
            self.event += 1
            self.last_handout[item] = self.event
            worker.item, worker.state, worker.permit = item, "holding", loop.create_future()
            self.changed.set()
            await worker.permit
            self.model.done(item)
            self.queue.done(item)
            worker.item = None

    def grant(self, worker: Worker, state: str) -> None:
        if worker.state == state and worker.permit is not None and not worker.permit.done():
            worker.permit.set_result(None)

    def settled(self) -> bool:
        for w in self.workers:
            if w.permit is None:
                return False  # not started yet
            if w.state in ("idle", "holding") and w.permit is not None and w.permit.done():
                return False  # granted, has not moved yet
            if w.state == "getting" and (self.model.shutdown or self.model.available()):
                return False  # must be handed an item or the shutdown
        return True

    def raise_worker_failure(self) -> None:
        for w in self.workers:
            if w.task is not None and w.task.done() and not w.task.cancelled():
                error = w.task.exception()
                if error is not None:
                    raise error

    async def settle(self) -> None:
        """Wait until every worker has reacted; only a lost wake-up times out."""
        self.raise_worker_failure()
        while not self.settled():
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 1.0)
                self.raise_worker_failure()
            except TimeoutError:
                raise AssertionError(
                    f"stuck: workers {[(w.state, w.item) for w in self.workers]}"
                ) from None

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        self.event += 1
        now = self.clock.monotonic()
        if kind in ("add", "add_after", "add_rate_limited") and not self.model.shutdown:
            self.last_add[op[1]] = self.event
        if kind == "add":
            if self.priority:
                self.queue.add_with_opts(op[1], priority=op[2])
            else:
                self.queue.add(op[1])
            self.model.add(op[1], op[2])
        elif kind == "add_after":
            if self.priority:
                self.queue.add_with_opts(op[1], after=op[2], priority=op[3])
            else:
                self.queue.add_after(op[1], op[2])
            self.model.add_after(op[1], op[2], now, op[3])
        elif kind == "add_rate_limited":
            self.queue.add_rate_limited(op[1])
            self.model.add_rate_limited(op[1], now)
        elif kind == "get":
            self.grant(self.workers[op[1]], "idle")
        elif kind == "done":
            self.grant(self.workers[op[1]], "holding")
        elif kind == "step":
            self.clock.step(op[1])
            self.model.advance(self.clock.monotonic())
        elif kind == "shut_down":
            self.queue.shut_down()
            self.model.shut_down()

    async def finish(self) -> None:
        """Let everything pending run out, then check nothing added was lost."""
        for _ in range(500):
            if not self.model.pending() and all(
                w.state in ("idle", "getting", "exited") for w in self.workers
            ):
                break
            for w in self.workers:
                self.grant(w, "holding")
                self.grant(w, "idle")
            self.clock.step(3.0)
            self.model.advance(self.clock.monotonic())
            await self.settle()
        if not self.model.shutdown:
            assert not self.model.pending(), "items left over"
            for key, added in self.last_add.items():
                assert self.last_handout.get(key, -1) > added, f"add of {key} was lost"
        self.queue.shut_down()
        self.model.shut_down()
        for w in self.workers:
            self.grant(w, "holding")
            self.grant(w, "idle")
        await self.settle()
        for w in self.workers:
            self.grant(w, "idle")
            self.grant(w, "holding")
        tasks = [w.task for w in self.workers if w.task is not None]
        await asyncio.wait_for(asyncio.gather(*tasks), 2.0)
        assert all(w.state == "exited" for w in self.workers)


async def run_program(priority: bool, ops: list[tuple[Any, ...]], shutdown_at: int | None) -> None:
    clock = FakeClock()
    queue: Any
    if priority:
        queue = PriorityQueue[int](rate_limiter=limiter(), clock=clock)
        model: Any = PriorityModel()
    else:
        queue = RateLimitingQueue[int](rate_limiter=limiter(), clock=clock)
        model = FifoModel()
    harness = Harness(queue, model, clock, priority)
    harness.start()
    try:
        await harness.settle()
        for index, op in enumerate(ops):
            if index == shutdown_at:
                harness.apply(("shut_down",))
                await harness.settle()
            harness.apply(op)
            await harness.settle()
        await harness.finish()
    finally:
        for w in harness.workers:
            if w.task is not None:
                w.task.cancel()
        await asyncio.gather(
            *(w.task for w in harness.workers if w.task is not None), return_exceptions=True
        )


@SETTINGS
@given(program=PROGRAMS)
async def test_rate_limiting_queue_invariants(program: tuple[list[Any], int | None]) -> None:
    await run_program(False, *program)


@SETTINGS
@given(program=PROGRAMS)
async def test_priority_queue_invariants(program: tuple[list[Any], int | None]) -> None:
    await run_program(True, *program)
