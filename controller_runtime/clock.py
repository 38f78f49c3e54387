"""The runtime's one source of time: a real clock on the event loop and one fake for tests.

Every component that reads the time, waits or schedules a callback does it through a
:class:`Clock` (client-go does the same with k8s.io/utils/clock), so a test that injects
:class:`FakeClock` controls every delay, expiry, backoff and metric duration exactly,
without sleeping.

Two timelines, never mixed:

- ``monotonic()`` seconds (floats) for every duration, deadline, expiry and timer; it never
  jumps, so a wall-clock step cannot expire a lease, refill a token bucket or fire a timer.
- ``wall()`` / ``wall_ns()`` only to stamp things other processes read (Lease times, Event
  names and timestamps, certificates). Nothing is ever timed by subtracting wall readings.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["REAL_CLOCK", "Clock", "FakeClock", "RealClock", "TimerHandle"]


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic and wall time, sleeping, and callbacks at a monotonic deadline."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (the timeline of ``call_at`` and ``sleep``)."""
        ...

    def wall(self) -> datetime:
        """The current UTC time, timezone-aware."""
        ...

    def wall_ns(self) -> int:
        """Nanoseconds since the Unix epoch (the same instant as ``wall()``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on ``monotonic()``; ``<= 0`` only yields."""
        ...

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` once ``monotonic() >= when``, on the event loop thread."""
        ...


class RealClock:
    """The running event loop's clock.

    ``monotonic()`` is ``loop.time()`` so that readings agree with ``loop.call_at``
    deadlines (they differ from ``time.monotonic()`` on some loops, e.g. uvloop caches the
    time per iteration). Outside a running loop (a metrics scrape from the HTTP server
    thread, a recorder called from another thread) it falls back to ``time.monotonic()``,
    which is the same clock on the standard loop.
    """

    __slots__ = ()

    def monotonic(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def wall_ns(self) -> int:
        return time.time_ns()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(when, callback)


REAL_CLOCK: Clock = RealClock()
"""The default for every component that takes a ``clock`` (it is stateless, so one is enough)."""


class _FakeTimer:
    __slots__ = ("_cancelled", "callback", "sleeper", "when")

    def __init__(
        self,
        when: float,
        callback: Callable[[], object],
        sleeper: asyncio.Future[None] | None = None,
    ) -> None:
        self.when = when
        self.callback = callback
        # For a sleep(): once its future is done (woken or the sleeping task cancelled) the
        # timer is dead at once, before the sleeping coroutine gets to run again.
        self.sleeper = sleeper
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled or (self.sleeper is not None and self.sleeper.done())


class FakeClock:
    """A clock that only moves when told to (:meth:`step`, :meth:`set_time`).

    Timers fire synchronously inside a step, in deadline order (ties in scheduling order),
    with ``monotonic()`` equal to each timer's deadline while its callback runs. A callback
    may schedule further timers; those that fall within the step fire in the same step.
    ``sleep()`` is a timer that resolves a future: the sleeping coroutine (and anything a
    callback woke) runs when the caller next yields to the loop.

    Wall time moves with monotonic time from ``wall_start``. The monotonic start is not zero
    by default, as on a real machine, so code that treats 0 as "never" is exercised.
    """

    __slots__ = ("_now", "_seq", "_start", "_timers", "_wall_start", "_wall_start_ns")

    def __init__(
        self, start: float = 1000.0, wall_start: datetime = datetime(2030, 1, 1, tzinfo=UTC)
    ) -> None:
        if wall_start.tzinfo is None:
            raise ValueError("wall_start must be timezone-aware")
        self._start = start
        self._now = start
        self._wall_start = wall_start
        delta = wall_start - datetime(1970, 1, 1, tzinfo=UTC)
        self._wall_start_ns = (
            delta.days * 86_400 + delta.seconds
        ) * 10**9 + delta.microseconds * 1000
        # Min-heap of (deadline, sequence, timer); cancelled timers are skipped lazily when
        # they reach the top.
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = 0

    # --- Clock -------------------------------------------------------------------------------

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall_start + timedelta(seconds=self._now - self._start)

    def wall_ns(self) -> int:
        return self._wall_start_ns + round((self._now - self._start) * 1e9)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        self._push(_FakeTimer(self._now + seconds, wake, future))
        await future

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _FakeTimer(when, callback)
        self._push(timer)
        return timer

    # --- moving time -------------------------------------------------------------------------

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` (>= 0), firing every timer that comes due."""
        if seconds < 0:
            raise ValueError(f"cannot step a clock backwards ({seconds} s)")
        self.set_time(self._now + seconds)

    def set_time(self, target: float) -> None:
        """Move monotonic time forward to ``target``, firing every timer that comes due.

        Useful for exact boundaries: ``set_time(t0 + d)`` reaches a deadline computed as
        ``t0 + d`` exactly, where repeated ``step`` calls may not (float sums).
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

    # --- inspection --------------------------------------------------------------------------

    def pending_timers(self) -> int:
        """Timers (``call_at`` and ``sleep``) scheduled and not yet fired or cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """Deadline of the earliest pending timer, if any."""
        live = [when for when, _, timer in self._timers if not timer.cancelled]
        return min(live) if live else None

    def _push(self, timer: _FakeTimer) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (timer.when, self._seq, timer))
