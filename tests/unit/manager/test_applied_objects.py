"""The table of our last applies: when an apply may be answered from the cache, and pruning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller_runtime.manager.applied import AppliedObjects


@dataclass
class FakeStore:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.objects.get(key)


@dataclass
class FakeInformer:
    store: FakeStore = field(default_factory=FakeStore)
    namespace: str | None = None
    synced: bool = True

    def has_synced(self) -> bool:
        return self.synced


class FakeCache:
    def __init__(self) -> None:
        self.informers: dict[tuple[str, str], FakeInformer] = {("v1", "ConfigMap"): FakeInformer()}

    def hold(self, name: str, rv: str) -> None:
        self.informers["v1", "ConfigMap"].store.objects[f"ns/{name}"] = configmap(name, rv)


def configmap(name: str, rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns"}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def table() -> tuple[AppliedObjects, FakeCache]:
    cache = FakeCache()
    return AppliedObjects(cache), cache  # type: ignore[arg-type]


def applied(objects: AppliedObjects, name: str, rv: str) -> None:
    key = objects.key(configmap(name), "m", True)
    assert key is not None
    digest, _ = objects.unchanged(key, configmap(name))
    objects.record(key, digest, configmap(name, rv))


def test_unchanged_when_the_cache_holds_the_resource_version_our_apply_returned() -> None:
    objects, cache = table()
    applied(objects, "a", "7")
    cache.hold("a", "7")
    key = objects.key(configmap("a"), "m", True)
    assert key is not None
    _, answer = objects.unchanged(key, configmap("a"))
    assert answer == configmap("a", "7")


def test_not_unchanged_while_the_cache_lags_behind_our_apply() -> None:
    objects, cache = table()
    applied(objects, "a", "7")
    cache.hold("a", "6")
    key = objects.key(configmap("a"), "m", True)
    assert key is not None
    assert objects.unchanged(key, configmap("a"))[1] is None


def test_not_unchanged_for_an_informer_not_synced() -> None:
    objects, cache = table()
    applied(objects, "a", "7")
    cache.hold("a", "7")
    cache.informers["v1", "ConfigMap"].synced = False
    key = objects.key(configmap("a"), "m", True)
    assert key is not None
    assert objects.unchanged(key, configmap("a"))[1] is None


def test_a_kind_without_an_informer_is_never_unchanged() -> None:
    objects, _ = table()
    secret = {**configmap("s"), "kind": "Secret"}
    key = objects.key(secret, "m", True)
    assert key is not None
    digest, answer = objects.unchanged(key, secret)
    objects.record(key, digest, {**secret, "metadata": {"resourceVersion": "1"}})
    assert objects.unchanged(key, secret)[1] is None
    assert answer is None


def test_no_key_without_a_field_manager() -> None:
    objects, _ = table()
    assert objects.key(configmap("a"), "", True) is None


def test_entries_of_objects_gone_from_the_cache_are_pruned_as_the_table_grows() -> None:
    objects, cache = table()
    cache.hold("kept", "1")
    applied(objects, "kept", "1")
    for i in range(1100):  # past the first prune threshold (1024)
        applied(objects, f"gone-{i}", "1")
    assert len(objects) < 1100
    key = objects.key(configmap("kept"), "m", True)
    assert key is not None
    assert objects.unchanged(key, configmap("kept"))[1] is not None
