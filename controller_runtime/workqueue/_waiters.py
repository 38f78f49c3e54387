"""A condition variable without a mutex, for state owned by one event loop.

Why not ``asyncio.Condition``: its ``notify`` must be called with the lock held,
and the lock can only be taken by awaiting. ``Queue.add`` has to be a plain call
(informer event handlers are synchronous), so it could never notify. It does
not need the lock either: the event loop runs one callback or coroutine step at
a time, so a method that never awaits already executes atomically with respect
to every other user of the queue. The loop is the mutex; what remains of a
condition variable is the FIFO of parked coroutines, which is this class.

Usage follows the condition-variable pattern: re-check the predicate after
every wake-up (another coroutine may have taken the item first)::

    while not predicate():
        await waiters.wait()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["Waiters"]


class Waiters:
    """FIFO of coroutines parked in :meth:`wait`; ``notify_*`` are plain calls."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        # Futures of parked coroutines, oldest first. A future leaves the deque
        # when it is notified, or when its waiter is cancelled before that.
        self._futures: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._futures)

    async def wait(self) -> None:
        """Park until notified. Spurious returns are allowed; re-check after."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._futures.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Notified, then cancelled before resuming: hand the wake-up on
                # so that it is not lost (an item would sit with a waiter idle).
                self.notify_one()
            else:
                with contextlib.suppress(ValueError):
                    self._futures.remove(future)
            raise

    def notify_one(self) -> None:
        """Wake the longest-parked waiter, if any."""
        futures = self._futures
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_result(None)
                return

    def notify_all(self) -> None:
        """Wake every parked waiter."""
        futures = self._futures
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_result(None)
