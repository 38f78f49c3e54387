from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.controller.controllerutil import (
    AlreadyOwnedError,
    contains_finalizer,
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
