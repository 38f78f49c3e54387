"""Reads served from shared informers: started on first use, copies, selectors, indexes."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.cache import ByObject, Cache, CacheNotStartedError, ResourceNotCachedError
from controller_runtime.client import Client, NoKindMatchError, NotFoundError
from controller_runtime.envtest import eventually


def cm(name: str, namespace: str, owner: str = "", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"owner": owner},
    }


async def test_reads_start_informers_and_return_copies(kube: Client, namespace: str) -> None:
    await kube.create(cm("a", namespace, tier="web"))
    cache = Cache(kube)
    with pytest.raises(CacheNotStartedError):
        await cache.get("v1", "ConfigMap", "a", namespace)
    await cache.start()
    try:
        got = await cache.get("v1", "ConfigMap", "a", namespace)  # starts + syncs the informer
        assert got["metadata"]["labels"] == {"tier": "web"}
        assert "managedFields" not in got["metadata"]  # stripped before caching
        got["metadata"]["labels"]["tier"] = "mutated"
        again = await cache.get("v1", "ConfigMap", "a", namespace)
        assert again["metadata"]["labels"] == {"tier": "web"}

        informer = await cache.get_informer("v1", "ConfigMap")
        assert cache.informers == {("v1", "ConfigMap"): informer}  # one shared informer

        await kube.create(cm("b", namespace, tier="db"))
        await eventually(
            lambda: cache.list("v1", "ConfigMap", namespace, label_selector="tier in (web,db)"),
            lambda lst: len(lst["items"]) == 2,
            timeout=30,
        )
        only_db = await cache.list("v1", "ConfigMap", namespace, label_selector="tier!=web,tier")
        assert [o["metadata"]["name"] for o in only_db["items"]] == ["b"]
        with pytest.raises(NotFoundError):
            await cache.get("v1", "ConfigMap", "missing", namespace)
        with pytest.raises(NoKindMatchError):
            await cache.get("nothere.example.com/v1", "Nope", "x", namespace)
    finally:
        await cache.stop()


async def test_field_index(kube: Client, namespace: str) -> None:
    for name, owner in (("x", "alice"), ("y", "bob"), ("z", "alice")):
        await kube.create(cm(name, namespace, owner=owner))
    cache = Cache(kube)
    await cache.index_field(
        "v1", "ConfigMap", "data.owner", lambda o: [o.get("data", {}).get("owner", "")]
    )
    await cache.start()
    try:
        assert await cache.wait_for_cache_sync(timeout=30)
        mine = await cache.list("v1", "ConfigMap", namespace, field_selector="data.owner=alice")
        assert sorted(o["metadata"]["name"] for o in mine["items"]) == ["x", "z"]
        everywhere = await cache.list("v1", "ConfigMap", field_selector="data.owner==bob")
        assert [o["metadata"]["name"] for o in everywhere["items"]] == ["y"]
        with pytest.raises(ValueError, match="non-exact field matches"):
            await cache.list("v1", "ConfigMap", namespace, field_selector="data.owner!=bob")
        with pytest.raises(ValueError, match="no index for field"):
            await cache.list("v1", "ConfigMap", namespace, field_selector="data.other=1")
    finally:
        await cache.stop()


async def test_scoped_cache_holds_only_its_selection(kube: Client, namespace: str) -> None:
    await kube.create(cm("mine", namespace, managed="yes"))
    await kube.create(cm("foreign", namespace))
    cache = Cache(
        kube,
        namespace=namespace,
        by_object={("v1", "ConfigMap"): ByObject(label_selector="managed=yes")},
        fail_on_missing_informer=False,
    )
    await cache.start()
    try:
        assert (await cache.get("v1", "ConfigMap", "mine", namespace))["metadata"]["name"]
        # Outside the server-side selector: never transferred, so NotFound from the cache.
        with pytest.raises(NotFoundError):
            await cache.get("v1", "ConfigMap", "foreign", namespace)
        with pytest.raises(ResourceNotCachedError):
            await cache.get("v1", "ConfigMap", "mine", "another-namespace")
        informer = await cache.get_informer("v1", "ConfigMap")
        assert [o["metadata"]["name"] for o in informer.store.objects()] == ["mine"]
    finally:
        await cache.stop()


async def test_fail_on_missing_informer(kube: Client, namespace: str) -> None:
    cache = Cache(kube, fail_on_missing_informer=True)
    await cache.start()
    try:
        with pytest.raises(ResourceNotCachedError):
            await cache.get("v1", "Secret", "s", namespace)
        await cache.get_informer("v1", "Secret")
        with pytest.raises(NotFoundError):
            await cache.get("v1", "Secret", "s", namespace)
    finally:
        await cache.stop()
