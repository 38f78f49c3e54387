"""Time for leader election: monotonic seconds for expiry, wall time for the record, sleeps.

Expiry is only ever judged on `monotonic()` readings of this process (never by comparing the
record's timestamps, which another machine wrote); `wall()` only stamps acquireTime and
renewTime. The elector sleeps through `sleep()`, so a test that injects FakeClock drives every
retry and deadline without waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock"]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""
        ...

    def wall(self) -> datetime:
        """The current UTC time (timezone-aware)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only in advance(); sleepers wake when their deadline is reached.

    Wall time moves with monotonic time from `wall_start`; both start wherever the test wants.
    """

    def __init__(
        self, start: float = 1000.0, wall_start: datetime = datetime(2030, 1, 1, tzinfo=UTC)
    ) -> None:
        self._start = start
        self._now = start
        self._wall_start = wall_start
        # Min-heap of (deadline, sequence, future); done (e.g. cancelled) futures are skipped.
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall_start + timedelta(seconds=self._now - self._start)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._now + seconds, self._seq, future))
        await future

    def advance(self, seconds: float) -> None:
        """Moves time forward and wakes every sleeper whose deadline has come (they run when
        the caller next yields to the loop)."""
        if seconds < 0:
            raise ValueError("cannot move a clock backwards")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    @property
    def sleepers(self) -> int:
        """Coroutines currently blocked in sleep()."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> float | None:
        live = [when for when, _, future in self._sleepers if not future.done()]
        return min(live) if live else None
