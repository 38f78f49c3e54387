"""A work queue that can add an item after a delay (client-go's delaying queue)."""

from __future__ import annotations

import heapq

from controller_runtime.clock import Clock
from controller_runtime.workqueue._alarm import Alarm
from controller_runtime.workqueue.interfaces import T
from controller_runtime.workqueue.metrics import MetricsProvider
from controller_runtime.workqueue.queue import Queue

__all__ = ["DelayingQueue"]

# A heap entry: (ready time, insertion sequence, item). The sequence is unique,
# so items themselves are never compared.
_Entry = tuple[float, int, T]


class DelayingQueue(Queue[T]):
    """A :class:`Queue` with :meth:`add_after`; implements ``DelayingInterface[T]``.

    Delayed items live outside the queue (not dirty) until their time comes,
    then go through :meth:`add`, so the usual de-duplication applies at that
    moment. One clock timer, armed for the earliest entry, moves them.
    """

    def __init__(
        self,
        *,
        name: str = "",
        metrics_provider: MetricsProvider | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name=name, metrics_provider=metrics_provider, clock=clock)
        # Items waiting for their time, each mapped to its live heap entry.
        self._waiting: dict[T, _Entry[T]] = {}
        # Min-heap by ready time. Holds the live entry of every key of _waiting
        # plus stale entries (superseded by an earlier time), skipped when they
        # surface and purged when they outnumber the live ones.
        self._heap: list[_Entry[T]] = []
        self._seq = 0
        # Armed for the head of _heap whenever _waiting is non-empty.
        self._alarm = Alarm(self._clock, self._on_alarm)

    def add_after(self, item: T, seconds: float) -> None:
        """Add ``item`` once ``seconds`` have passed.

        Ignored while shutting down. Counts a retry on every other call, even
        with no delay. ``seconds <= 0`` adds at once. If ``item`` is already
        waiting, only an earlier ready time replaces the pending one.
        """
        if self._shutting_down:
            return
        self._metrics.retry()
        if seconds <= 0:
            self.add(item)
            return
        ready_at = self._clock.monotonic() + seconds
        pending = self._waiting.get(item)
        if pending is not None and pending[0] <= ready_at:
            return
        self._seq += 1
        entry = (ready_at, self._seq, item)
        self._waiting[item] = entry
        heapq.heappush(self._heap, entry)
        if len(self._heap) > 2 * len(self._waiting) + 64:
            self._heap = list(self._waiting.values())
            heapq.heapify(self._heap)
        self._alarm.request(ready_at)

    def shut_down(self) -> None:
        """As :meth:`Queue.shut_down`; items still waiting for their time are dropped."""
        self._drop_waiting()
        super().shut_down()

    async def shut_down_with_drain(self) -> None:
        """As :meth:`Queue.shut_down_with_drain`; waiting items are dropped."""
        self._drop_waiting()
        await super().shut_down_with_drain()

    def _drop_waiting(self) -> None:
        self._alarm.cancel()
        self._waiting.clear()
        self._heap.clear()

    def _on_alarm(self, deadline: float) -> None:
        heap = self._heap
        waiting = self._waiting
        while heap and heap[0][0] <= deadline:
            entry = heapq.heappop(heap)
            item = entry[2]
            if waiting.get(item) is entry:
                del waiting[item]
                self.add(item)
        while heap and waiting.get(heap[0][2]) is not heap[0]:
            heapq.heappop(heap)
        if heap:
            self._alarm.request(heap[0][0])
