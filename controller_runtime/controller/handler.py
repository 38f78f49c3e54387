"""Event handlers: turn events into Requests on a controller's queue.

With a priority queue, events that carry no news get LOW_PRIORITY so real changes are served
first: creates from an informer's initial list, and updates whose resourceVersion did not change
(resyncs, relists).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from controller_runtime.client import Client, split_api_version
from controller_runtime.controller.event import (
    CreateEvent,
    DeleteEvent,
    GenericEvent,
    Object,
    UpdateEvent,
    meta,
)
from controller_runtime.controller.reconcile import Request
from controller_runtime.workqueue import LOW_PRIORITY, PriorityInterface

# A controller's queue: the priority queue, or the plain one behind PriorityQueueWrapper.
Queue = PriorityInterface[Request]


class EventHandler(Protocol):
    def create(self, event: CreateEvent, queue: Queue) -> Awaitable[None] | None: ...

    def update(self, event: UpdateEvent, queue: Queue) -> Awaitable[None] | None: ...

    def delete(self, event: DeleteEvent, queue: Queue) -> Awaitable[None] | None: ...

    def generic(self, event: GenericEvent, queue: Queue) -> Awaitable[None] | None: ...


def _add(queue: Queue, requests: Iterable[Request], low_priority: bool) -> None:
    for request in requests:
        if low_priority:
            queue.add_with_opts(request, priority=LOW_PRIORITY)
        else:
            queue.add(request)


def _unchanged(event: UpdateEvent) -> bool:
    old_rv = meta(event.object_old).get("resourceVersion")
    return bool(old_rv) and old_rv == meta(event.object_new).get("resourceVersion")


def request_for(obj: Object) -> Request:
    m = meta(obj)
    return Request(m.get("namespace") or "", m.get("name") or "")


class _MappingHandler:
    """Shared dispatch: subclasses say which requests an object maps to."""

    def requests(self, obj: Object) -> Iterable[Request]:
        raise NotImplementedError

    def create(self, event: CreateEvent, queue: Queue) -> None:
        _add(queue, self.requests(event.object), event.is_in_initial_list)

    def update(self, event: UpdateEvent, queue: Queue) -> None:
        # Both old and new: e.g. an owner reference that moved must reach both owners.
        requests = dict.fromkeys(
            [*self.requests(event.object_old), *self.requests(event.object_new)]
        )
        _add(queue, requests, _unchanged(event))

    def delete(self, event: DeleteEvent, queue: Queue) -> None:
        _add(queue, self.requests(event.object), False)

    def generic(self, event: GenericEvent, queue: Queue) -> None:
        _add(queue, self.requests(event.object), False)


class EnqueueRequestForObject(_MappingHandler):
    """The object's own namespace/name (the For() watch)."""

    def requests(self, obj: Object) -> Iterable[Request]:
        request = request_for(obj)
        return [request] if request.name else []


class EnqueueRequestForOwner(_MappingHandler):
    """The owners of the object of the given kind (the Owns() watch): only the controller
    owner by default, every matching owner reference with only_controller=False. The request
    is in the object's namespace, or cluster-wide when the owner kind is cluster-scoped."""

    def __init__(self, owner_api_version: str, owner_kind: str, only_controller: bool = True):
        self.owner_group = split_api_version(owner_api_version)[0]
        self.owner_api_version = owner_api_version
        self.owner_kind = owner_kind
        self.only_controller = only_controller
        self.owner_namespaced = True

    async def prepare(self, client: Client) -> None:
        info = await client.resource(self.owner_api_version, self.owner_kind)
        self.owner_namespaced = info.namespaced

    def requests(self, obj: Object) -> Iterable[Request]:
        m = meta(obj)
        namespace = (m.get("namespace") or "") if self.owner_namespaced else ""
        found = []
        for ref in m.get("ownerReferences") or []:
            if self.only_controller and not ref.get("controller"):
                continue
            group = split_api_version(str(ref.get("apiVersion", "")))[0]
            if group == self.owner_group and ref.get("kind") == self.owner_kind:
                found.append(Request(namespace, str(ref.get("name", ""))))
        return found


MapFunc = Callable[[Object], Iterable[Request] | Awaitable[Iterable[Request]]]


class EnqueueRequestsFromMapFunc:
    """Requests computed by a function of the object (sync or async); on update the function
    runs for old and new and the results are deduplicated."""

    def __init__(self, fn: MapFunc) -> None:
        self.fn = fn

    async def _map(self, obj: Object) -> list[Request]:
        result: Any = self.fn(obj)
        if inspect.isawaitable(result):
            result = await result
        return list(result)

    async def create(self, event: CreateEvent, queue: Queue) -> None:
        _add(queue, await self._map(event.object), event.is_in_initial_list)

    async def update(self, event: UpdateEvent, queue: Queue) -> None:
        requests = dict.fromkeys(
            [*await self._map(event.object_old), *await self._map(event.object_new)]
        )
        _add(queue, requests, _unchanged(event))

    async def delete(self, event: DeleteEvent, queue: Queue) -> None:
        _add(queue, await self._map(event.object), False)

    async def generic(self, event: GenericEvent, queue: Queue) -> None:
        _add(queue, await self._map(event.object), False)
