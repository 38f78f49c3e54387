"""Time for events: wall-clock nanoseconds for names and timestamps, monotonic seconds for the
aggregation window and the spam filter's token buckets (so a wall-clock step cannot refill a
bucket or reset a window)."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock"]


class Clock(Protocol):
    def wall_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float: ...


class RealClock:
    __slots__ = ()

    def wall_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """Moves only in advance(); wall and monotonic time move together."""

    def __init__(self, wall_ns: int = 1_900_000_000 * 10**9, monotonic: float = 1000.0) -> None:
        self._wall_ns = wall_ns
        self._monotonic = monotonic

    def wall_ns(self) -> int:
        return self._wall_ns

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("cannot move a clock backwards")
        self._wall_ns += int(seconds * 1e9)
        self._monotonic += seconds
