"""When the reflector backs off: never after a healthy watch ends, always after a watch that
could not do anything (client-go's VeryShortWatchError)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from controller_runtime.cache import Backoff, SharedIndexInformer
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, TcpProxy, eventually
from controller_runtime.envtest.rest import admin_ssl_context

from .conftest import Recorder
from .test_informer import SELECTOR, cm, converge


class CountingBackoff(Backoff):
    """The reflector's backoff, counting the steps it hands out."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.steps = 0

    def next(self) -> float:
        self.steps += 1
        return super().next()


async def client_to(cluster: ControlPlane, host: str) -> Client:
    cfg = await load_config(cluster.kubeconfig)
    cfg.host = host
    return Client(RestClient(cfg, registry=CollectorRegistry()))


async def test_a_cut_healthy_watch_is_reopened_at_once_without_relisting(
    cluster: ControlPlane, kube: Client, namespace: str
) -> None:
    proxy = TcpProxy("127.0.0.1", int(cluster.server.rsplit(":", 1)[1]))
    await proxy.start()
    via_proxy = await client_to(cluster, f"https://{proxy.address}")
    informer = SharedIndexInformer(
        via_proxy, "v1", "ConfigMap", namespace=namespace, label_selector=SELECTOR
    )
    backoff = CountingBackoff()
    informer.reflector.backoff = backoff
    informer.add_event_handler(Recorder())
    informer.start()
    try:
        assert await informer.wait_for_sync(timeout=30)
        # The first cut ends the stream the state was loaded by (a streaming list, or the
        # first watch after a plain list); the second a watch opened after a cut.
        for cut in range(2):
            await kube.create(cm(f"before-{cut}", namespace))
            await converge(informer, kube, namespace)  # this watch delivered an event: healthy
            proxy.cut()
            proxy.restore()  # a blip: live connections drop, new ones are accepted
            await kube.create(cm(f"after-{cut}", namespace))
            await converge(informer, kube, namespace)
        assert informer.reflector.stats.lists == 1  # no relist
        assert backoff.steps == 0  # reopened without sleeping a backoff step
    finally:
        await informer.stop()
        await via_proxy.rest.close()
        await proxy.stop()


class WatchFront:
    """An HTTP front for an API server that passes every request but watches (and streaming
    lists), which it answers itself: "close" ends each at once (an empty 200 response), like a
    proxy that closes watches; "stall" sends the headers and then nothing, like a half-dead
    path. Either way the watch delivers no event."""

    def __init__(self, cluster: ControlPlane, watches: Literal["close", "stall"]) -> None:
        self.upstream = cluster.server
        self.ssl = admin_ssl_context(cluster.pki)
        self.mode = watches
        self.watches = 0
        self.url = ""
        self._stopping = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") in ("true", "1"):
            self.watches += 1
            if self.mode == "close":
                return web.Response(status=200, content_type="application/json")
            stalled = web.StreamResponse(headers={"Content-Type": "application/json"})
            await stalled.prepare(request)
            await self._stopping.wait()
            return stalled
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl)) as session,
            session.get(self.upstream + request.path_qs) as upstream,
        ):
            body = await upstream.read()
            return web.Response(status=upstream.status, body=body, content_type="application/json")

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[WatchFront]:
        app = web.Application()
        app.router.add_get("/{path:.*}", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield self
        finally:
            self._stopping.set()  # stalled handlers return, so shutting down does not wait
            await runner.cleanup()


@asynccontextmanager
async def informer_behind(
    front: WatchFront, cluster: ControlPlane, backoff: Backoff, **options: Any
) -> AsyncIterator[SharedIndexInformer]:
    # The namespace's content does not matter: the front's watches never deliver an event.
    client = await client_to(cluster, front.url)
    informer = SharedIndexInformer(client, "v1", "ConfigMap", namespace="default", **options)
    informer.reflector.backoff = backoff
    informer.start()
    try:
        yield informer
    finally:
        await informer.stop()
        await client.rest.close()


async def test_a_watch_that_ends_at_once_is_retried_after_a_backoff_step(
    control_plane: ControlPlane,
) -> None:
    backoff = CountingBackoff(initial=0.05, cap=0.05, jitter=0.0)  # steps, not their length
    async with (
        WatchFront(control_plane, watches="close").serving() as front,
        informer_behind(front, control_plane, backoff) as informer,
    ):
        assert await informer.wait_for_sync(timeout=30)  # by a plain list, passed through
        await eventually(lambda: front.watches, lambda n: n >= 10, timeout=60)
        # A watch that ends within a second without an event is an error: a backoff step,
        # then a relist. Each step costs two watch requests: the streaming list (it ends at
        # once too, so that attempt falls back to a plain list) and the watch.
        assert front.watches <= 2 * backoff.steps + 2


async def test_a_silent_stream_is_restarted_at_once(control_plane: ControlPlane) -> None:
    backoff = CountingBackoff()
    async with (
        WatchFront(control_plane, watches="stall").serving() as front,
        informer_behind(front, control_plane, backoff, watchdog_timeout=1.2) as informer,
    ):
        # The streaming list stalls before its initial state: the watchdog ends it and that
        # attempt lists instead, at once; every watch after it stalls and is restarted at once.
        assert await informer.wait_for_sync(timeout=30)
        stats = informer.reflector.stats
        await eventually(lambda: stats.watchdog_restarts, lambda n: n >= 3, timeout=60)
        assert backoff.steps == 0
        assert stats.lists == 1
