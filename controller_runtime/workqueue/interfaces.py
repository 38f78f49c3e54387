"""The queue interfaces, layered like client-go's and controller-runtime's.

``Interface`` < ``DelayingInterface`` < ``RateLimitingInterface`` <
``PriorityInterface``. A controller's queue is always a ``PriorityInterface``: the
priority queue itself, or the plain rate-limiting queue behind ``PriorityQueueWrapper``.

Threading: every method must be called on the thread running the event loop the
queue is used with. Plain methods never await and so are atomic with respect to
other coroutines; they may be called from synchronous callbacks on that loop.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal, Protocol, TypeAlias, TypeVar

__all__ = [
    "DelayingInterface",
    "GetResult",
    "GetWithPriorityResult",
    "Interface",
    "PriorityInterface",
    "RateLimitingInterface",
    "T",
]

T = TypeVar("T", bound=Hashable)

# ``(item, False)`` while there is work, ``(None, True)`` once the queue is shut
# down. Narrow with ``if result[1]`` or ``if item is None`` before using item.
GetResult: TypeAlias = tuple[T, Literal[False]] | tuple[None, Literal[True]]
# ``(item, priority, False)``, or ``(None, 0, True)`` once shut down.
GetWithPriorityResult: TypeAlias = tuple[T, int, Literal[False]] | tuple[None, int, Literal[True]]


class Interface(Protocol[T]):
    """A work queue: fair, stingy, many producers and consumers, shutdown aware."""

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing. Ignored once shutting down."""
        ...

    def len(self) -> int:
        """Items ready to be handed out (not counting items being processed)."""
        ...

    def __len__(self) -> int: ...

    async def get(self) -> GetResult[T]:
        """Wait for an item; the caller must call :meth:`done` with it."""
        ...

    def done(self, item: T) -> None:
        """Finish processing ``item``; if it was re-added meanwhile it is queued again."""
        ...

    def shut_down(self) -> None:
        """Ignore further adds and wake every waiting ``get``; does not wait."""
        ...

    async def shut_down_with_drain(self) -> None:
        """Like :meth:`shut_down`, then wait for the items being processed."""
        ...

    def shutting_down(self) -> bool: ...


class DelayingInterface(Interface[T], Protocol[T]):
    def add_after(self, item: T, seconds: float) -> None:
        """Add ``item`` once ``seconds`` have passed (at once if ``seconds <= 0``)."""
        ...


class RateLimitingInterface(DelayingInterface[T], Protocol[T]):
    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the delay its rate limiter decides."""
        ...

    def forget(self, item: T) -> None:
        """Clear the rate limiter's memory of ``item``; ``done`` is still required."""
        ...

    def num_requeues(self, item: T) -> int: ...


class PriorityInterface(RateLimitingInterface[T], Protocol[T]):
    def add_with_opts(
        self,
        *items: T,
        after: float = 0.0,
        rate_limited: bool = False,
        priority: int | None = None,
    ) -> None:
        """Add ``items``; the highest priority and the earliest ready time win."""
        ...

    async def get_with_priority(self) -> GetWithPriorityResult[T]: ...
