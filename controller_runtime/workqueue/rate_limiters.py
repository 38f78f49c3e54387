"""Rate limiters: how long an item waits before it is retried (client-go semantics).

A limiter answers three questions about an item: ``when`` (the delay for this
retry, which also records the retry), ``num_requeues`` and ``forget``. Policies
are small and composed (``MaxOfRateLimiter``, ``WithMaxWaitRateLimiter``) rather
than configured. Delays are seconds as floats.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, Generic, Protocol, TypeVar

from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.workqueue.interfaces import T

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "WithMaxWaitRateLimiter",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
    "default_priority_queue_rate_limiter",
]

_Item_contra = TypeVar("_Item_contra", bound=Hashable, contravariant=True)

# Go's time.Duration tops out at 2**63 - 1 ns; a longer backoff means "use the max".
_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9


class RateLimiter(Protocol[_Item_contra]):
    def when(self, item: _Item_contra) -> float:
        """Delay in seconds before ``item`` should be retried; counts a retry."""
        ...

    def forget(self, item: _Item_contra) -> None:
        """Stop tracking ``item`` (it succeeded or was given up on)."""
        ...

    def num_requeues(self, item: _Item_contra) -> int:
        """How many times ``item`` has been retried since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter(Generic[T]):
    """Per item: ``base_delay * 2**failures``, capped at ``max_delay``.

    The first ``when`` returns ``base_delay``. With 5 ms and 1000 s the 18th
    failure waits 655.36 s and every failure from the 19th on waits 1000 s.
    """

    __slots__ = ("_failures", "base_delay", "max_delay")

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        # 2.0**exp overflows a float past 1023; far beyond any cap by then.
        if exp > 1023:
            return self.max_delay
        backoff = self.base_delay * 2.0**exp
        if backoff > _MAX_DURATION_SECONDS or backoff > self.max_delay:
            return self.max_delay
        return backoff

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class ItemFastSlowRateLimiter(Generic[T]):
    """Per item: ``fast_delay`` for the first ``max_fast_attempts`` retries, then ``slow_delay``."""

    __slots__ = ("_failures", "fast_delay", "max_fast_attempts", "slow_delay")

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        failures = self._failures.get(item, 0) + 1
        self._failures[item] = failures
        return self.fast_delay if failures <= self.max_fast_attempts else self.slow_delay

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket shared by all items: ``qps`` tokens per second, ``burst`` at most.

    Every ``when`` takes a token, whether or not one is available; the bucket
    may go negative and the delay is the time until the debt is repaid. This is
    golang.org/x/time/rate's ``Limiter.Reserve().Delay()``: a full bucket of 100
    at 10 qps answers 0 a hundred times, then 0.1 s, 0.2 s, … Never forgets.
    """

    __slots__ = ("_clock", "_last", "_tokens", "burst", "qps")

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock | None = None) -> None:
        if qps < 0 or burst < 0:
            raise ValueError(f"qps and burst must not be negative (got {qps}, {burst})")
        self.qps = qps
        self.burst = burst
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        # Tokens at time _last; None until the first call, meaning a full bucket.
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: Hashable) -> float:
        if math.isinf(self.qps):
            return 0.0
        if self.qps == 0:
            # No refill: the burst is all there will ever be.
            if self.burst >= 1:
                self.burst -= 1
                return 0.0
            return math.inf
        if self.burst < 1:
            return math.inf  # a single token can never fit
        now = self._clock.monotonic()
        last = now if self._last is None or self._last > now else self._last
        tokens = self._tokens if self._last is not None else float(self.burst)
        tokens = min(float(self.burst), tokens + (now - last) * self.qps) - 1.0
        self._tokens = tokens
        self._last = now
        return -tokens / self.qps if tokens < 0 else 0.0

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter(Generic[T]):
    """The longest delay of several limiters; every limiter sees every call."""

    __slots__ = ("limiters",)

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        self.limiters = limiters

    def when(self, item: T) -> float:
        delay = 0.0
        for limiter in self.limiters:
            delay = max(delay, limiter.when(item))
        return delay

    def forget(self, item: T) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return max((limiter.num_requeues(item) for limiter in self.limiters), default=0)


class WithMaxWaitRateLimiter(Generic[T]):
    """Another limiter's delay, capped at ``max_delay``."""

    __slots__ = ("limiter", "max_delay")

    def __init__(self, limiter: RateLimiter[T], max_delay: float) -> None:
        self.limiter = limiter
        self.max_delay = max_delay

    def when(self, item: T) -> float:
        return min(self.limiter.when(item), self.max_delay)

    def forget(self, item: T) -> None:
        self.limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.limiter.num_requeues(item)


def default_controller_rate_limiter(*, clock: Clock | None = None) -> RateLimiter[Any]:
    """Per-item 5 ms → 1000 s backoff, and at most 10 retries/s (burst 100) overall.

    controller-runtime's default when the priority queue is off.
    """
    return MaxOfRateLimiter[Any](
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )


def default_item_based_rate_limiter() -> RateLimiter[Any]:
    """Per-item 1 ms → 1000 s backoff, no overall limit."""
    return ItemExponentialFailureRateLimiter(0.001, 1000.0)


def default_priority_queue_rate_limiter() -> RateLimiter[Any]:
    """Per-item 5 ms → 1000 s backoff and no overall bucket.

    controller-runtime's default since the priority queue became the default
    (v0.23): a relist of thousands of objects is not throttled to 10 qps.
    """
    return ItemExponentialFailureRateLimiter(0.005, 1000.0)
