from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.cache import NAMESPACE_INDEX, Store, copy_object, object_key
from controller_runtime.cache.store import IndexConflictError


def obj(name: str, ns: str | None = "default", **lbl: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": lbl}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta}


def by_app(o: dict[str, Any]) -> list[str]:
    app = o["metadata"]["labels"].get("app")
    return [app] if app else []


def names(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs)


def test_keys() -> None:
    assert object_key(obj("a")) == "default/a"
    assert object_key(obj("node-1", ns=None)) == "node-1"


def test_indexes_follow_updates_deletes_and_replace() -> None:
    store = Store({"app": by_app})
    store.put(obj("a", app="x"))
    store.put(obj("b", app="x"))
    store.put(obj("c", ns="other", app="y"))
    assert names(store.by_index("app", "x")) == ["a", "b"]
    assert names(store.by_index(NAMESPACE_INDEX, "other")) == ["c"]

    old = store.put(obj("a", app="y"))  # moves between buckets
    assert old is not None
    assert names(store.by_index("app", "x")) == ["b"]
    assert names(store.by_index("app", "y")) == ["a", "c"]

    store.delete("default/b")
    assert store.by_index("app", "x") == []
    assert "x" not in store.index_values("app")  # no empty buckets left behind

    previous = store.replace([obj("z", app="x")])
    assert sorted(previous) == ["default/a", "other/c"]
    assert names(store.by_index("app", "x")) == ["z"]
    assert store.by_index("app", "y") == []


def test_indexers_added_later_cover_existing_objects() -> None:
    store = Store()
    store.put(obj("a", app="x"))
    store.add_indexers({"app": by_app})
    assert names(store.by_index("app", "x")) == ["a"]
    with pytest.raises(IndexConflictError):
        store.add_indexers({"app": by_app})
    with pytest.raises(KeyError):
        store.by_index("nope", "x")


def test_copy_object_is_deep() -> None:
    original = {"a": [{"b": 1}], "c": {"d": "e"}}
    copied = copy_object(original)
    copied["a"][0]["b"] = 2
    copied["c"]["d"] = "f"
    assert original == {"a": [{"b": 1}], "c": {"d": "e"}}
