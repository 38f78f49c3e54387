"""The manager's client: reads from the shared cache, writes straight to the API server.

Kinds listed as uncached (e.g. Secrets an operator must not hold in memory) are read live.
Read-your-own-writes does not hold through the cache: a reconciler that must see its own last
write reads the object returned by that write, or uses the manager's api_reader.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from controller_runtime import labels
from controller_runtime.cache import Cache
from controller_runtime.client import Client, Object, PatchType, ResourceInfo, SubResourceClient


class CachedClient:
    def __init__(
        self, cache: Cache, client: Client, uncached: AbstractSet[tuple[str, str]] = frozenset()
    ) -> None:
        self.cache = cache
        self.direct = client
        self.uncached = set(uncached)

    async def resource(self, api_version: str, kind: str) -> ResourceInfo:
        return await self.direct.resource(api_version, kind)

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object:
        if (api_version, kind) in self.uncached:
            return await self.direct.get(api_version, kind, name, namespace)
        return await self.cache.get(api_version, kind, name, namespace)

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
        if (api_version, kind) in self.uncached:
            selector = str(label_selector) if label_selector is not None else None
            return await self.direct.list(
                api_version,
                kind,
                namespace,
                label_selector=selector,
                field_selector=field_selector,
                limit=limit,
            )
        return await self.cache.list(
            api_version,
            kind,
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
        )

    async def create(self, obj: Object, **kwargs: Any) -> Object:
        return await self.direct.create(obj, **kwargs)

    async def update(self, obj: Object, **kwargs: Any) -> Object:
        return await self.direct.update(obj, **kwargs)

    async def patch(
        self, obj: Object, patch: Any, patch_type: PatchType = PatchType.MERGE, **kwargs: Any
    ) -> Object:
        return await self.direct.patch(obj, patch, patch_type, **kwargs)

    async def apply(self, obj: Object, **kwargs: Any) -> Object:
        return await self.direct.apply(obj, **kwargs)

    async def delete(self, obj: Object, **kwargs: Any) -> Object | None:
        return await self.direct.delete(obj, **kwargs)

    async def delete_all_of(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> Object:
        return await self.direct.delete_all_of(api_version, kind, *args, **kwargs)

    def status(self) -> SubResourceClient:
        return self.direct.status()

    def subresource(self, name: str) -> SubResourceClient:
        return self.direct.subresource(name)
