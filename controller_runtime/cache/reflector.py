"""The reflector: keeps a sink in step with the server by list, then watch, forever.

The state is loaded by a streaming list (WatchList: a watch with sendInitialEvents, as client-go
does by default since 1.35): objects arrive one event at a time and are transformed (e.g.
managedFields stripped) before the next is read, so memory never holds a whole list response,
and the same stream continues as the watch. When a streaming list fails for any reason (a
server that does not serve it, a broken or stalled stream), that attempt falls back to a
paginated list; the next load tries streaming again.

Recovery rules (client-go's reflector, plus a stall watchdog):
- An established watch that was healthy (it delivered an event, or lasted MIN_HEALTHY_WATCH)
  and then ended is reopened at once from the last resourceVersion, without relisting and
  without a backoff step: a server timeout, an EOF, a cut connection, or a stall (no byte for
  `watchdog_timeout`, i.e. no event and no bookmark). Bookmarks advance the resourceVersion on
  quiet resources, so a reopened watch is rarely too old (410).
- A watch that cannot be established (connection failure, 429) is reopened from the same
  resourceVersion after a backoff step.
- 410 Gone (on open, or as an ERROR event) means the resourceVersion is no longer available:
  relist after a backoff step. A relist first asks for data at least as fresh as the last one
  seen; if that list is itself Gone, it relists consistently (resourceVersion "").
- A watch that ends within MIN_HEALTHY_WATCH without an event (VeryShortWatchError, e.g. a
  proxy closing every watch) is an error: relist after a backoff step, like client-go, so the
  cache still follows the server by lists while watches cannot work.
- A failed list, and any other failure, relists after a backoff step.
Backoff steps: 0.8 s doubling to 30 s with jitter, reset after 2 minutes without a step, so an
unhealthy server sees a low, bounded request rate while healthy interruptions cost nothing.
Objects reach the sink in the order the server produced them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog

from controller_runtime.cache.store import intern_keys, object_key
from controller_runtime.client import Client, GoneError, Object, TooManyRequestsError
from controller_runtime.client.errors import error_from_status
from controller_runtime.clock import REAL_CLOCK, Clock

log = structlog.get_logger("reflector")

PAGE_SIZE = 500
MIN_WATCH_TIMEOUT = 300.0  # the server closes each watch after [min, 2*min) seconds
DEFAULT_WATCHDOG = 150.0  # the API server sends bookmarks about once a minute
MIN_HEALTHY_WATCH = 1.0  # client-go: a shorter watch without events is an error
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class Sink(Protocol):
    def replace(self, items: list[Object], resource_version: str) -> None: ...

    def apply(self, event_type: str, obj: Object) -> None: ...


class Backoff:
    """Exponential backoff with jitter, reset after a quiet period (client-go's
    ExponentialBackoffManager with 800 ms, 30 s, factor 2, jitter 1.0, reset 2 min)."""

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        clock: Clock | None = None,
    ) -> None:
        self.initial, self.cap, self.factor = initial, cap, factor
        self.jitter, self.reset_after = jitter, reset_after
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._current = 0.0
        self._last = -float("inf")

    def next(self) -> float:
        now = self._clock.monotonic()
        if now - self._last > self.reset_after:
            self._current = self.initial
        else:
            self._current = min(self._current * self.factor, self.cap)
        self._last = now
        return self._current * (1.0 + random.random() * self.jitter)


@dataclass
class ReflectorStats:
    lists: int = 0  # full loads of the state, by streaming list or paginated list
    watch_lists: int = 0  # of which streaming
    watches: int = 0  # plain watches opened (the stream of a streaming list not counted)
    relists_after_gone: int = 0
    watchdog_restarts: int = 0
    short_watches: int = 0  # VeryShortWatchError: ended within a second, no event
    backoffs: int = 0  # backoff steps slept
    errors: int = 0


class VeryShortWatchError(Exception):
    """A watch ended within MIN_HEALTHY_WATCH without delivering any event (client-go's name)."""


class _Relist(Exception):
    """Internal: the watch cannot continue from the current resourceVersion."""


class _RetryWatch(Exception):
    """Internal: back off, then reopen the watch from the same resourceVersion. The cause is
    why the watch was not established (connection failure, 429)."""


# Transport failures: before the response arrived, the watch was not established; after, an
# established stream was cut (TimeoutError: silent for watchdog_timeout, the watchdog).
_BROKEN = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError)


@dataclass
class _Stream:
    """One open watch response and what it delivered so far."""

    events: AsyncIterator[dict[str, Any]]
    exit: AsyncExitStack
    started: float
    delivered: int = 0


