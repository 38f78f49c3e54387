"""Feeds the view from the cluster: informers on the dev SeiNodeDeployment, its SeiNodes and
the events of sei.io objects in its namespace (other events, e.g. the scheduler's, are noise
here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controller_runtime.cache import ByObject, Cache, DeletedFinalStateUnknown
from controller_runtime.client import Client
from controllers.devmode.model import DevView, event_view, group_view, node_view
from controllers.devmode.store import ViewStore
from controllers.seinodedeployment.children import GROUP_LABEL

__all__ = ["Observer"]

API_VERSION = "sei.io/v1alpha1"
Object = dict[str, Any]


class _Handler:
    def __init__(
        self,
        store: ViewStore,
        put: Callable[[DevView, Object], DevView],
        remove: Callable[[DevView, Object], DevView],
    ) -> None:
        self._store, self._put, self._remove = store, put, remove

    def on_add(self, obj: Object, is_in_initial_list: bool) -> None:
        self._store.update(lambda v: self._put(v, obj))

    def on_update(self, old: Object, new: Object) -> None:
        self._store.update(lambda v: self._put(v, new))

    def on_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        gone = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        self._store.update(lambda v: self._remove(v, gone))


def _is_sei_event(obj: Object) -> bool:
    return str((obj.get("involvedObject") or {}).get("apiVersion") or "").startswith("sei.io/")


class Observer:
    """Watches one SeiNodeDeployment and what belongs to it until :meth:`stop`."""

    def __init__(self, client: Client, store: ViewStore, namespace: str, group: str) -> None:
        self._store = store
        self._cache = Cache(
            client,
            by_object={
                (API_VERSION, "SeiNodeDeployment"): ByObject(
                    namespace=namespace, field_selector=f"metadata.name={group}"
                ),
                (API_VERSION, "SeiNode"): ByObject(
                    namespace=namespace, label_selector=f"{GROUP_LABEL}={group}"
                ),
                ("v1", "Event"): ByObject(namespace=namespace),
            },
        )

    async def start(self, timeout: float = 60.0) -> None:
        handlers = {
            "SeiNodeDeployment": _Handler(
                self._store,
                lambda v, o: v.with_group(group_view(o)),
                lambda v, _: v.with_group(None),
            ),
            "SeiNode": _Handler(
                self._store,
                lambda v, o: v.with_node(node_view(o)),
                lambda v, o: v.without_node(str(o["metadata"]["name"])),
            ),
            "Event": _Handler(
                self._store,
                lambda v, o: v.with_event(event_view(o)) if _is_sei_event(o) else v,
                lambda v, _: v,
            ),
        }
        for kind, handler in handlers.items():
            api_version = "v1" if kind == "Event" else API_VERSION
            informer = await self._cache.get_informer(api_version, kind)
            informer.add_event_handler(handler, name=f"devmode-{kind}")
        await self._cache.start()
        if not await self._cache.wait_for_cache_sync(timeout):
            raise TimeoutError("the dev view's caches did not sync")

    async def stop(self) -> None:
        await self._cache.stop()
