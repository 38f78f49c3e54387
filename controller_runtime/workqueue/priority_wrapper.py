"""The plain rate-limiting queue seen through the priority interface (controller-runtime's
``priorityQueueWrapper``), so a controller has one queue type whatever queue it runs on.

Priorities are accepted and dropped: every item is handed out with priority 0, in the plain
queue's FIFO order. ``rate_limited`` wins over ``after`` (the plain queue cannot take the
minimum of the two the way the priority queue does).
"""

from __future__ import annotations

from typing import Generic

from controller_runtime.workqueue.interfaces import (
    GetResult,
    GetWithPriorityResult,
    RateLimitingInterface,
    T,
)

__all__ = ["PriorityQueueWrapper"]


class PriorityQueueWrapper(Generic[T]):
    """Implements ``PriorityInterface[T]`` on top of any ``RateLimitingInterface[T]``."""

    def __init__(self, queue: RateLimitingInterface[T]) -> None:
        self.queue = queue

    def add_with_opts(
        self,
        *items: T,
        after: float = 0.0,
        rate_limited: bool = False,
        priority: int | None = None,
    ) -> None:
        """Adds each item rate-limited, after a delay, or at once, in that order of
        precedence; ``priority`` is ignored."""
        for item in items:
            if rate_limited:
                self.queue.add_rate_limited(item)
            elif after > 0:
                self.queue.add_after(item, after)
            else:
                self.queue.add(item)

    async def get_with_priority(self) -> GetWithPriorityResult[T]:
        """``(item, 0, False)``, or ``(None, 0, True)`` once shut down."""
        item, shutdown = await self.queue.get()
        if item is None or shutdown:
            return None, 0, True
        return item, 0, False

    # --- the rest delegates -------------------------------------------------------------------

    def add(self, item: T) -> None:
        self.queue.add(item)

    def add_after(self, item: T, seconds: float) -> None:
        self.queue.add_after(item, seconds)

    def add_rate_limited(self, item: T) -> None:
        self.queue.add_rate_limited(item)

    def forget(self, item: T) -> None:
        self.queue.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.queue.num_requeues(item)

    async def get(self) -> GetResult[T]:
        return await self.queue.get()

    def done(self, item: T) -> None:
        self.queue.done(item)

    def len(self) -> int:
        return self.queue.len()

    def __len__(self) -> int:
        return self.queue.len()

    def shut_down(self) -> None:
        self.queue.shut_down()

    async def shut_down_with_drain(self) -> None:
        await self.queue.shut_down_with_drain()

    def shutting_down(self) -> bool:
        return self.queue.shutting_down()
