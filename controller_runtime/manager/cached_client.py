"""The manager's client: reads from the shared cache, writes straight to the API server.

Kinds listed as uncached (e.g. Secrets an operator must not hold in memory) are read live.
Read-your-own-writes does not hold through the cache: a reconciler that must see its own last
write reads the object returned by that write, or uses the manager's api_reader.
A server-side apply that would change nothing is answered from the cache (applied.py).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from controller_runtime import labels
from controller_runtime.cache import Cache
from controller_runtime.client import Client, Object, PatchType, ResourceInfo, SubResourceClient
from controller_runtime.manager.applied import AppliedObjects


class CachedClient:
    def __init__(
        self,
        cache: Cache,
        client: Client,
        uncached: AbstractSet[tuple[str, str]] = frozenset(),
        *,
        skip_unchanged_applies: bool = False,
    ) -> None:
        self.cache = cache
        self.direct = client
        self.uncached = set(uncached)
        self.applied = AppliedObjects(cache) if skip_unchanged_applies else None

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

    async def apply(
        self,
        obj: Object,
        *,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> Object:
        applied, key = self.applied, None
        if applied is not None and not dry_run and subresource is None:
            key = applied.key(obj, field_manager or self.direct.field_owner or "", force)
        if applied is None or key is None or (key[0], key[1]) in self.uncached:
            return await self.direct.apply(
                obj,
                field_manager=field_manager,
                force=force,
                dry_run=dry_run,
                subresource=subresource,
            )
        digest, unchanged = applied.unchanged(key, obj)
        if unchanged is not None:
            return unchanged
        try:
            written = await self.direct.apply(obj, field_manager=field_manager, force=force)
        except BaseException:
            applied.forget(key)
            raise
        applied.record(key, digest, written)
        return written

    async def delete(self, obj: Object, **kwargs: Any) -> Object | None:
        return await self.direct.delete(obj, **kwargs)

    async def delete_all_of(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> Object:
        return await self.direct.delete_all_of(api_version, kind, *args, **kwargs)

    def status(self) -> SubResourceClient:
        return self.direct.status()

    def subresource(self, name: str) -> SubResourceClient:
        return self.direct.subresource(name)
