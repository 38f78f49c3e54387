"""The reflector: keeps a sink in step with the server by list, then watch, forever.

The state is loaded by a streaming list (WatchList: a watch with sendInitialEvents, as client-go
does by default since 1.35): objects arrive one event at a time and are transformed (e.g.
managedFields stripped) before the next is read, so memory never holds a whole list response,
and the same stream continues as the watch. A server that refuses it (older versions, or no
watch cache) gets a paginated list instead, for the rest of this reflector's life.

Recovery rules (client-go semantics, plus a stall watchdog):
- A watch that ends normally (server timeout, EOF) is reopened from the last resourceVersion,
  without relisting. Bookmarks advance that resourceVersion on quiet resources.
- 410 Gone (on open, or as an ERROR event) means the resourceVersion is no longer available:
  relist. A relist first asks for data at least as fresh as the last one seen; if that list is
  itself Gone, it relists consistently (resourceVersion "").
- Connection failures, 429s and stalls (no byte for `watchdog_timeout`: no event and no
  bookmark) reopen the watch from the last resourceVersion after a backoff.
- Any other failure relists after a backoff: 0.8 s doubling to 30 s with jitter, reset after
  2 minutes without failures, so an unhealthy server sees a low, bounded request rate.
Objects reach the sink in the order the server produced them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog

from controller_runtime.cache.store import intern_keys, object_key
from controller_runtime.client import (
    BadRequestError,
    Client,
    ForbiddenError,
    GoneError,
    InvalidError,
    MethodNotAllowedError,
    Object,
    TooManyRequestsError,
)
from controller_runtime.client.errors import error_from_status

log = structlog.get_logger("reflector")

PAGE_SIZE = 500
MIN_WATCH_TIMEOUT = 300.0  # the server closes each watch after [min, 2*min) seconds
DEFAULT_WATCHDOG = 150.0  # the API server sends bookmarks about once a minute


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial, self.cap, self.factor = initial, cap, factor
        self.jitter, self.reset_after, self._clock = jitter, reset_after, clock
        self._current = 0.0
        self._last = -float("inf")

    def next(self) -> float:
        now = self._clock()
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
    watches: int = 0
    relists_after_gone: int = 0
    watchdog_restarts: int = 0
    errors: int = 0


class _Relist(Exception):
    """Internal: the watch cannot continue from the current resourceVersion."""


class _WatchListUnsupported(Exception):
    """Internal: the server does not serve streaming lists for this request."""


INITIAL_EVENTS_END = "k8s.io/initial-events-end"
# Failures after which the watch resumes from its resourceVersion (the cache stays valid).
_INTERRUPTIONS = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    TooManyRequestsError,
)


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
    ) -> None:
        self.client, self.api_version, self.kind, self.sink = client, api_version, kind, sink
        self.namespace = namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.transform = transform
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.watchdog_timeout = watchdog_timeout
        self.backoff = backoff or Backoff()
        self.use_watch_list = use_watch_list
        self.last_sync_resource_version = ""
        self._rv_unavailable = False
        self.stats = ReflectorStats()
        self._log = log.bind(kind=kind, api_version=api_version, namespace=namespace or "")

    async def run(self) -> None:
        """Runs until cancelled."""
        while True:
            try:
                await self._load_state()
                await self._watch_until_relist()
            except asyncio.CancelledError:
                raise
            except _Relist:
                self.stats.relists_after_gone += 1
                self._log.debug("resourceVersion too old, relisting")
            except Exception as exc:
                self.stats.errors += 1
                self._log.warning("list/watch failed", error=repr(exc))
            await asyncio.sleep(self.backoff.next())

    async def _load_state(self) -> None:
        if self.use_watch_list:
            try:
                await self._watch_list()
                return
            except _WatchListUnsupported as exc:
                self.use_watch_list = False
                self._log.info("streaming list unsupported, using paginated lists", reason=str(exc))
        await self._list()

    async def _watch_list(self) -> None:
        """Loads the state by a streaming list, then keeps consuming the same stream as the
        watch until it ends normally (the caller then re-watches from the last RV)."""
        rv = "" if self._rv_unavailable else self.last_sync_resource_version
        initial: dict[str, Object] = {}
        loaded = False
        try:
            async with self.client.watch(
                self.api_version,
                self.kind,
                self.namespace,
                resource_version=rv,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                timeout_seconds=int(self.min_watch_timeout * (1.0 + random.random())),
                allow_bookmarks=True,
                send_initial_events=True,
                read_timeout=self.watchdog_timeout,
            ) as events:
                async for event in events:
                    if loaded:
                        self._handle(event)
                    else:
                        loaded = self._initial_event(event, initial)
        except (BadRequestError, InvalidError, ForbiddenError, MethodNotAllowedError) as exc:
            raise _WatchListUnsupported(repr(exc)) from exc
        except TimeoutError:
            if not loaded:
                raise
            self.stats.watchdog_restarts += 1
            self._log.warning(
                "watch delivered nothing, restarting it", silent_for=self.watchdog_timeout
            )
            return
        except _INTERRUPTIONS as exc:
            if not loaded:
                raise
            # The state is loaded; the stream broke while it served as the watch: resume
            # from the last resourceVersion like any interrupted watch, without reloading.
            self.stats.errors += 1
            self._log.info("watch interrupted, resuming", error=repr(exc))
            return
        except GoneError as exc:
            self._rv_unavailable = True
            raise _Relist() from exc
        if not loaded:
            raise _WatchListUnsupported("stream ended before the initial-events-end bookmark")

    def _initial_event(self, event: dict[str, Any], initial: dict[str, Object]) -> bool:
        """Collects one event of a streaming list; True once the state is complete and loaded."""
        event_type, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        if event_type == "ERROR":
            error = error_from_status(int(obj.get("code") or 500), obj)
            if isinstance(error, GoneError):
                self._rv_unavailable = True
                raise _Relist()
            raise _WatchListUnsupported(str(error))
        if event_type == "BOOKMARK":
            if (meta.get("annotations") or {}).get(INITIAL_EVENTS_END) == "true":
                rv = str(meta.get("resourceVersion", ""))
                self._rv_unavailable = False
                self.stats.lists += 1
                self.stats.watch_lists += 1
                self.sink.replace(list(initial.values()), rv)
                self.last_sync_resource_version = rv
                return True
            return False
        if event_type in ("ADDED", "MODIFIED"):
            initial[object_key(obj)] = self._prepare(obj)
        elif event_type == "DELETED":
            initial.pop(object_key(obj), None)
        return False

    def _prepare(self, obj: Object) -> Object:
        obj = self.transform(obj) if self.transform else obj
        result: Object = intern_keys(obj)
        return result

    async def _list(self) -> None:
        # First list: "0" (any cached state is fine); relist: at least as fresh as the last
        # seen; when that is gone: "" (a consistent read from etcd).
        rv = "" if self._rv_unavailable else self.last_sync_resource_version or "0"
        try:
            items, list_rv = await self._list_pages(rv)
        except GoneError:
            self._rv_unavailable = True
            items, list_rv = await self._list_pages("")
        self._rv_unavailable = False
        self.stats.lists += 1
        self.sink.replace([self._prepare(i) for i in items], list_rv)
        self.last_sync_resource_version = list_rv

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

    async def _watch_until_relist(self) -> None:
        while True:
            try:
                await self._watch_once()
            except (_Relist, GoneError) as exc:
                raise _Relist() from exc
            except TimeoutError:
                self.stats.watchdog_restarts += 1
                self._log.warning(
                    "watch delivered nothing, restarting it", silent_for=self.watchdog_timeout
                )
                await asyncio.sleep(self.backoff.next())
            except _INTERRUPTIONS as exc:
                # The server is unreachable or shedding load: keep the cache, retry the
                # watch from where it was (client-go does the same for connection refused).
                self.stats.errors += 1
                self._log.info("watch interrupted, retrying", error=repr(exc))
                await asyncio.sleep(self.backoff.next())

    async def _watch_once(self) -> None:
        timeout = int(self.min_watch_timeout * (1.0 + random.random()))
        self.stats.watches += 1
        async with self.client.watch(
            self.api_version,
            self.kind,
            self.namespace,
            resource_version=self.last_sync_resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=timeout,
            allow_bookmarks=True,
            read_timeout=self.watchdog_timeout,
        ) as events:
            async for event in events:
                self._handle(event)

    def _handle(self, event: dict[str, Any]) -> None:
        event_type = event.get("type")
        obj = event.get("object") or {}
        if event_type == "ERROR":
            error = error_from_status(int(obj.get("code") or 500), obj)
            if isinstance(error, GoneError):
                raise _Relist()
            raise error
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if event_type == "BOOKMARK":
            if rv:
                self.last_sync_resource_version = rv
            return
        if event_type not in ("ADDED", "MODIFIED", "DELETED"):
            self._log.warning("unknown watch event type", type=event_type)
            return
        self.sink.apply(event_type, self._prepare(obj))
        if rv:
            self.last_sync_resource_version = rv
