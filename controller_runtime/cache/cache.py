"""The informer cache: one shared informer per kind, and get/list served from memory.

- Every controller and every cached read of a kind use the same informer (keyed by
  apiVersion/kind), so a kind is listed and watched once per process.
- A read of a kind without an informer starts one and waits until it has synced (after the
  cache started), unless fail_on_missing_informer is set.
- Reads return copies the caller may mutate; the cache's objects are never handed out.
- Label selectors are applied in memory; a field selector must be one exact match on an index
  registered with index_field, like controller-runtime's cache reader.
- Scoping (namespace, label/field selectors) is applied by the server on list and watch, so
  objects outside the scope are never transferred or held.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller_runtime import labels
from controller_runtime.cache.informer import SharedIndexInformer, strip_managed_fields
from controller_runtime.cache.reflector import DEFAULT_WATCHDOG
from controller_runtime.cache.store import NAMESPACE_INDEX, Object, copy_object
from controller_runtime.client import Client, NotFoundError

ALL_NAMESPACES = "__all_namespaces"
DEFAULT_SYNC_PERIOD = 10 * 3600.0

Kind = tuple[str, str]  # (apiVersion, kind)


class CacheNotStartedError(RuntimeError):
    pass


class ResourceNotCachedError(LookupError):
    pass


@dataclass(frozen=True)
class ByObject:
    """Per-kind scope of what the cache holds."""

    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    transform: Callable[[Object], Object] | None = strip_managed_fields


def field_index_name(field: str) -> str:
    return f"field:{field}"


def _not_found(kind: str, name: str) -> NotFoundError:
    return NotFoundError(404, "NotFound", f'{kind} "{name}" not found (in the cache)')


class Cache:
    def __init__(
        self,
        client: Client,
        *,
        namespace: str | None = None,
        by_object: Mapping[Kind, ByObject] | None = None,
        sync_period: float | None = DEFAULT_SYNC_PERIOD,
        fail_on_missing_informer: bool = False,
        watchdog_timeout: float = DEFAULT_WATCHDOG,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.by_object = dict(by_object or {})
        self.sync_period = sync_period
        self.fail_on_missing_informer = fail_on_missing_informer
        self.watchdog_timeout = watchdog_timeout
        self.informers: dict[Kind, SharedIndexInformer] = {}
        self._creating: dict[Kind, asyncio.Lock] = {}
        self._started = False

    # --- informers -------------------------------------------------------------------------

    async def get_informer(self, api_version: str, kind: str) -> SharedIndexInformer:
        """The shared informer of a kind, created (and started, if the cache runs) on first use.
        Raises NoKindMatchError if the server does not serve the kind."""
        key = (api_version, kind)
        informer = self.informers.get(key)
        if informer is not None:
            return informer
        lock = self._creating.setdefault(key, asyncio.Lock())
        async with lock:
            informer = self.informers.get(key)
            if informer is None:
                info = await self.client.resource(api_version, kind)
                scope = self.by_object.get(key, ByObject(namespace=self.namespace))
                informer = SharedIndexInformer(
                    self.client,
                    api_version,
                    kind,
                    namespace=(scope.namespace or self.namespace) if info.namespaced else None,
                    label_selector=scope.label_selector,
                    field_selector=scope.field_selector,
                    transform=scope.transform,
                    resync_period=self.sync_period,
                    watchdog_timeout=self.watchdog_timeout,
                )
                self.informers[key] = informer
                if self._started:
                    informer.start()
        return informer

    async def index_field(
        self, api_version: str, kind: str, field: str, extract: Callable[[Object], list[str]]
    ) -> None:
        """Registers a field index usable as `field_selector="<field>=<value>"` in list."""

        def index(obj: Object) -> list[str]:
            namespace = (obj.get("metadata") or {}).get("namespace") or ""
            values = extract(obj)
            keys = [f"{namespace}/{v}" for v in values]
            if namespace:
                keys += [f"{ALL_NAMESPACES}/{v}" for v in values]
            return keys

        informer = await self.get_informer(api_version, kind)
        informer.add_indexers({field_index_name(field): index})

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._started = True
        for informer in self.informers.values():
            informer.start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        """True when every informer created so far has synced within the timeout."""
        results = await asyncio.gather(
            *(i.wait_for_sync(timeout) for i in list(self.informers.values()))
        )
        return all(results)

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self.informers.values()))
        self._started = False

    # --- reads -----------------------------------------------------------------------------

    async def _synced_informer(self, api_version: str, kind: str) -> SharedIndexInformer:
        if not self._started:
            raise CacheNotStartedError("the cache is not started, cannot read objects")
        if self.fail_on_missing_informer and (api_version, kind) not in self.informers:
            raise ResourceNotCachedError(f"{kind} ({api_version}) is not cached")
        informer = await self.get_informer(api_version, kind)
        await informer.wait_for_sync()
        return informer

    def _check_namespace(self, informer: SharedIndexInformer, namespace: str | None) -> None:
        if informer.namespace and namespace and namespace != informer.namespace:
            raise ResourceNotCachedError(
                f"namespace {namespace!r} is outside the cache's scope ({informer.namespace})"
            )

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object:
        informer = await self._synced_informer(api_version, kind)
        self._check_namespace(informer, namespace)
        key = f"{namespace}/{name}" if namespace else name
        obj = informer.store.get(key)
        if obj is None:
            raise _not_found(kind, name)
        copied: Object = copy_object(obj)  # already a fresh dict: no second copy
        return copied

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | labels.Selector | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> Object:
        """A List object (`items`, `metadata.resourceVersion`) of matching cached objects."""
        informer = await self._synced_informer(api_version, kind)
        self._check_namespace(informer, namespace)
        store = informer.store
        if field_selector:
            field, value = _exact_field_match(field_selector)
            bucket = f"{namespace}/{value}" if namespace else f"{ALL_NAMESPACES}/{value}"
            try:
                candidates = store.by_index(field_index_name(field), bucket)
            except KeyError:
                msg = f"no index for field {field!r}: register it with index_field"
                raise ValueError(msg) from None
            if not namespace:
                # Cluster-scoped objects are indexed under "/value" only.
                candidates += store.by_index(field_index_name(field), f"/{value}")
        elif namespace:
            candidates = store.by_index(NAMESPACE_INDEX, namespace)
        else:
            candidates = store.objects()
        selector = (
            label_selector
            if isinstance(label_selector, labels.Selector)
            else labels.parse(label_selector)
        )
        items: builtins.list[Any] = []
        for obj in candidates:
            if selector.empty() or selector.matches((obj.get("metadata") or {}).get("labels")):
                items.append(copy_object(obj))
                if limit and len(items) >= limit:
                    break
        return {
            "apiVersion": api_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": informer.last_sync_resource_version},
            "items": items,
        }


def _exact_field_match(selector: str) -> tuple[str, str]:
    if "," in selector or "!=" in selector:
        raise ValueError("non-exact field matches are not supported by the cache")
    field, sep, value = selector.replace("==", "=").partition("=")
    if not sep or not field.strip():
        raise ValueError("non-exact field matches are not supported by the cache")
    return field.strip(), value.strip()
