"""Sources feed events into a controller's queue.

- Kind: events of one kind from the shared informer of a cache (the For/Owns/Watches watches).
- Channel: GenericEvents pushed by code (e.g. something outside Kubernetes changed).
A source is synced when its handler has seen the informer's initial state, so a controller
starts reconciling from a complete picture.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

import structlog

from controller_runtime.cache import Cache, DeletedFinalStateUnknown, HandlerRegistration
from controller_runtime.client import NoKindMatchError
from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.controller.event import (
    CreateEvent,
    DeleteEvent,
    Event,
    GenericEvent,
    Object,
    UpdateEvent,
)
from controller_runtime.controller.handler import EventHandler, Queue
from controller_runtime.controller.predicate import Predicate, all_pass

log = structlog.get_logger("source")

NO_KIND_RETRY = 2.0  # seconds between looks for a kind the server does not serve yet


class Source(Protocol):
    async def start(self, queue: Queue) -> None:
        """Begins delivering events; returns once delivery is set up (not when synced)."""

    async def wait_for_sync(self) -> None:
        """Returns once the initial state has been delivered."""

    async def stop(self) -> None: ...


async def _dispatch(handler: EventHandler, event: Event, queue: Queue) -> None:
    if isinstance(event, CreateEvent):
        result: Awaitable[None] | None = handler.create(event, queue)
    elif isinstance(event, UpdateEvent):
        result = handler.update(event, queue)
    elif isinstance(event, DeleteEvent):
        result = handler.delete(event, queue)
    else:
        result = handler.generic(event, queue)
    if inspect.isawaitable(result):
        await result


class _InformerAdapter:
    """Translates informer callbacks into filtered handler calls."""

    def __init__(self, handler: EventHandler, predicates: Sequence[Predicate], queue: Queue):
        self.handler, self.predicates, self.queue = handler, list(predicates), queue

    async def _deliver(self, event: Event) -> None:
        if all_pass(self.predicates, event):
            await _dispatch(self.handler, event, self.queue)

    async def on_add(self, obj: Object, is_in_initial_list: bool) -> None:
        await self._deliver(CreateEvent(obj, is_in_initial_list))

    async def on_update(self, old: Object, new: Object) -> None:
        await self._deliver(UpdateEvent(old, new))

    async def on_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            await self._deliver(DeleteEvent(obj.obj, delete_state_unknown=True))
        else:
            await self._deliver(DeleteEvent(obj))


class Kind:
    def __init__(
        self,
        cache: Cache,
        api_version: str,
        kind: str,
        handler: EventHandler,
        predicates: Sequence[Predicate] = (),
        *,
        clock: Clock | None = None,
    ) -> None:
        self.cache, self.api_version, self.kind = cache, api_version, kind
        self.clock: Clock = REAL_CLOCK if clock is None else clock
        self.handler, self.predicates = handler, list(predicates)
        self._registration: HandlerRegistration | None = None

    def __repr__(self) -> str:
        return f"Kind({self.kind}.{self.api_version})"

    async def start(self, queue: Queue) -> None:
        prepare: Any = getattr(self.handler, "prepare", None)
        if prepare is not None:
            await prepare(self.cache.client)
        while True:
            try:
                informer = await self.cache.get_informer(self.api_version, self.kind)
                break
            except NoKindMatchError:
                # The caller bounds this with its cache-sync timeout; a CRD installed
                # meanwhile (e.g. by the same deployment) is picked up.
                log.warning(
                    "kind is not served yet; if it is a CRD, it should be installed",
                    kind=self.kind,
                    api_version=self.api_version,
                )
                await self.clock.sleep(NO_KIND_RETRY)
        adapter = _InformerAdapter(self.handler, self.predicates, queue)
        self._registration = informer.add_event_handler(adapter, name=repr(self))

    async def wait_for_sync(self) -> None:
        informer = await self.cache.get_informer(self.api_version, self.kind)
        await informer.wait_for_sync()
        assert self._registration is not None, "start() first"
        # The handler's own buffer must have drained the initial state too.
        await self._registration.wait_for_sync()

    async def stop(self) -> None:
        if self._registration is not None:
            await self._registration.remove()
            self._registration = None


class Channel:
    """GenericEvents put by code with `send(obj)`; always synced."""

    def __init__(self, handler: EventHandler, predicates: Sequence[Predicate] = ()) -> None:
        self.handler, self.predicates = handler, list(predicates)
        self._events: asyncio.Queue[Object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def send(self, obj: Object) -> None:
        self._events.put_nowait(obj)

    async def start(self, queue: Queue) -> None:
        async def pump() -> None:
            while True:
                event = GenericEvent(await self._events.get())
                if all_pass(self.predicates, event):
                    await _dispatch(self.handler, event, queue)

        self._task = asyncio.create_task(pump(), name="channel-source")

    async def wait_for_sync(self) -> None:
        return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
