"""Read-your-own-writes on top of the informer cache.

A reconciler that writes an object and is requeued at once usually reads it back from the cache
before the watch event of its own write arrived: it then decides on a state it already changed
(and an optimistic-lock patch built on that stale copy is refused with 409 Conflict). client-go
and controller-runtime leave this to every reconciler. :class:`OwnWrites` keeps the object
returned by each of our writes until the cache has caught up with it, and :meth:`newest` answers
whichever of the two copies is newer.

resourceVersions are compared as integers, which holds for every etcd-backed API server (and is
what Kubernetes' comparable-resource-version work makes official); when either version is not
an integer the cached copy wins, i.e. the behaviour is exactly the plain cache's.

Invariants:
- an entry is only ever replaced by a newer version of the same object (same uid);
- an entry is dropped as soon as the cache shows a version at least as new, or the object was
  deleted or replaced (other uid), so the map holds only writes the cache has not seen yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller_runtime.cache import copy_object

Object = dict[str, Any]
_Key = tuple[str, str, str, str]


def _key(obj: Mapping[str, Any]) -> _Key:
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name", "")),
    )


def _version(obj: Mapping[str, Any]) -> int | None:
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(rv) if rv is not None else None
    except (TypeError, ValueError):
        return None


def _uid(obj: Mapping[str, Any]) -> str | None:
    uid = (obj.get("metadata") or {}).get("uid")
    return str(uid) if uid else None


class OwnWrites:
    """Objects returned by our writes that the cache may not show yet."""

    def __init__(self) -> None:
        self._written: dict[_Key, Object] = {}

    def __len__(self) -> int:
        return len(self._written)

    def record(self, written: Object) -> None:
        """Remember the server's answer to a write (create, update, patch, apply)."""
        version = _version(written)
        if version is None:
            return
        key = _key(written)
        held = self._written.get(key)
        if held is not None and _uid(held) == _uid(written):
            held_version = _version(held)
            if held_version is not None and held_version >= version:
                return
        self._written[key] = written

    def forget(self, obj: Mapping[str, Any]) -> None:
        """The object was deleted (or is of no further interest)."""
        self._written.pop(_key(obj), None)

    def newest(self, cached: Object) -> Object:
        """The newer of the cached copy and our last write of the same object.

        The returned object is the caller's to mutate: the held write is handed out as a copy.
        """
        key = _key(cached)
        held = self._written.get(key)
        if held is None:
            return cached
        cached_version, held_version = _version(cached), _version(held)
        if (
            cached_version is None
            or held_version is None
            or _uid(held) != _uid(cached)
            or cached_version >= held_version
        ):
            del self._written[key]  # the cache caught up (or the object is another one)
            return cached
        copied: Object = copy_object(held)
        return copied
