"""Time for the workqueue: a real clock on the event loop and a fake one for tests.

All times are monotonic seconds as floats. Queues and rate limiters never read the
time any other way, so a test that injects :class:`FakeClock` controls every delay
and every metric duration exactly, without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock", "TimerHandle"]


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """A monotonic time source that can also run a callback at a given time."""

    def now(self) -> float:
        """Current monotonic time in seconds."""
        ...

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` once ``now() >= when``; it runs on the event loop thread."""
        ...


class RealClock:
    """The running event loop's clock.

    ``now()`` is ``loop.time()`` so that readings agree with ``loop.call_at``
    deadlines (they differ from ``time.monotonic()`` on some loops, e.g. uvloop
    caches the time per iteration). Outside a running loop (a metrics scrape from
    the HTTP server thread) it falls back to ``time.monotonic()``, which is the
    same clock on the standard loop.
    """

    __slots__ = ()

    def now(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(when, callback)


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that only moves when told to.

    Timers fire synchronously inside :meth:`step`, in deadline order (ties in
    scheduling order), with ``now()`` equal to each timer's deadline while its
    callback runs. A callback may schedule further timers; those that fall
    within the step fire in the same step. Coroutines woken by a callback run
    when the caller next awaits.
    """

    __slots__ = ("_now", "_seq", "_timers")

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        # Min-heap of (deadline, sequence, timer); cancelled timers are skipped
        # lazily when they reach the top.
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = 0

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _FakeTimer(when, callback)
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, timer))
        return timer

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` (>= 0), firing every timer that comes due."""
        if seconds < 0:
            raise ValueError(f"cannot step a clock backwards ({seconds} s)")
        self.set_time(self._now + seconds)

    def set_time(self, target: float) -> None:
        """Move time forward to ``target``, firing every timer that comes due.

        Useful for exact boundaries: ``set_time(t0 + d)`` reaches a deadline
        computed as ``t0 + d`` exactly, where repeated ``step`` calls may not
        (float sums).
        """
        if target < self._now:
            raise ValueError(f"cannot move a clock backwards ({self._now} -> {target})")
        timers = self._timers
        while timers and timers[0][0] <= target:
            when, _, timer = heapq.heappop(timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
        self._now = target

    def pending_timers(self) -> int:
        """Number of timers scheduled and not yet fired or cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """Deadline of the earliest pending timer, if any."""
        live = [when for when, _, timer in self._timers if not timer.cancelled]
        return min(live) if live else None
