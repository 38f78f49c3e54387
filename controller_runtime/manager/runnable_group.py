"""Runnable groups (controller-runtime's runnableGroup): runnables started together, each as
its own task, and stopped together.

A runnable's start() runs until it is cancelled. Stopping cancels every runnable (a controller
then stops taking work and finishes the reconcile in hand) and waits for them up to a deadline;
whatever still runs then is cancelled once more ("no more grace") and reported by name. Without
grace (the deadline has already passed, e.g. leadership was lost) both cancellations are sent
at once, and a controller cancels the reconcile in hand too.

Failures: a runnable that raises while the group is not stopping reports the error through
on_error (the manager then stops); one that returns is simply finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from controller_runtime.clock import REAL_CLOCK, Clock, TimerHandle

__all__ = ["Deadline", "ReadyCheck", "Runnable", "RunnableGroup", "ServerRunnable", "describe"]

log = structlog.get_logger("manager")

ReadyCheck = Callable[[], Awaitable[None]]
"""Returns once the runnable is ready (e.g. its cache synced); raises if it cannot be."""


class Runnable(Protocol):
    """Anything the manager runs. An optional attribute `need_leader_election` (default True)
    says whether it runs only on the leader."""

    async def start(self) -> None:
        """Runs until cancelled."""


class Deadline:
    """One deadline shared by every step of a shutdown. It is a timer, not a clock reading:
    each step waits for its tasks or the timer, whichever comes first.

    timeout None: never expires; 0 or less: expired from the start (no grace)."""

    def __init__(self, timeout: float | None, clock: Clock | None = None) -> None:
        self.timeout = timeout
        self._expired = asyncio.Event()
        self._timer: TimerHandle | None = None
        if timeout is not None:
            if timeout <= 0:
                self._expired.set()
            else:
                clock = REAL_CLOCK if clock is None else clock
                self._timer = clock.call_at(clock.monotonic() + timeout, self._expired.set)

    def expired(self) -> bool:
        return self._expired.is_set()

    async def wait(self, tasks: Iterable[asyncio.Future[Any]]) -> None:
        """Returns once every task is done or the deadline has passed."""
        pending = {t for t in tasks if not t.done()}
        if not pending or self.expired():
            return
        all_done = asyncio.ensure_future(asyncio.wait(pending))
        expiry = asyncio.ensure_future(self._expired.wait())
        try:
            await asyncio.wait({all_done, expiry}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            all_done.cancel()
            expiry.cancel()

    def cancel(self) -> None:
        """Releases the timer (the shutdown is over)."""
        if self._timer is not None:
            self._timer.cancel()


class Server(Protocol):
    """A server: start() returns once it serves, stop() stops it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def describe(runnable: object) -> str:
    """How a runnable is named in logs and errors: its type, and its name if it has one."""
    name = getattr(runnable, "name", None)
    kind = type(runnable).__name__
    return f"{kind} {name!r}" if isinstance(name, str) and name else kind


class ServerRunnable:
    """A server as a runnable, ready once it serves; stopped when cancelled."""

    def __init__(self, server: Server, name: str) -> None:
        self.server, self.name = server, name
        self._serving = asyncio.Event()
        self._failed: BaseException | None = None

    async def start(self) -> None:
        try:
            await self.server.start()
        except BaseException as err:
            self._failed = err
            self._serving.set()
            raise
        self._serving.set()
        try:
            await asyncio.Event().wait()
        finally:
            await self.server.stop()

    async def ready(self) -> None:
        await self._serving.wait()
        if self._failed is not None:
            raise RuntimeError(f"{self.name} failed to start") from self._failed


@dataclass
class _Entry:
    runnable: Runnable
    name: str
    ready: ReadyCheck | None
    task: asyncio.Task[None] | None = None
    cancels: int = field(default=0)


class RunnableGroup:
    """Runnables started together (start) and stopped together (stop)."""

    def __init__(self, name: str, on_error: Callable[[BaseException], None]) -> None:
        self.name = name
        self._on_error = on_error
        self._entries: list[_Entry] = []
        self._started = False
        self._stopped = False

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, runnable: Runnable, ready: ReadyCheck | None = None) -> None:
        """Adds a runnable (before start); ready, if given, tells start() when it is ready."""
        if self._started or self._stopped:
            raise RuntimeError(f"cannot add to the {self.name} runnables once started")
        if any(entry.runnable is runnable for entry in self._entries):
            raise ValueError(
                f"{describe(runnable)} was added to the manager twice. A runnable is added "
                "once: the builder's complete() already adds the controller it builds"
            )
        self._entries.append(_Entry(runnable, describe(runnable), ready))

    async def start(self) -> None:
        """Starts every runnable, then returns once each is ready. Raises the error of a
        runnable that fails or ends before it is ready. Does nothing once stopped (a manager
        stopping before it was elected never starts its leader-gated runnables)."""
        if self._started or self._stopped:
            return
        self._started = True
        for entry in self._entries:
            entry.task = asyncio.create_task(entry.runnable.start(), name=entry.name)
            entry.task.add_done_callback(self._finished)
        await asyncio.gather(*(self._until_ready(e) for e in self._entries if e.ready))

    async def _until_ready(self, entry: _Entry) -> None:
        assert entry.ready is not None
        assert entry.task is not None
        check = asyncio.ensure_future(entry.ready())
        try:
            await asyncio.wait({check, entry.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not check.done():
                check.cancel()
        if check.done() and not check.cancelled():
            check.result()  # the check's own failure, e.g. caches not synced in time
            return
        error = None if entry.task.cancelled() else entry.task.exception()
        if error is not None:
            raise error
        raise RuntimeError(f"{entry.name} ended before it was ready")

    def _finished(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            log.info("runnable finished", runnable=task.get_name(), group=self.name)
        elif self._stopped:
            log.warning(
                "runnable failed while stopping", runnable=task.get_name(), error=repr(error)
            )
        else:
            self._on_error(error)

    def running(self) -> list[str]:
        """The names of the runnables started and not yet ended."""
        return [e.name for e in self._entries if e.task is not None and not e.task.done()]

    async def stop(self, deadline: Deadline) -> list[str]:
        """Cancels every runnable and waits for them until the deadline; then cancels the
        rest once more and returns their names. Idempotent."""
        self._stopped = True
        pending = [e for e in self._entries if e.task is not None and not e.task.done()]
        for entry in pending:
            self._cancel(entry)
        if deadline.expired() and pending:
            # No grace: the second cancellation goes out at once as well (a controller then
            # cancels the reconcile in hand too). One yield first, so that the first has
            # landed: two cancellations of a task before it runs again count as one.
            await asyncio.sleep(0)
            for entry in pending:
                if entry.task is not None and not entry.task.done():
                    self._cancel(entry)
        await deadline.wait(e.task for e in pending if e.task is not None)
        still = [e for e in pending if e.task is not None and not e.task.done()]
        for entry in still:
            if entry.cancels < 2:
                self._cancel(entry)  # no more grace
        return [e.name for e in still]

    @staticmethod
    def _cancel(entry: _Entry) -> None:
        assert entry.task is not None
        entry.task.cancel()
        entry.cancels += 1

    async def join(self) -> None:
        """Returns once every started runnable has ended, however long that takes."""
        tasks = [e.task for e in self._entries if e.task is not None]
        if tasks:
            await asyncio.wait(tasks)
