"""controller-runtime's priority queue: one entry per key, highest priority first.

Ordering: ready items by priority (high first), then FIFO by an insertion counter.
Re-adding a key keeps the highest priority and the earliest ready time; raising
the priority moves the key to the end of its new band; a delayed key gets a new
counter when its time comes, so it queues behind keys that were ready earlier.
A key handed out by ``get`` is locked until ``done``; a re-add meanwhile creates
a new entry that waits, in place, until the key is unlocked.

Data structure: two binary heaps (``heapq``) with lazy deletion instead of the
B-trees of the Go original. Every change that reorders an entry (priority raise,
earlier ready time, becoming ready) pushes a fresh tuple and leaves the old one
behind; a tuple is live only while it matches the entry's current counter (and
ready time). Stale tuples are skipped when they surface and the heaps are
rebuilt when stale tuples outnumber live ones, so memory stays O(live entries)
and every operation is O(log n) amortised. Entries of locked keys are kept out of
the ready heap and pushed back (with their original counter, i.e. at their
original place) by ``done``, so ``get`` never scans past locked keys. heapq is
in the standard library; ``sortedcontainers`` would give the same complexity
with a larger constant and a new runtime dependency.
"""

from __future__ import annotations

import heapq
from typing import Final, Generic

from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.workqueue._alarm import Alarm
from controller_runtime.workqueue._waiters import Waiters
from controller_runtime.workqueue.interfaces import GetResult, GetWithPriorityResult, T
from controller_runtime.workqueue.metrics import MetricsProvider, QueueMetrics
from controller_runtime.workqueue.rate_limiters import (
    RateLimiter,
    default_priority_queue_rate_limiter,
)

__all__ = ["LOW_PRIORITY", "PriorityQueue"]

# Priority the event handlers give to events that do not represent a change: the
# informer's initial list and resyncs. They queue behind real changes.
LOW_PRIORITY: Final = -100

# Compact a heap once it holds more than this many tuples beyond twice the live ones.
_HEAP_SLACK = 64


class _Entry:
    """A key waiting to be handed out. ``ready_at`` is None once it is ready."""

    __slots__ = ("counter", "priority", "ready_at")

    def __init__(self, priority: int, counter: int, ready_at: float | None) -> None:
        self.priority = priority
        self.counter = counter
        self.ready_at = ready_at


