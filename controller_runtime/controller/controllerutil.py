"""Helpers every reconciler needs: owner references, create-or-update/patch, finalizers.

Semantics follow controller-runtime's controllerutil: owner references are upserted by
(group, kind, name); a second controller reference is an error; create_or_update compares the
mutated object with what the server has and writes only when they differ.

The object a client's `get` returns belongs to the caller (the cache copies on every get, a
direct read is freshly decoded), so create_or_update/patch mutate it in place and keep one
snapshot to compare with, made by copy_object (plain JSON: several times faster than deepcopy).
The caller's `obj` is only read (a copy of it is mutated and created when nothing exists yet).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Protocol

from controller_runtime.cache.store import copy_object
from controller_runtime.client.client import Object, PatchType, merge_patch
from controller_runtime.client.errors import NotFoundError
from controller_runtime.client.restmapper import split_api_version

Mutate = Callable[[Object], Awaitable[None] | None]


class OperationResult(StrEnum):
    UNCHANGED = "unchanged"
    CREATED = "created"
    UPDATED = "updated"
    UPDATED_STATUS = "updatedStatus"
    UPDATED_STATUS_ONLY = "updatedStatusOnly"


class AlreadyOwnedError(ValueError):
    def __init__(self, obj: Object, owner_ref: dict[str, Any]) -> None:
        name = obj.get("metadata", {}).get("name")
        super().__init__(
            f"Object {name} is already owned by another {owner_ref.get('kind')} controller "
            f"{owner_ref.get('name')}"
        )
        self.owner_ref = owner_ref


class _Writer(Protocol):
    """What create_or_update/patch use; `get` returns an object the caller owns."""

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object: ...

    async def create(self, obj: Object) -> Object: ...

    async def update(self, obj: Object) -> Object: ...

    async def patch(self, obj: Object, patch: Any, patch_type: PatchType = ...) -> Object: ...


def _group_kind(ref: dict[str, Any]) -> tuple[str, str]:
    return split_api_version(str(ref.get("apiVersion", "")))[0], str(ref.get("kind", ""))


def _same_owner(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _group_kind(a) == _group_kind(b) and a.get("name") == b.get("name")


def _owner_ref(owner: Object, controller: bool, block_owner_deletion: bool) -> dict[str, Any]:
    meta = owner.get("metadata") or {}
    if not meta.get("uid") or not meta.get("name"):
        raise ValueError("owner needs metadata.name and metadata.uid (read it from the server)")
    ref: dict[str, Any] = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
    }
    if controller:
        ref["controller"] = True
    if block_owner_deletion:
        ref["blockOwnerDeletion"] = True
    return ref


def _check_scope(owner: Object, obj: Object) -> None:
    owner_ns = (owner.get("metadata") or {}).get("namespace") or ""
    obj_ns = (obj.get("metadata") or {}).get("namespace") or ""
    if owner_ns and not obj_ns:
        raise ValueError("cluster-scoped resource must not have a namespace-scoped owner")
    if owner_ns and owner_ns != obj_ns:
        raise ValueError(
            f"cross-namespace owner references are disallowed, owner's namespace {owner_ns}, "
            f"obj's namespace {obj_ns}"
        )


def _upsert(obj: Object, ref: dict[str, Any]) -> None:
    refs: list[dict[str, Any]] = obj.setdefault("metadata", {}).setdefault("ownerReferences", [])
    for i, existing in enumerate(refs):
        if _same_owner(existing, ref):
            refs[i] = ref
            return
    refs.append(ref)


def get_controller_of(obj: Object) -> dict[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def set_controller_reference(owner: Object, obj: Object, block_owner_deletion: bool = True) -> None:
    """Makes owner the controller of obj (in memory; the caller writes obj)."""
    _check_scope(owner, obj)
    ref = _owner_ref(owner, controller=True, block_owner_deletion=block_owner_deletion)
    existing = get_controller_of(obj)
    if existing is not None and not _same_owner(existing, ref):
        raise AlreadyOwnedError(obj, existing)
    _upsert(obj, ref)


def set_owner_reference(owner: Object, obj: Object) -> None:
    """Adds a non-controller owner reference (kept controller=True if it was already one)."""
    _check_scope(owner, obj)
    ref = _owner_ref(owner, controller=False, block_owner_deletion=False)
    for existing in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if _same_owner(existing, ref) and existing.get("controller"):
            ref["controller"] = True
    _upsert(obj, ref)


def has_owner_reference(obj: Object, owner: Object) -> bool:
    probe = {"apiVersion": owner.get("apiVersion"), "kind": owner.get("kind")}
    probe["name"] = (owner.get("metadata") or {}).get("name")
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(_same_owner(ref, probe) for ref in refs)


def has_controller_reference(obj: Object) -> bool:
    return get_controller_of(obj) is not None


def remove_owner_reference(owner: Object, obj: Object) -> bool:
    """Removes owner's reference from obj; returns whether one was removed."""
    meta = obj.get("metadata") or {}
    refs = meta.get("ownerReferences") or []
    probe = {"apiVersion": owner.get("apiVersion"), "kind": owner.get("kind")}
    probe["name"] = (owner.get("metadata") or {}).get("name")
    kept = [ref for ref in refs if not _same_owner(ref, probe)]
    if len(kept) == len(refs):
        return False
    meta["ownerReferences"] = kept
    return True


