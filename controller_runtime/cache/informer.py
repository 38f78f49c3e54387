"""Shared informer: one reflector feeding one indexed store, fanning events out to handlers.

Event rules (client-go's processDeltas):
- A listed or watched object whose key is already stored is an update (old, new), also when
  the resourceVersion is unchanged (relist, resync); otherwise it is an add. Adds from the first
  list carry is_in_initial_list=True.
- A relist that no longer contains a stored key deletes it with a DeletedFinalStateUnknown
  tombstone (the final state was never seen).
Each handler has its own unbounded buffer and task, so a slow handler costs memory, never a
lost or reordered event, and never delays other handlers or the reflector.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from controller_runtime.cache.reflector import DEFAULT_WATCHDOG, Reflector
from controller_runtime.cache.store import IndexFunc, Object, Store, object_key
from controller_runtime.client import Client
from controller_runtime.clock import REAL_CLOCK, Clock

log = structlog.get_logger("informer")


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """Tombstone for an object deleted while the watch was down; `obj` is its last known state."""

    key: str
    obj: Object


class EventHandler(Protocol):
    """What an informer calls; methods may be plain functions or coroutines."""

    def on_add(self, obj: Object, is_in_initial_list: bool) -> Awaitable[None] | None: ...

    def on_update(self, old: Object, new: Object) -> Awaitable[None] | None: ...

    def on_delete(self, obj: Object | DeletedFinalStateUnknown) -> Awaitable[None] | None: ...


def strip_managed_fields(obj: Object) -> Object:
    """The default transform: managedFields are often a quarter of an object's bytes and no
    reconciler reads them from the cache."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        del meta["managedFields"]
    return obj


_SYNCED = object()  # marker in a listener's buffer: everything before it was the initial state
_Call = tuple[Callable[..., Awaitable[None] | None], tuple[Any, ...]]


class _Listener:
    def __init__(self, handler: EventHandler, name: str) -> None:
        self.handler = handler
        self.name = name
        self.buffer: deque[_Call | object] = deque()
        self.wakeup = asyncio.Event()
        self.synced = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def push(
        self, item: tuple[Callable[..., Awaitable[None] | None], tuple[Any, ...]] | object
    ) -> None:
        self.buffer.append(item)
        self.wakeup.set()

    async def run(self) -> None:
        while True:
            while not self.buffer:
                self.wakeup.clear()
                await self.wakeup.wait()
            item = self.buffer.popleft()
            if item is _SYNCED:
                self.synced.set()
                continue
            assert isinstance(item, tuple)
            method, args = item
            try:
                result = method(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("event handler failed", handler=self.name)


class HandlerRegistration:
    def __init__(self, informer: SharedIndexInformer, listener: _Listener) -> None:
        self._informer = informer
        self._listener = listener

    def has_synced(self) -> bool:
        """True once this handler has processed every event of the initial state."""
        return self._listener.synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._listener.synced.wait()

    async def remove(self) -> None:
        await self._informer._remove_listener(self._listener)


class SharedIndexInformer:
    def __init__(
        self,
        client: Client,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Callable[[Object], Object] | None = strip_managed_fields,
        resync_period: float | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        watchdog_timeout: float = DEFAULT_WATCHDOG,
        use_watch_list: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.api_version, self.kind, self.namespace = api_version, kind, namespace
        self.store = Store(indexers)
        self.resync_period = resync_period
        self.clock: Clock = REAL_CLOCK if clock is None else clock
        self.reflector = Reflector(
            client,
            api_version,
            kind,
            self,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            transform=transform,
            watchdog_timeout=watchdog_timeout,
            use_watch_list=use_watch_list,
            clock=self.clock,
        )
        self._listeners: list[_Listener] = []
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- state -----------------------------------------------------------------------------

    def has_synced(self) -> bool:
        """True once the first list is in the store."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    @property
    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    # --- handlers --------------------------------------------------------------------------

    def add_event_handler(self, handler: EventHandler, name: str = "") -> HandlerRegistration:
        """Registers a handler. On an informer that has synced, the handler first receives the
        stored objects as initial-list adds, like a handler registered before the start."""
        listener = _Listener(handler, name or type(handler).__name__)
        if self.has_synced():
            for obj in self.store.objects():
                listener.push((handler.on_add, (obj, True)))
            listener.push(_SYNCED)
        self._listeners.append(listener)
        if self.started:
            listener.task = asyncio.create_task(listener.run(), name=f"handler-{listener.name}")
        return HandlerRegistration(self, listener)

    async def _remove_listener(self, listener: _Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
        if listener.task is not None:
            listener.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener.task

    def _notify_add(self, obj: Object, initial: bool) -> None:
        for listener in self._listeners:
            listener.push((listener.handler.on_add, (obj, initial)))

    def _notify_update(self, old: Object, new: Object) -> None:
        for listener in self._listeners:
            listener.push((listener.handler.on_update, (old, new)))

    def _notify_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        for listener in self._listeners:
            listener.push((listener.handler.on_delete, (obj,)))

    # --- the reflector's sink ----------------------------------------------------------------

    def replace(self, items: list[Object], resource_version: str) -> None:
        initial = not self.has_synced()
        previous = self.store.replace(items)
        for key, old in previous.items():
            if key not in self.store:
                self._notify_delete(DeletedFinalStateUnknown(key, old))
        for obj in items:
            before = previous.get(object_key(obj))
            if before is None:
                self._notify_add(obj, initial)
            else:
                self._notify_update(before, obj)
        if initial:
            for listener in self._listeners:
                listener.push(_SYNCED)
            self._synced.set()

    def apply(self, event_type: str, obj: Object) -> None:
        if event_type == "DELETED":
            # The event carries the final state; deliver it even for a key never stored.
            self.store.delete(object_key(obj))
            self._notify_delete(obj)
            return
        old = self.store.put(obj)
        if old is None:
            self._notify_add(obj, False)
        else:
            self._notify_update(old, obj)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        for listener in self._listeners:
            listener.task = asyncio.create_task(listener.run(), name=f"handler-{listener.name}")
        self._tasks.append(asyncio.create_task(self.reflector.run(), name=f"reflector-{self.kind}"))
        if self.resync_period:
            self._tasks.append(asyncio.create_task(self._resync_loop(), name=f"resync-{self.kind}"))

    async def stop(self) -> None:
        tasks = self._tasks + [lst.task for lst in self._listeners if lst.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _resync_loop(self) -> None:
        assert self.resync_period
        # ±10% jitter per informer, so informers created together do not resync together.
        period = self.resync_period * random.uniform(0.9, 1.1)
        while True:
            await self.clock.sleep(period)
            if self.has_synced():
                for obj in self.store.objects():
                    self._notify_update(obj, obj)
