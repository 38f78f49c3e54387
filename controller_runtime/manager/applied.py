"""Server-side applies that would change nothing, answered from the cache instead.

A reconciler that applies its desired objects on every pass (the idiom server-side apply
invites) sends the same configuration again and again. The result of an apply depends only on
the object as the server has it, the configuration, the field manager and ``force``: so when
the configuration and the options are the ones of our last successful apply of that object,
and the cache still holds the object at exactly the resourceVersion that apply returned,
nothing changed since, and sending it again would be a no-op. The cached copy is the answer.

Invariants:
- A skip happens only when the cached object's resourceVersion equals the one our own last
  apply returned: the answer is never older than our last write of the object. Any change by
  anyone since (spec drift, a status update, a delete and re-create) has a newer
  resourceVersion once the cache sees it, and the next apply is sent.
- If the server has changed the object but the cache has not caught up yet, the skipped apply
  is one the watch event will follow with another reconcile of the owner, as for any cached
  read.
- Only kinds already cached (an informer synced) are looked at; a skip never starts an informer.
- The answer lacks ``managedFields`` (the cache strips them) and is a copy the caller owns.

Where an admission webhook changes objects on every write, a no-op apply is not one; such an
operator turns this off (``ManagerOptions.skip_unchanged_applies``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from controller_runtime.cache import Cache
from controller_runtime.cache.store import copy_object
from controller_runtime.client import Object

_Key = tuple[str, str, str, str, str, bool]  # apiVersion, kind, namespace, name, manager, force
_MIN_PRUNE = 1024


def _digest(obj: Object) -> bytes:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class AppliedObjects:
    """The last apply of each object: its configuration's digest and the resourceVersion the
    server answered. Entries of objects gone from the cache are pruned as the table grows
    (amortized: when it doubles since the last prune)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._applied: dict[_Key, tuple[bytes, str]] = {}
        self._prune_at = _MIN_PRUNE

    @staticmethod
    def key(obj: Object, manager: str, force: bool) -> _Key | None:
        meta = obj.get("metadata") or {}
        api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), meta.get("name")
        if not (api_version and kind and name and manager):
            return None
        return (api_version, kind, meta.get("namespace") or "", name, manager, force)

    def unchanged(self, key: _Key, obj: Object) -> tuple[bytes, Object | None]:
        """The configuration's digest, and the cached object if applying ``obj`` again would
        change nothing (else None)."""
        digest = _digest(obj)
        last = self._applied.get(key)
        if last is None or last[0] != digest:
            return digest, None
        cached = self._cached(key)
        if cached is None or (cached.get("metadata") or {}).get("resourceVersion") != last[1]:
            return digest, None
        copied: Object = copy_object(cached)
        return digest, copied

    def record(self, key: _Key, digest: bytes, written: Object) -> None:
        rv = (written.get("metadata") or {}).get("resourceVersion")
        if not rv:
            self._applied.pop(key, None)
            return
        self._applied[key] = (digest, rv)
        if len(self._applied) >= self._prune_at:
            self._prune()

    def forget(self, key: _Key) -> None:
        self._applied.pop(key, None)

    def __len__(self) -> int:
        return len(self._applied)

    def _cached(self, key: _Key) -> Any:
        api_version, kind, namespace, name = key[:4]
        informer = self.cache.informers.get((api_version, kind))
        if informer is None or not informer.has_synced():
            return None
        if informer.namespace and namespace and informer.namespace != namespace:
            return None
        return informer.store.get(f"{namespace}/{name}" if namespace else name)

    def _prune(self) -> None:
        for key in [k for k in self._applied if self._cached(k) is None]:
            del self._applied[key]
        self._prune_at = max(_MIN_PRUNE, 2 * len(self._applied))
