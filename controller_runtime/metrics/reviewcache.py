"""A small TTL cache for review answers (TokenReview, SubjectAccessReview) that also coalesces
concurrent lookups of one key, so a burst of scrapes costs the API server one review.

Invariants:
- At most `max_size` answers are kept; the least recently stored goes first.
- An answer is served for at most `ttl` seconds after it was stored.
- For each key at most one load runs at a time; every caller waiting on it gets its result or
  its exception. Failures are never cached (the next caller retries).
- A caller that is cancelled while waiting does not cancel the shared load.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from controller_runtime.clock import REAL_CLOCK, Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReviewCache(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        max_size: int = 1024,
        clock: Clock | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.ttl = ttl
        self.max_size = max_size
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # key -> (expiry, value)
        self._loading: dict[K, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> tuple[V] | None:
        """The fresh value boxed in a 1-tuple (values may be falsy), else None; an expired
        entry is dropped on the way."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expiry, value = entry
        if self._clock.monotonic() >= expiry:
            del self._entries[key]
            return None
        return (value,)

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (self._clock.monotonic() + self.ttl, value)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        hit = self.get(key)
        if hit is not None:
            return hit[0]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            # Retrieved here so a failure whose every waiter was cancelled is not reported as
            # "Task exception was never retrieved".
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
            self.put(key, value)
            return value
        finally:
            self._loading.pop(key, None)
