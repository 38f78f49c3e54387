"""The event broadcaster: recorders hand it events, one background task writes them.

Flow: recorder.event() -> correlate (aggregate, dedupe, spam filter) -> bounded queue ->
writer task -> POST (new Event) or strategic-merge PATCH of {count, lastTimestamp, message}
(repeat of an Event already written).

Invariants:
- Accepting an event never awaits and never raises. It runs on the event loop: calls from other
  threads are handed over with call_soon_threadsafe. A full queue drops the event (logged).
- One writer, so an Event's CREATE is sent before the PATCHes that count its repeats.
- Each write is tried up to max_tries times: transport failures, timeouts, 429 and 5xx answers
  are retried after retry_interval (the first wait randomised, so replicas that lost the API
  server together do not come back together); a PATCH answered NotFound (the Event expired)
  becomes a CREATE; any other answer of the server is final (retrying cannot change it).
- stop() drops later events, writes what is queued for up to its timeout, then cancels.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from controller_runtime.client import (
    AlreadyExistsError,
    ApiError,
    ForbiddenError,
    NotFoundError,
    PatchType,
)
from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.events.correlator import CorrelatorOptions, EventCorrelator
from controller_runtime.events.recorder import EventRecorder, EventRequest, Recorder, build_event

__all__ = ["BroadcasterStats", "EventBroadcaster", "EventSink"]

log = structlog.get_logger("events")

Object = dict[str, Any]
QUEUE_SIZE = 1000
MAX_TRIES = 12
RETRY_INTERVAL = 10.0
REQUEST_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class EventSink(Protocol):
    """The two writes the broadcaster needs (controller_runtime.client.Client has them)."""

    async def create(self, obj: Object) -> Object: ...

    async def patch(self, obj: Object, patch: Any, patch_type: PatchType = ...) -> Object: ...


@dataclass
class BroadcasterStats:
    accepted: int = 0
    """Events queued for writing."""
    skipped: int = 0
    """Dropped by the spam filter."""
    dropped: int = 0
    """Dropped because the queue was full or the broadcaster stopped."""
    written: int = 0
    failed: int = 0
    """Given up: rejected by the server, or out of attempts."""
    retries: int = 0


@dataclass
class _Write:
    event: Object
    patch: Object | None
    key: tuple[str, ...]


class EventBroadcaster:
    def __init__(
        self,
        client: EventSink,
        *,
        queue_size: int = QUEUE_SIZE,
        max_tries: int = MAX_TRIES,
        retry_interval: float = RETRY_INTERVAL,
        request_timeout: float = REQUEST_TIMEOUT,
        hostname: str | None = None,
        correlator_options: CorrelatorOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._max_tries = max(1, max_tries)
        self._retry_interval = retry_interval
        self._request_timeout = request_timeout
        self.hostname = hostname or socket.gethostname()
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._correlator = EventCorrelator(correlator_options, self._clock)
        self._queue: asyncio.Queue[_Write] = asyncio.Queue(maxsize=queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._last_ns = 0
        self._writing = 0  # 1 while the writer holds a write taken from the queue
        self.stats = BroadcasterStats()

    def new_recorder(self, name: str) -> EventRecorder:
        """A recorder whose events say source.component = reportingComponent = name and
        reportingInstance = name-hostname (at most 128 characters)."""
        return Recorder(name, self.hostname, self._submit)

    @property
    def pending(self) -> int:
        """Writes queued or in progress."""
        return self._queue.qsize() + self._writing

    async def start(self) -> None:
        """Starts the writer task (events recorded before are queued and written now)."""
        if self._task is not None:
            raise RuntimeError("event broadcaster already started")
        if self._closed:
            raise RuntimeError("event broadcaster was stopped")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._task = asyncio.create_task(self._run(), name="event-broadcaster")

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stops accepting events, writes the queued ones for up to timeout seconds, stops.
        Cancelling stop() cuts the wait short; the writer is stopped either way."""
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._queue.join()
        except TimeoutError:
            log.warning("event broadcaster stopped with events unwritten", pending=self.pending)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # --- accepting -----------------------------------------------------------------------------

    def _submit(self, request: EventRequest) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            try:
                loop.call_soon_threadsafe(self._accept, request)
            except RuntimeError:  # the loop is closed
                self.stats.dropped += 1
            return
        self._accept(request)

    def _accept(self, request: EventRequest) -> None:
        try:
            if self._closed:
                self.stats.dropped += 1
                log.debug("dropping event: broadcaster stopped", reason=request.reason)
                return
            result = self._correlator.correlate(build_event(request, self._unique_ns()))
            if result.skip:
                self.stats.skipped += 1
                log.debug("event skipped by the spam filter", reason=request.reason)
                return
            self._queue.put_nowait(_Write(result.event, result.patch, result.key))
            self.stats.accepted += 1
        except asyncio.QueueFull:
            self.stats.dropped += 1
            dropped = self.stats.dropped
            if dropped & (dropped - 1) == 0:  # 1, 2, 4, 8, ...: visible without flooding
                log.warning("dropping event: queue full", dropped_total=dropped)
        except Exception:
            log.exception("dropping event: correlation failed")

    def _unique_ns(self) -> int:
        """Wall-clock nanoseconds, strictly increasing, so generated Event names never clash."""
        now = max(self._clock.wall_ns(), self._last_ns + 1)
        self._last_ns = now
        return now

    # --- writing -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            write = await self._queue.get()
            self._writing = 1
            try:
                await self._write(write)
            except Exception:
                log.exception("event write failed")
            finally:
                self._writing = 0
                self._queue.task_done()

    async def _write(self, write: _Write) -> None:
        for attempt in range(1, self._max_tries + 1):
            if await self._attempt(write):
                return
            if attempt == self._max_tries:
                break
            self.stats.retries += 1
            wait = self._retry_interval * (random.random() if attempt == 1 else 1.0)
            await self._clock.sleep(wait)
        self.stats.failed += 1
        log.error("unable to write event (retry limit exceeded)", **_describe(write.event))

    async def _attempt(self, write: _Write) -> bool:
        """One try; True when done (written, or rejected for good), False to retry."""
        try:
            async with asyncio.timeout(self._request_timeout):
                written = await self._send(write)
        except ApiError as err:
            if err.status == 429 or err.status >= 500:
                log.warning("event write failed (may retry)", error=str(err))
                return False
            self.stats.failed += 1
            if isinstance(err, AlreadyExistsError) or _namespace_terminating(err):
                log.debug("server rejected event", error=str(err), **_describe(write.event))
            else:
                log.error("server rejected event", error=str(err), **_describe(write.event))
            return True
        except Exception as err:  # transport failures and timeouts
            log.warning("event write failed (may retry)", error=f"{type(err).__name__}: {err}")
            return False
        self._correlator.update_state(write.key, written)
        self.stats.written += 1
        return True

    async def _send(self, write: _Write) -> Object:
        if write.patch is not None:
            try:
                return await self._client.patch(write.event, write.patch, PatchType.STRATEGIC)
            except NotFoundError:
                pass  # the Event expired or was never created: create it with the count so far
        event = dict(write.event)
        event["metadata"] = {
            k: v for k, v in write.event["metadata"].items() if k != "resourceVersion"
        }
        return await self._client.create(event)


def _namespace_terminating(err: ApiError) -> bool:
    causes = err.details.get("causes") or []
    return isinstance(err, ForbiddenError) and any(
        c.get("reason") == "NamespaceTerminating" for c in causes
    )


def _describe(event: Object) -> dict[str, Any]:
    ref = event.get("involvedObject") or {}
    return {
        "kind": ref.get("kind"),
        "namespace": ref.get("namespace"),
        "name": ref.get("name"),
        "reason": event.get("reason"),
        "event": (event.get("metadata") or {}).get("name"),
    }