class Reflector:
    def __init__(
        self,
        client: Client,
        api_version: str,
        kind: str,
        sink: Sink,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Callable[[Object], Object] | None = None,
        page_size: int = PAGE_SIZE,
        min_watch_timeout: float = MIN_WATCH_TIMEOUT,
        watchdog_timeout: float = DEFAULT_WATCHDOG,
        backoff: Backoff | None = None,
        use_watch_list: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.client, self.api_version, self.kind, self.sink = client, api_version, kind, sink
        self.namespace = namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.transform = transform
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.watchdog_timeout = watchdog_timeout
        self.clock: Clock = REAL_CLOCK if clock is None else clock
        self.backoff = backoff or Backoff(clock=self.clock)
        self.use_watch_list = use_watch_list
        self.last_sync_resource_version = ""
        self._rv_unavailable = False
        self.stats = ReflectorStats()
        self._log = log.bind(kind=kind, api_version=api_version, namespace=namespace or "")

    # --- resourceVersions (client-go's relistResourceVersion / rewatchResourceVersion) -----

    def relist_resource_version(self) -> str:
        """Where a paginated list starts: "0" the first time (any cached state is fine, the
        watch cache serves it), then at least as fresh as the last seen; "" (a consistent read
        from etcd) once that is no longer available."""
        if self._rv_unavailable:
            return ""
        return self.last_sync_resource_version or "0"

    def rewatch_resource_version(self) -> str:
        """Where a watch or a streaming list starts: the last seen resourceVersion ("" before
        the first load, or once it is no longer available: the most recent state)."""
        return "" if self._rv_unavailable else self.last_sync_resource_version

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Runs until cancelled."""
        while True:
            try:
                await self._list_and_watch()
            except asyncio.CancelledError:
                raise
            except _Relist:
                self.stats.relists_after_gone += 1
                self._log.debug("resourceVersion too old, relisting")
            except Exception as exc:
                self.stats.errors += 1
                self._log.warning("list/watch failed", error=repr(exc))
            await self._back_off()

    async def _back_off(self) -> None:
        self.stats.backoffs += 1
        await self.clock.sleep(self.backoff.next())

    async def _list_and_watch(self) -> None:
        stream = await self._watch_list() if self.use_watch_list else None
        if stream is None:
            await self._list()
        await self._watch(stream)

    async def _watch(self, stream: _Stream | None) -> None:
        """Watches from the last resourceVersion until a relist is needed (it raises).
        `stream` is a streaming list's stream, already past its initial state."""
        while True:
            try:
                if stream is None:
                    self.stats.watches += 1
                    stream = await self._open(self.rewatch_resource_version(), False)
                await self._follow(stream)
            except GoneError as exc:
                raise _Relist() from exc
            except _RetryWatch as exc:
                self.stats.errors += 1
                self._log.info("watch failed, backing off", error=repr(exc.__cause__))
                await self._back_off()
            finally:
                if stream is not None:
                    await stream.exit.aclose()
                    stream = None

    async def _open(self, resource_version: str, initial_events: bool) -> _Stream:
        """Opens a watch (a streaming list with initial_events). Raises _RetryWatch when it
        cannot be established for a reason worth a retry."""
        exit_stack = AsyncExitStack()
        started = self.clock.monotonic()
        try:
            events = await exit_stack.enter_async_context(
                self.client.watch(
                    self.api_version,
                    self.kind,
                    self.namespace,
                    resource_version=resource_version,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                    timeout_seconds=int(self.min_watch_timeout * (1.0 + random.random())),
                    allow_bookmarks=True,
                    send_initial_events=True if initial_events else None,
                    read_timeout=self.watchdog_timeout,
                )
            )
        except (TooManyRequestsError, *_BROKEN) as exc:
            raise _RetryWatch() from exc
        return _Stream(events, exit_stack, started)

    async def _follow(self, stream: _Stream) -> None:
        """Applies a stream's events until it ends. Returns at once after a healthy watch
        ended or broke; raises VeryShortWatchError after a watch that could not do anything."""
        try:
            async for event in stream.events:
                self._handle(event)
                stream.delivered += 1
        except TooManyRequestsError as exc:  # an ERROR event with code 429
            raise _RetryWatch() from exc
        except _BROKEN as exc:
            self._broken(exc)
        if stream.delivered == 0 and self.clock.monotonic() - stream.started < MIN_HEALTHY_WATCH:
            self.stats.short_watches += 1
            raise VeryShortWatchError("very short watch: ended within a second without an event")

    def _handle(self, event: dict[str, Any]) -> None:
        event_type = event.get("type")
        obj = event.get("object") or {}
        if event_type == "ERROR":
            raise error_from_status(int(obj.get("code") or 500), obj)
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if event_type == "BOOKMARK":
            if rv:
                self.last_sync_resource_version = rv
            return
        if event_type not in ("ADDED", "MODIFIED", "DELETED"):
            self._log.warning("unknown watch event type", type=event_type)
            return
        # A deleted object leaves the cache at once: its keys are not worth interning.
        self.sink.apply(event_type, self._prepare(obj, intern=event_type != "DELETED"))
        if rv:
            self.last_sync_resource_version = rv

    def _prepare(self, obj: Object, intern: bool = True) -> Object:
        obj = self.transform(obj) if self.transform else obj
        return intern_keys(obj) if intern else obj

    # --- loading the state -----------------------------------------------------------------

    async def _watch_list(self) -> _Stream | None:
        """Loads the state by a streaming list. Returns its stream, past the initial state, to
        continue as the watch; None when this attempt failed (the caller lists instead)."""
        while True:
            stream: _Stream | None = None
            reason: object = "stream ended before the initial-events-end bookmark"
            try:
                stream = await self._open(self.rewatch_resource_version(), True)
                if await self._load_initial(stream):
                    return stream
            except _RetryWatch as exc:
                reason = exc.__cause__
            except Exception as exc:
                reason = exc
            except BaseException:
                await self._close(stream)
                raise
            await self._close(stream)
            if isinstance(reason, GoneError) and not self._rv_unavailable:
                self._rv_unavailable = True  # too old to stream from: at once from the latest
                continue
            self._log.info("streaming list failed, listing instead", reason=repr(reason))
            return None

    @staticmethod
    async def _close(stream: _Stream | None) -> None:
        if stream is not None:
            await stream.exit.aclose()

    async def _load_initial(self, stream: _Stream) -> bool:
        """Collects a streaming list's initial state into the sink; False if the stream ended
        (or broke) before the initial-events-end bookmark."""
        initial: dict[str, Object] = {}
        try:
            async for event in stream.events:
                stream.delivered += 1
                event_type, obj = event.get("type"), event.get("object") or {}
                meta = obj.get("metadata") or {}
                if event_type == "ERROR":
                    raise error_from_status(int(obj.get("code") or 500), obj)
                if event_type == "BOOKMARK":
                    if (meta.get("annotations") or {}).get(INITIAL_EVENTS_END) == "true":
                        self._loaded(list(initial.values()), str(meta.get("resourceVersion", "")))
                        self.stats.watch_lists += 1
                        return True
                elif event_type in ("ADDED", "MODIFIED"):
                    initial[object_key(obj)] = self._prepare(obj)
                elif event_type == "DELETED":
                    initial.pop(object_key(obj), None)
        except _BROKEN as exc:
            self._broken(exc)
        return False

    def _broken(self, exc: BaseException) -> None:
        """Notes an established stream that broke (it is restarted at once, without backoff)."""
        if isinstance(exc, TimeoutError):
            self.stats.watchdog_restarts += 1
            self._log.warning("watch silent, restarting it", silent_for=self.watchdog_timeout)
        else:
            self._log.info("watch interrupted, restarting it", error=repr(exc))

    def _loaded(self, items: list[Object], resource_version: str) -> None:
        self._rv_unavailable = False
        self.stats.lists += 1
        self.sink.replace(items, resource_version)
        self.last_sync_resource_version = resource_version

    async def _list(self) -> None:
        try:
            items, list_rv = await self._list_pages(self.relist_resource_version())
        except GoneError:
            self._rv_unavailable = True
            items, list_rv = await self._list_pages(self.relist_resource_version())
        self._loaded([self._prepare(i) for i in items], list_rv)

    async def _list_pages(self, rv: str) -> tuple[list[Object], str]:
        # A list at a specific resourceVersion with a limit is served by etcd at exactly that
        # revision (stale data the next watch rejects as too old); without a limit it is
        # served "not older than" it, from the watch cache. So page only for "0" and "".
        limit = self.page_size if rv in ("", "0") else None
        items: list[Object] = []
        token: str | None = None
        while True:
            page = await self.client.list(
                self.api_version,
                self.kind,
                self.namespace,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                limit=limit,
                continue_token=token,
                resource_version=None if token else rv,
            )
            items.extend(self._typed_items(page))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, str(page["metadata"].get("resourceVersion", ""))

    def _typed_items(self, page: Object) -> list[Object]:
        """A list's items with apiVersion and kind: the server omits them on items of a plain
        list (ConfigMapList -> ConfigMap); like client-go's unstructured list decoding, an item
        that has neither gets the list's."""
        api_version = page.get("apiVersion") or self.api_version
        list_kind = page.get("kind") or ""
        kind = list_kind.removesuffix("List") if list_kind.endswith("List") else self.kind
        items: list[Object] = page.get("items") or []
        typed = {"apiVersion": api_version, "kind": kind}
        return [i if i.get("apiVersion") or i.get("kind") else {**typed, **i} for i in items]
