"""One timer that follows the earliest deadline of a set of delayed entries."""

from __future__ import annotations

import math
from collections.abc import Callable

from controller_runtime.clock import Clock, TimerHandle

__all__ = ["Alarm"]


class Alarm:
    """Calls ``on_fire(deadline)`` once the earliest requested time has come.

    The owner keeps its delayed entries in a heap and calls :meth:`request` with
    the head's time whenever the head may have moved earlier; after firing it
    requests the new head. Only one clock timer exists at a time, so a thousand
    delayed items cost one loop timer, not a thousand.

    ``deadline`` passed to ``on_fire`` is ``max(now, scheduled time)``: the loop
    may run a timer up to its clock resolution early, and entries due at the
    scheduled time must not be left behind (that would re-arm a timer for a time
    that has, for the loop, already come).
    """

    __slots__ = ("_clock", "_handle", "_on_fire", "_when")

    def __init__(self, clock: Clock, on_fire: Callable[[float], None]) -> None:
        self._clock = clock
        self._on_fire = on_fire
        # _handle is the live timer, scheduled for _when; _when is +inf when
        # no timer is scheduled.
        self._handle: TimerHandle | None = None
        self._when = math.inf

    def request(self, when: float) -> None:
        """Make sure ``on_fire`` runs no later than ``when``."""
        if when >= self._when:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._when = when
        self._handle = self._clock.call_at(when, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._when = math.inf

    def _fire(self) -> None:
        deadline = max(self._clock.monotonic(), self._when)
        self._handle = None
        self._when = math.inf
        self._on_fire(deadline)
