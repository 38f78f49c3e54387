from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from controller_runtime.cache import NAMESPACE_INDEX, Store, copy_object, object_key
from controller_runtime.cache.store import IndexConflictError, intern_keys


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


def keys_of(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item)


def test_intern_keys_returns_the_same_json_with_shared_key_strings() -> None:
    text = json.dumps(
        {
            "metadata": {"name": "a", "labels": {"app": "x"}},
            "spec": {"ports": [{"containerPort": 80}, [{"nested": [1, None, "s"]}], 2.5, True]},
        }
    )
    original, decoded = json.loads(text), json.loads(text)
    interned = intern_keys(decoded)
    assert interned == original
    assert decoded == original  # the input is left as it was
    # Keys decoded from another document are the very same string objects.
    assert all(key is sys.intern(key) for key in keys_of(interned))
    other = intern_keys(json.loads(text))
    assert other["spec"]["ports"][0].keys() == interned["spec"]["ports"][0].keys()
    assert next(iter(other["spec"])) is next(iter(interned["spec"]))
