"""The work queue: fair, stingy, with two shutdown modes (client-go's ``Typed``).

* Fair: items are handed out in the order they were added.
* Stingy: an item is never handed to two workers at once, and adds of an item
  that is already waiting collapse into one.
* Multiple producers and consumers; an item re-added while being processed is
  processed again after ``done``.
* Shutdown: ``get`` reports it once no queued item is left.

All state is owned by the event loop the queue is used on; see
``controller_runtime.workqueue._waiters`` for why plain (non-async) methods need
no lock and how they wake ``get``.
"""

from __future__ import annotations

from collections import deque
from typing import Generic

from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.workqueue._waiters import Waiters
from controller_runtime.workqueue.interfaces import GetResult, T
from controller_runtime.workqueue.metrics import MetricsProvider, QueueMetrics

__all__ = ["Queue"]


class Queue(Generic[T]):
    """A FIFO work queue of hashable items; implements ``Interface[T]``.

    ``name`` labels the queue's metrics; an unnamed queue records none.
    """

    def __init__(
        self,
        *,
        name: str = "",
        metrics_provider: MetricsProvider | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        provider = MetricsProvider() if metrics_provider is None else metrics_provider
        self._metrics: QueueMetrics[T] = provider.queue_metrics(name, self._clock)

        # The order in which items are handed out. Every item in _queue is in
        # _dirty and not in _processing, and appears in _queue once.
        self._queue: deque[T] = deque()
        # Every item that needs processing: the queued ones, plus items re-added
        # while being processed (those are in _processing too, not in _queue).
        self._dirty: set[T] = set()
        # Items handed out by get() whose done() has not been called. An item in
        # here may also be in _dirty, never in _queue.
        self._processing: set[T] = set()

        # Once True it stays True: adds are ignored, get() drains _queue and
        # then reports shutdown.
        self._shutting_down = False
        # True while shut_down_with_drain() waits for _processing to empty;
        # shut_down() sets it False to end that wait.
        self._drain = False

        # Coroutines in get() waiting for _queue to be non-empty (or shutdown).
        # Every push to _queue wakes one, shutdown wakes all.
        self._getters = Waiters()
        # Coroutines in shut_down_with_drain(); woken when _processing empties
        # and on shut_down().
        self._drainers = Waiters()

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing.

        Ignored while shutting down. If ``item`` is already dirty (queued, or
        re-added while being processed) the call is a no-op and records no
        metric. If it is being processed it is only marked dirty; ``done``
        queues it again. Otherwise it joins the back of the queue.
        """
        if self._shutting_down or item in self._dirty:
            return
        self._metrics.add(item)
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._getters.notify_one()

    def len(self) -> int:
        """Number of queued items; items being processed are not counted."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    async def get(self) -> GetResult[T]:
        """Wait for the item at the front and mark it as being processed.

        Returns ``(item, False)``; the caller must call :meth:`done` with it.
        After shutdown the queued items are still handed out; once none is
        left every call returns ``(None, True)`` at once. Returns without
        suspending when an item is available.
        """
        while not self._queue:
            if self._shutting_down:
                return None, True
            await self._getters.wait()
        item = self._queue.popleft()
        self._metrics.get(item)
        self._processing.add(item)
        self._dirty.discard(item)
        return item, False

    def done(self, item: T) -> None:
        """Mark ``item`` as processed; if it was re-added meanwhile it is queued again.

        Works during shutdown too (drained items are still finished). Calling
        it for an item that is not being processed does nothing (client-go
        would queue a dirty item a second time).
        """
        if item not in self._processing:
            return
        self._metrics.done(item)
        self._processing.remove(item)
        if item in self._dirty:
            self._queue.append(item)
            self._getters.notify_one()
        if not self._processing:
            self._drainers.notify_all()

    def shut_down(self) -> None:
        """Stop accepting items and wake all getters; does not wait for workers.

        Queued items are still handed out by ``get``. Ends a pending
        :meth:`shut_down_with_drain` wait. Idempotent.
        """
        self._drain = False
        self._shutting_down = True
        self._getters.notify_all()
        self._drainers.notify_all()

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until no item is being processed.

        Waits for the in-flight items only, not for queued ones. A later
        :meth:`shut_down` ends the wait; it never ends if a worker never calls
        ``done``.
        """
        self._drain = True
        self._shutting_down = True
        self._getters.notify_all()
        while self._processing and self._drain:
            await self._drainers.wait()

    def shutting_down(self) -> bool:
        return self._shutting_down