class PriorityQueue(Generic[T]):
    """Implements ``PriorityInterface[T]``, hence also ``RateLimitingInterface[T]``.

    ``rate_limiter`` defaults to per-item exponential backoff 5 ms → 1000 s.
    Shutdown is immediate: ``get`` returns ``shutdown=True`` from then on even if
    items are ready, and ``shut_down_with_drain`` does not wait.
    """

    def __init__(
        self,
        *,
        name: str = "",
        rate_limiter: RateLimiter[T] | None = None,
        metrics_provider: MetricsProvider | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self.rate_limiter: RateLimiter[T] = (
            default_priority_queue_rate_limiter() if rate_limiter is None else rate_limiter
        )
        provider = MetricsProvider() if metrics_provider is None else metrics_provider
        self._metrics: QueueMetrics[T] = provider.queue_metrics(
            name, self._clock, with_priority=True
        )

        # One entry per key added and not handed out since. Counters are unique
        # and only grow; each entry's counter is its FIFO position.
        self._items: dict[T, _Entry] = {}
        self._counter = 0
        # (-priority, counter, key) for every ready entry whose key is not
        # locked, plus stale tuples (counter no longer the entry's).
        self._ready: list[tuple[int, int, T]] = []
        # (ready_at, -priority, counter, key) for every waiting entry, plus
        # stale tuples (ready_at or counter no longer the entry's).
        self._waiting: list[tuple[float, int, int, T]] = []
        # Entries by state; _num_ready includes entries of locked keys.
        self._num_ready = 0
        self._num_waiting = 0
        # Keys handed out by get and not yet done. A locked key's ready entry
        # (re-added while processing) is kept out of _ready until done.
        self._locked: set[T] = set()

        self._shutting_down = False
        # Coroutines in get waiting for a ready, unlocked entry or shutdown.
        # Every push to _ready wakes one; shutdown wakes all.
        self._getters = Waiters()
        # Armed for the head of _waiting whenever a waiting entry exists.
        self._alarm = Alarm(self._clock, self._on_alarm)

    # --- adding ---------------------------------------------------------------

    def add_with_opts(
        self,
        *items: T,
        after: float = 0.0,
        rate_limited: bool = False,
        priority: int | None = None,
    ) -> None:
        """Add ``items`` with a delay and a priority (None means 0).

        With ``rate_limited`` the delay is ``min(after, rate_limiter.when(item))``,
        or the limiter's alone when ``after`` is 0. Each item added with a
        positive delay counts a retry. Ignored while shutting down.
        """
        if self._shutting_down:
            return
        new_priority = 0 if priority is None else priority
        for key in items:
            delay = after
            if rate_limited:
                limited = self.rate_limiter.when(key)
                if delay == 0 or limited < delay:
                    delay = limited
            ready_at: float | None = None
            if delay > 0:
                ready_at = self._clock.monotonic() + delay
                self._metrics.retry()
            entry = self._items.get(key)
            if entry is None:
                self._add_new(key, new_priority, ready_at)
            else:
                self._update(key, entry, new_priority, ready_at)

    def add(self, item: T) -> None:
        # add_with_opts(item), without its generality: the hot path of event handlers.
        if self._shutting_down:
            return
        entry = self._items.get(item)
        if entry is None:
            self._add_new(item, 0, None)
        elif entry.ready_at is not None or entry.priority < 0:
            self._update(item, entry, 0, None)

    def add_after(self, item: T, seconds: float) -> None:
        self.add_with_opts(item, after=seconds)

    def add_rate_limited(self, item: T) -> None:
        self.add_with_opts(item, rate_limited=True)

    def _add_new(self, key: T, priority: int, ready_at: float | None) -> None:
        self._counter += 1
        entry = _Entry(priority, self._counter, ready_at)
        self._items[key] = entry
        if ready_at is None:
            self._num_ready += 1
            self._metrics.add(key, priority)
            self._push_ready(key, entry)
        else:
            self._num_waiting += 1
            self._push_waiting(key, entry)

    def _update(self, key: T, entry: _Entry, new_priority: int, ready_at: float | None) -> None:
        was_ready = entry.ready_at is None
        if was_ready and new_priority <= entry.priority:
            return  # nothing to change: the common duplicate add
        # The earliest ready time wins; a ready entry stays ready.
        if was_ready:
            ready_at = None
        elif ready_at is not None and entry.ready_at is not None and entry.ready_at < ready_at:
            ready_at = entry.ready_at
        priority, counter = entry.priority, entry.counter
        if new_priority > priority:
            if was_ready:
                self._metrics.change_priority(priority, new_priority)
            # End of the new band.
            priority = new_priority
            self._counter += 1
            counter = self._counter
        if (priority, counter, ready_at) == (entry.priority, entry.counter, entry.ready_at):
            return
        entry.priority, entry.counter, entry.ready_at = priority, counter, ready_at
        if ready_at is not None:
            self._push_waiting(key, entry)
            return
        if not was_ready:
            # Ready now; unless its priority rose, it keeps the counter of its
            # first add (controller-runtime does the same), i.e. its old place.
            self._num_waiting -= 1
            self._num_ready += 1
            self._metrics.add(key, priority)
        self._push_ready(key, entry)

    def _push_ready(self, key: T, entry: _Entry) -> None:
        if key in self._locked:
            return  # done(key) pushes it
        heapq.heappush(self._ready, (-entry.priority, entry.counter, key))
        if len(self._ready) > 2 * self._num_ready + _HEAP_SLACK:
            self._ready = [
                (-e.priority, e.counter, k)
                for k, e in self._items.items()
                if e.ready_at is None and k not in self._locked
            ]
            heapq.heapify(self._ready)
        self._getters.notify_one()

    def _push_waiting(self, key: T, entry: _Entry) -> None:
        assert entry.ready_at is not None
        heapq.heappush(self._waiting, (entry.ready_at, -entry.priority, entry.counter, key))
        if len(self._waiting) > 2 * self._num_waiting + _HEAP_SLACK:
            self._waiting = [
                (e.ready_at, -e.priority, e.counter, k)
                for k, e in self._items.items()
                if e.ready_at is not None
            ]
            heapq.heapify(self._waiting)
        self._alarm.request(entry.ready_at)

    def _on_alarm(self, deadline: float) -> None:
        waiting = self._waiting
        while waiting and waiting[0][0] <= deadline:
            ready_at, _, counter, key = heapq.heappop(waiting)
            entry = self._items.get(key)
            if entry is None or entry.counter != counter or entry.ready_at != ready_at:
                continue  # stale
            # Sorted by when it became ready, not by when it was added.
            self._counter += 1
            entry.counter = self._counter
            entry.ready_at = None
            self._num_waiting -= 1
            self._num_ready += 1
            self._metrics.add(key, entry.priority)
            self._push_ready(key, entry)
        while waiting and not self._is_live_waiting(waiting[0]):
            heapq.heappop(waiting)
        if waiting:
            self._alarm.request(waiting[0][0])

    def _is_live_waiting(self, head: tuple[float, int, int, T]) -> bool:
        entry = self._items.get(head[3])
        return entry is not None and entry.counter == head[2] and entry.ready_at == head[0]

    # --- handing out ----------------------------------------------------------

    async def get_with_priority(self) -> GetWithPriorityResult[T]:
        """Wait for the highest-priority ready item whose key is not locked.

        Returns ``(item, priority, False)`` and locks ``item`` until
        :meth:`done`; ``(None, 0, True)`` once shut down.
        """
        while not self._shutting_down:
            ready = self._ready
            while ready:
                _, counter, key = heapq.heappop(ready)
                entry = self._items.get(key)
                if entry is None or entry.counter != counter:
                    continue  # stale
                del self._items[key]
                self._num_ready -= 1
                self._locked.add(key)
                self._metrics.get(key, entry.priority)
                return key, entry.priority, False
            await self._getters.wait()
        return None, 0, True

    async def get(self) -> GetResult[T]:
        result = await self.get_with_priority()
        if result[2]:
            return None, True
        return result[0], False

    def done(self, item: T) -> None:
        """Unlock ``item``; an entry added for it meanwhile becomes available."""
        if item not in self._locked:
            return
        self._locked.remove(item)
        self._metrics.done(item)
        entry = self._items.get(item)
        if entry is not None and entry.ready_at is None:
            self._push_ready(item, entry)

    # --- the rest -------------------------------------------------------------

    def forget(self, item: T) -> None:
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    def len(self) -> int:
        """Ready items, including ones re-added while their key is locked; not
        items still waiting for their time."""
        return self._num_ready

    def __len__(self) -> int:
        return self._num_ready

    def shut_down(self) -> None:
        """Stop at once: adds are ignored, every ``get`` returns shutdown."""
        self._shutting_down = True
        self._alarm.cancel()
        self._getters.notify_all()

    async def shut_down_with_drain(self) -> None:
        """The same as :meth:`shut_down` (controller-runtime never drains)."""
        self.shut_down()

    def shutting_down(self) -> bool:
        return self._shutting_down
