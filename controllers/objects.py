"""Reads and writes of the operator's own kinds, shared by both reconcilers.

Each reconciler is the only writer of its kind's status, so it reads the newest copy it knows
(the cache, or the answer to its own last write: OwnWrites) and writes status as a merge patch
of what changed against that copy, without a resourceVersion precondition. Metadata (the
finalizer) is shared with users and tools, so its patches carry one.
"""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import Resource
from controller_runtime.client import Object, PatchType, merge_patch
from controller_runtime.client.errors import NotFoundError
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites


class OwnedKind:
    """One of our kinds as its controller reads and writes it."""

    def __init__(
        self, client: CachedClient, own_writes: OwnWrites, api_version: str, kind: str
    ) -> None:
        self.client, self.own_writes = client, own_writes
        self.api_version, self.kind = api_version, kind

    async def read(self, namespace: str | None, name: str) -> Object | None:
        """The newest copy we know of, or None if the object is gone."""
        try:
            cached = await self.client.get(self.api_version, self.kind, name, namespace)
        except NotFoundError:
            return None
        return self.own_writes.newest(cached)

    async def write_status(self, base: Object, model: Resource) -> Object:
        """Persists every status change of ``model`` relative to ``base``; returns the new
        base (``base`` itself when nothing changed)."""
        status = getattr(model, "status", None)
        desired = model.to_dict().get("status") if status is not None else None
        patch = merge_patch(base.get("status") or {}, desired or {})
        if not patch:
            return base
        written = await self.client.status().patch(base, {"status": patch}, PatchType.MERGE)
        self.own_writes.record(written)
        return written

    async def patch_finalizers(self, base: Object, finalizers: list[str]) -> Object:
        rv = base["metadata"].get("resourceVersion")
        body = {"metadata": {"finalizers": finalizers or None, "resourceVersion": rv}}
        written = await self.client.patch(base, body, PatchType.MERGE)
        self.own_writes.record(written)
        return written


def event_ref(model: Resource) -> dict[str, Any]:
    """What the event recorder needs of the involved object."""
    meta = model.metadata
    return {
        "apiVersion": model.api_version,
        "kind": model.kind,
        "metadata": {
            "name": meta.name,
            "namespace": meta.namespace,
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
        },
    }
