from __future__ import annotations

import copy
from typing import Any

import pytest

from controller_runtime.client import NotFoundError, PatchType
from controller_runtime.controller.controllerutil import (
    AlreadyOwnedError,
    OperationResult,
    contains_finalizer,
    create_or_update,
    get_controller_of,
    has_owner_reference,
    remove_finalizer,
    remove_owner_reference,
    set_controller_reference,
    set_owner_reference,
)


def owner(name: str, ns: str | None = "ns", kind: str = "SeiNode") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "sei.io/v1alpha1", "kind": kind, "metadata": meta}


def child(ns: str | None = "ns") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "c"}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta}


def test_controller_reference_upsert_and_conflict() -> None:
    obj = child()
    set_controller_reference(owner("a"), obj)
    assert obj["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "name": "a",
            "uid": "uid-a",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    set_owner_reference(owner("b"), obj)
    with pytest.raises(AlreadyOwnedError, match="already owned by another SeiNode controller a"):
        set_controller_reference(owner("b"), obj)
    assert get_controller_of(obj)["name"] == "a"  # type: ignore[index]
    assert has_owner_reference(obj, owner("b"))
    assert remove_owner_reference(owner("b"), obj)
    assert not remove_owner_reference(owner("b"), obj)
    # Upgrading a plain owner reference of the same owner to controller keeps one entry.
    other = child()
    set_owner_reference(owner("a"), other)
    set_controller_reference(owner("a"), other)
    assert len(other["metadata"]["ownerReferences"]) == 1


def test_scope_rules() -> None:
    with pytest.raises(ValueError, match="cross-namespace"):
        set_controller_reference(owner("a", ns="one"), child(ns="two"))
    with pytest.raises(ValueError, match="cluster-scoped"):
        set_controller_reference(owner("a"), child(ns=None))
    cluster_owned = child()
    set_controller_reference(owner("node", ns=None, kind="Node"), cluster_owned)  # allowed
    with pytest.raises(ValueError, match="uid"):
        set_controller_reference(
            {"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}}, child()
        )


def test_finalizers() -> None:
    obj = child()
    obj["metadata"]["finalizers"] = ["a", "b", "a"]
    assert contains_finalizer(obj, "a")
    assert remove_finalizer(obj, "a")
    assert obj["metadata"]["finalizers"] == ["b"]
    assert not remove_finalizer(obj, "a")


class Store:
    """A writer over a dict, returning fresh copies as both real clients do."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.writes: list[str] = []

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        if name not in self.objects:
            raise NotFoundError(404, "NotFound", f'{kind} "{name}" not found')
        return copy.deepcopy(self.objects[name])

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.writes.append("create")
        self.objects[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.writes.append("update")
        self.objects[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    async def patch(
        self, obj: dict[str, Any], patch: Any, patch_type: PatchType = PatchType.MERGE
    ) -> dict[str, Any]:
        raise NotImplementedError


def label(value: str) -> Any:
    def mutate(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {})["app"] = value

    return mutate


async def test_create_or_update_leaves_the_callers_object_untouched() -> None:
    store, template = Store(), child()
    await create_or_update(store, template, label("a"))
    await create_or_update(store, template, label("b"))
    assert template == child()
    assert store.objects["c"]["metadata"]["labels"] == {"app": "b"}


async def test_create_or_update_writes_nothing_when_mutate_changes_nothing() -> None:
    store = Store()
    created, _ = await create_or_update(store, child(), label("a"))
    result, op = await create_or_update(store, child(), label("a"))
    assert (op, store.writes, result) == (OperationResult.UNCHANGED, ["create"], created)


async def test_create_or_update_sends_the_mutated_object() -> None:
    store = Store()
    await create_or_update(store, child(), label("a"))
    result, op = await create_or_update(store, child(), label("b"))
    assert (op, store.writes) == (OperationResult.UPDATED, ["create", "update"])
    assert result["metadata"]["labels"] == {"app": "b"}
