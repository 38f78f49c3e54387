"""Informers never miss an event: in order under load, and after every kind of watch failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from controller_runtime.cache import SharedIndexInformer, object_key
from controller_runtime.client import Client
from controller_runtime.envtest import APISERVER, TcpProxy, eventually

from .conftest import FaultCluster, Recorder

SELECTOR = "test=informer"


def cm(name: str, namespace: str, value: str = "0") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"test": "informer"}},
        "data": {"v": value},
    }


async def bounded(calls: Iterable[Callable[[], Awaitable[Any]]], limit: int = 16) -> None:
    gate = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(run(c) for c in calls))


async def server_state(client: Client, namespace: str) -> dict[str, str]:
    listed = await client.list("v1", "ConfigMap", namespace, label_selector=SELECTOR)
    return {object_key(o): o["metadata"]["resourceVersion"] for o in listed["items"]}


def store_state(informer: SharedIndexInformer) -> dict[str, str]:
    return {object_key(o): o["metadata"]["resourceVersion"] for o in informer.store.objects()}


async def converge(informer: SharedIndexInformer, client: Client, namespace: str) -> None:
    async def both() -> tuple[dict[str, str], dict[str, str]]:
        return store_state(informer), await server_state(client, namespace)

    await eventually(both, lambda s: s[0] == s[1], timeout=90, message="store equals server")


async def start_informer(
    client: Client, namespace: str, **options: Any
) -> tuple[SharedIndexInformer, Recorder]:
    # Server-side selector: the namespace's kube-root-ca.crt ConfigMap is never transferred.
    informer = SharedIndexInformer(
        client, "v1", "ConfigMap", namespace=namespace, label_selector=SELECTOR, **options
    )
    recorder = Recorder()
    registration = informer.add_event_handler(recorder)
    informer.start()
    assert await informer.wait_for_sync(timeout=30)
    await eventually(registration.has_synced, timeout=10, message="handler synced")
    return informer, recorder


@dataclass
class Proxied:
    """A namespace, a client straight to an API server, and one through a TcpProxy to it."""

    direct: Client
    via_proxy: Client
    proxy: TcpProxy
    namespace: str


@asynccontextmanager
async def proxied(
    cluster: FaultCluster, namespace_on: Any, server: str | None = None
) -> AsyncIterator[Proxied]:
    url = server or cluster.cp.server
    direct = await cluster.client(server)
    namespace = await namespace_on(direct)
    proxy = TcpProxy("127.0.0.1", int(url.rsplit(":", 1)[1]))
    await proxy.start()
    via_proxy = await cluster.client(f"https://{proxy.address}")
    try:
        yield Proxied(direct, via_proxy, proxy, namespace)
    finally:
        await proxy.stop()
        await direct.rest.close()
        await via_proxy.rest.close()


async def test_observes_1000_objects_in_order(kube: Client, namespace: str) -> None:
    for i in range(5):  # present before the start: they arrive as the initial list
        await kube.create(cm(f"pre-{i}", namespace))
    informer, rec = await start_informer(kube, namespace)
    try:
        assert rec.initial_adds == 5
        names = [f"cm-{i:04d}" for i in range(1000)]
        await bounded(partial(kube.create, cm(n, namespace)) for n in names)
        await bounded(partial(kube.patch, cm(n, namespace), {"data": {"v": "1"}}) for n in names)
        await bounded(partial(kube.delete, cm(n, namespace)) for n in names[::2])

        await eventually(lambda: len(rec.of("delete")), lambda n: n == 500, timeout=90)
        await converge(informer, kube, namespace)

        watched = rec.events[5:]
        # Watch events arrive in the server's order: resourceVersions strictly increase.
        rvs = [int(rv) for _, _, rv in watched]
        assert rvs == sorted(rvs)
        assert len(set(rvs)) == len(rvs)
        per_key: dict[str, list[str]] = {}
        for event, key, _ in watched:
            per_key.setdefault(key, []).append(event)
        for i, name in enumerate(names):
            expected = ["add", "update"] + (["delete"] if i % 2 == 0 else [])
            assert per_key[f"{namespace}/{name}"] == expected, name
        assert len(informer.store) == 505
    finally:
        await informer.stop()


async def test_recovers_from_apiserver_restart(
    fault_cluster: FaultCluster, namespace_on: Any
) -> None:
    primary = await fault_cluster.client()
    secondary = await fault_cluster.client(fault_cluster.secondary_url)
    namespace = await namespace_on(primary)
    for i in range(20):
        await primary.create(cm(f"o-{i}", namespace))
    informer, rec = await start_informer(primary, namespace)
    try:
        await fault_cluster.cp.stop_component(APISERVER)
        # The informer's server is down; the cluster changes through the other one.
        for i in range(10):
            await secondary.create(cm(f"new-{i}", namespace))
        for i in range(10):
            await secondary.patch(cm(f"o-{i}", namespace), {"data": {"v": "changed"}})
        for i in range(10, 15):
            await secondary.delete(cm(f"o-{i}", namespace))
        await fault_cluster.cp.start_component(APISERVER)

        await converge(informer, secondary, namespace)
        assert {f"{namespace}/new-{i}" for i in range(10)} <= rec.of("add")
        assert {f"{namespace}/o-{i}" for i in range(10, 15)} <= rec.of("delete") | rec.of(
            "tombstone"
        )
    finally:
        await informer.stop()
        await primary.rest.close()
        await secondary.rest.close()


async def test_recovers_from_cut_connections_without_relisting(
    fault_cluster: FaultCluster, namespace_on: Any
) -> None:
    async with proxied(fault_cluster, namespace_on) as p:
        await cut_connections_scenario(p)


async def cut_connections_scenario(p: Proxied) -> None:
    direct, proxy, namespace = p.direct, p.proxy, p.namespace
    informer, rec = await start_informer(p.via_proxy, namespace)
    try:
        for i in range(10):
            await direct.create(cm(f"before-{i}", namespace))
        await converge(informer, direct, namespace)

        proxy.cut()
        for i in range(10):
            await direct.create(cm(f"during-{i}", namespace))
        for i in range(5):
            await direct.delete(cm(f"before-{i}", namespace))
        proxy.restore()

        await converge(informer, direct, namespace)
        assert {f"{namespace}/during-{i}" for i in range(10)} <= rec.of("add")
        assert {f"{namespace}/before-{i}" for i in range(5)} <= rec.of("delete")
        # The watch resumed from its resourceVersion: one list in total, none after the cut.
        assert informer.reflector.stats.lists == 1
        assert informer.reflector.stats.watches >= 2
    finally:
        await informer.stop()


async def test_watchdog_restarts_a_silent_stream(
    fault_cluster: FaultCluster, namespace_on: Any
) -> None:
    async with proxied(fault_cluster, namespace_on) as p:
        await silent_stream_scenario(p)


async def silent_stream_scenario(p: Proxied) -> None:
    direct, proxy, namespace = p.direct, p.proxy, p.namespace
    informer, rec = await start_informer(p.via_proxy, namespace, watchdog_timeout=2.0)
    try:
        # A half-dead path: the connection stays open but nothing arrives.
        proxy.blackhole()
        for i in range(10):
            await direct.create(cm(f"unseen-{i}", namespace))
        proxy.restore()  # new connections work again; the silent one stays silent

        await converge(informer, direct, namespace)
        assert informer.reflector.stats.watchdog_restarts >= 1
        assert {f"{namespace}/unseen-{i}" for i in range(10)} <= rec.of("add")
    finally:
        await informer.stop()


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "paginated-list"])
async def test_relists_when_resource_version_is_compacted(
    fault_cluster: FaultCluster, namespace_on: Any, watch_list: bool
) -> None:
    # Through the secondary API server (no watch cache), a resourceVersion older than the
    # etcd compaction cannot be served: the watch answers 410 Gone and the informer relists.
    async with proxied(fault_cluster, namespace_on, fault_cluster.secondary_url) as p:
        await compaction_scenario(p, fault_cluster, watch_list)


async def compaction_scenario(p: Proxied, fault_cluster: FaultCluster, watch_list: bool) -> None:
    direct, proxy, namespace = p.direct, p.proxy, p.namespace
    for i in range(10):
        await direct.create(cm(f"keep-{i}", namespace))
    informer, rec = await start_informer(p.via_proxy, namespace, use_watch_list=watch_list)
    try:
        proxy.cut()
        for i in range(5):
            await direct.delete(cm(f"keep-{i}", namespace))
        for i in range(5):
            await direct.create(cm(f"late-{i}", namespace))
        await fault_cluster.cp.compact_etcd()
        proxy.restore()

        await converge(informer, direct, namespace)
        stats = informer.reflector.stats
        assert stats.relists_after_gone >= 1
        assert stats.lists >= 2
        assert stats.watch_lists == (stats.lists if watch_list else 0)
        # Deletions the informer never saw arrive as tombstones with the last known state.
        assert {f"{namespace}/keep-{i}" for i in range(5)} <= rec.of("tombstone")
        assert {f"{namespace}/late-{i}" for i in range(5)} <= rec.of("add")
    finally:
        await informer.stop()