def contains_finalizer(obj: Object, finalizer: str) -> bool:
    return finalizer in ((obj.get("metadata") or {}).get("finalizers") or [])


def add_finalizer(obj: Object, finalizer: str) -> bool:
    """Adds the finalizer in memory; returns whether obj changed."""
    finalizers = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if finalizer in finalizers:
        return False
    finalizers.append(finalizer)
    return True


def remove_finalizer(obj: Object, finalizer: str) -> bool:
    """Removes every occurrence in memory; returns whether obj changed."""
    meta = obj.setdefault("metadata", {})
    finalizers = meta.get("finalizers") or []
    kept = [f for f in finalizers if f != finalizer]
    if len(kept) == len(finalizers):
        return False
    meta["finalizers"] = kept
    return True


async def _run(mutate: Mutate, obj: Object, key: tuple[str, str | None]) -> None:
    result = mutate(obj)
    if inspect.isawaitable(result):
        await result
    meta = obj.get("metadata") or {}
    if (meta.get("name"), meta.get("namespace")) != key:
        raise ValueError("mutate must not change the object's name or namespace")


def _ident(obj: Object) -> tuple[str, str, str, str | None]:
    meta = obj.get("metadata") or {}
    return obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")


async def create_or_update(
    client: _Writer, obj: Object, mutate: Mutate
) -> tuple[Object, OperationResult]:
    """Reads obj's current state, applies mutate, and creates or updates when needed.
    Returns the object as the server has it afterwards and what was done."""
    api_version, kind, name, namespace = _ident(obj)
    try:
        desired = await client.get(api_version, kind, name, namespace)
    except NotFoundError:
        desired = copy_object(obj)
        await _run(mutate, desired, (name, namespace))
        return await client.create(desired), OperationResult.CREATED
    current = copy_object(desired)
    await _run(mutate, desired, (name, namespace))
    if desired == current:
        return current, OperationResult.UNCHANGED
    return await client.update(desired), OperationResult.UPDATED


async def create_or_patch(
    client: _Writer, obj: Object, mutate: Mutate
) -> tuple[Object, OperationResult]:
    """Like create_or_update, but writes merge patches: one for everything except status,
    then one to the status subresource. Status set by mutate is not written on create."""
    api_version, kind, name, namespace = _ident(obj)
    try:
        desired = await client.get(api_version, kind, name, namespace)
    except NotFoundError:
        desired = copy_object(obj)
        await _run(mutate, desired, (name, namespace))
        desired.pop("status", None)
        return await client.create(desired), OperationResult.CREATED
    current = copy_object(desired)
    await _run(mutate, desired, (name, namespace))
    main_patch = merge_patch(
        {k: v for k, v in current.items() if k != "status"},
        {k: v for k, v in desired.items() if k != "status"},
    )
    status_patch = merge_patch({"status": current.get("status")}, {"status": desired.get("status")})
    result, changed_main = current, bool(main_patch)
    if changed_main:
        result = await client.patch(current, main_patch, PatchType.MERGE)
    if status_patch:
        status_client = getattr(client, "status", None)
        if status_client is None:
            raise TypeError("client has no status() subresource writer")
        result = await status_client().patch(current, status_patch, PatchType.MERGE)
        return result, (
            OperationResult.UPDATED_STATUS if changed_main else OperationResult.UPDATED_STATUS_ONLY
        )
    return result, OperationResult.UPDATED if changed_main else OperationResult.UNCHANGED
