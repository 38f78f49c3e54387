"""Waiting on conditions with a deadline (never a bare sleep standing in for synchronisation)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


class ConditionTimeout(AssertionError):
    """The condition did not hold before the deadline; carries the last observed value."""


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = ...,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    until: Callable[[T], bool] = ...,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], Any],
    until: Callable[[Any], bool] = bool,
    timeout: float = 60.0,
    interval: float = 0.2,
    message: str = "condition",
) -> Any:
    """Calls probe (sync or async) until until(result) holds; returns that result, or raises
    ConditionTimeout with the last result (or the last exception the probe raised)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = probe()
            value = await result if inspect.isawaitable(result) else result
            if until(value):
                return value
            last = value
        except Exception as exc:  # the probe may fail transiently (e.g. NotFound)
            last = exc
        if time.monotonic() >= deadline:
            raise ConditionTimeout(f"{message} not met within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)
