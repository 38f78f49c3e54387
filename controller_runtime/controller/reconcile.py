"""The reconcile contract: a Request names an object, a Result says when to look again.

Reconciliation is level-based: a Request carries no event payload, only which object to
converge, so any number of events for one object collapse into one reconcile.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, order=True)
class Request:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Result:
    """requeue_after > 0: look again after that many seconds (the failure count is reset).
    requeue (deprecated in controller-runtime; kept for compatibility): requeue rate-limited.
    priority: the queue priority of the requeue (default: the priority the item had)."""

    requeue: bool = False
    requeue_after: float = 0.0
    priority: int | None = None


class TerminalError(Exception):
    """An error that retrying cannot fix (e.g. invalid input): it is counted and logged, and
    the request is not requeued until something changes the object."""

    def __init__(self, cause: BaseException | str) -> None:
        self.cause = cause
        super().__init__(str(cause))


@runtime_checkable
class Reconciler(Protocol):
    async def reconcile(self, request: Request) -> Result: ...


ReconcileFunc = Callable[[Request], Awaitable[Result]]


class _FuncReconciler:
    def __init__(self, fn: ReconcileFunc) -> None:
        self._fn = fn

    async def reconcile(self, request: Request) -> Result:
        return await self._fn(request)


def as_reconciler(target: Reconciler | ReconcileFunc) -> Reconciler:
    """Accepts a Reconciler or a plain `async def reconcile(request) -> Result` function."""
    if isinstance(target, Reconciler):
        return target
    if inspect.iscoroutinefunction(target):
        return _FuncReconciler(target)
    raise TypeError("a reconciler must have `async def reconcile(request)` or be one")
