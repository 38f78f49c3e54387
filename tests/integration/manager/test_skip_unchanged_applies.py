"""The manager's client answers a server-side apply that would change nothing from the cache,
and sends every other one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.cache import Cache
from controller_runtime.client import Client, PatchType
from controller_runtime.envtest import eventually
from controller_runtime.manager import CachedClient

MANAGER = "skip-test"


@pytest_asyncio.fixture(loop_scope="session")
async def cached(kube: Client, namespace: str) -> AsyncIterator[CachedClient]:
    cache = Cache(kube, namespace=namespace)
    await cache.get_informer("v1", "ConfigMap")
    await cache.start()
    assert await cache.wait_for_cache_sync(30)
    try:
        yield CachedClient(cache, kube, skip_unchanged_applies=True)
    finally:
        await cache.stop()


def patches(registry: CollectorRegistry) -> float:
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "rest_client_requests_total" and sample.labels["method"] == "PATCH"
    )


def configmap(namespace: str, value: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": namespace},
        "data": {"key": value},
    }


async def apply(client: CachedClient, obj: dict[str, Any]) -> dict[str, Any]:
    return await client.apply(obj, field_manager=MANAGER, force=True)


async def cache_at(client: CachedClient, written: dict[str, Any]) -> None:
    rv = written["metadata"]["resourceVersion"]
    meta = written["metadata"]
    await eventually(
        lambda: client.cache.get("v1", "ConfigMap", meta["name"], meta["namespace"]),
        lambda obj: obj["metadata"]["resourceVersion"] == rv,
        timeout=30,
        message=f"cache at resourceVersion {rv}",
    )


async def test_the_same_apply_again_is_answered_from_the_cache(
    cached: CachedClient, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    first = await apply(cached, configmap(namespace))
    await cache_at(cached, first)
    sent = patches(metrics_registry)

    again = await apply(cached, configmap(namespace))

    assert patches(metrics_registry) == sent
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["data"] == {"key": "a"}


async def test_an_apply_is_sent_when_someone_changed_the_object_since(
    cached: CachedClient, kube: Client, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    first = await apply(cached, configmap(namespace))
    drifted = await kube.patch(first, {"data": {"key": "edited"}}, PatchType.MERGE)
    await cache_at(cached, drifted)
    sent = patches(metrics_registry)

    healed = await apply(cached, configmap(namespace))

    assert patches(metrics_registry) == sent + 1
    assert healed["data"] == {"key": "a"}


async def test_an_apply_of_another_configuration_is_sent(
    cached: CachedClient, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    first = await apply(cached, configmap(namespace))
    await cache_at(cached, first)
    sent = patches(metrics_registry)

    changed = await apply(cached, configmap(namespace, "b"))

    assert patches(metrics_registry) == sent + 1
    assert changed["data"] == {"key": "b"}


async def test_an_apply_recreates_an_object_deleted_since(
    cached: CachedClient, kube: Client, namespace: str
) -> None:
    first = await apply(cached, configmap(namespace))
    await cache_at(cached, first)
    await kube.delete(first)
    await eventually(
        lambda: cached.cache.list("v1", "ConfigMap", namespace),
        lambda listed: all(i["metadata"]["name"] != "applied" for i in listed["items"]),
        timeout=30,
        message="the cache saw the delete",
    )

    recreated = await apply(cached, configmap(namespace))

    assert recreated["metadata"]["uid"] != first["metadata"]["uid"]
    assert (await kube.get("v1", "ConfigMap", "applied", namespace))["data"] == {"key": "a"}


async def test_an_apply_with_other_options_is_sent(
    cached: CachedClient, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    first = await apply(cached, configmap(namespace))
    await cache_at(cached, first)
    sent = patches(metrics_registry)

    await cached.apply(configmap(namespace), field_manager="someone-else", force=True)

    assert patches(metrics_registry) == sent + 1


async def test_without_the_option_every_apply_is_sent(
    cached: CachedClient, kube: Client, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    plain = CachedClient(cached.cache, kube)
    first = await apply(plain, configmap(namespace))
    await cache_at(plain, first)
    sent = patches(metrics_registry)

    await apply(plain, configmap(namespace))

    assert patches(metrics_registry) == sent + 1
