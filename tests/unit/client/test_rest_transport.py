"""RestClient against a tiny local HTTP server: stream framing, retries, read timeouts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from kubernetes_asyncio.client import Configuration
from prometheus_client import CollectorRegistry

from controller_runtime.client import NotFoundError, RestClient
from controller_runtime.client.rest import ClientClosedError, default_user_agent

BIG = "x" * 300_000  # an event far larger than one read chunk
STOP = web.AppKey("stop", asyncio.Event)


async def watch_handler(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    events = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "1"}}},
        {"type": "MODIFIED", "object": {"metadata": {"name": "big"}, "data": {"v": BIG}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "3"}}},
    ]
    payload = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    for i in range(0, len(payload), 777):  # split at arbitrary points, also mid-line
        await resp.write(payload[i : i + 777])
    if request.query.get("hang"):
        await request.app[STOP].wait()  # silent until the server shuts down
    return resp


BINARY = bytes(range(256))  # not UTF-8, not JSON


async def binary(request: web.Request) -> web.Response:
    return web.Response(body=BINARY, content_type="application/octet-stream")


async def headers(request: web.Request) -> web.Response:
    """Answers the request's User-Agent and Accept headers, one a line, as text."""
    return web.Response(text=f"{request.headers['User-Agent']}\n{request.headers['Accept']}")


class Flaky:
    def __init__(self) -> None:
        self.calls = 0

    async def handler(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls < 3:
            return web.json_response(
                {"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "slow"},
                status=429,
                headers={"Retry-After": "0"},
            )
        return web.json_response({"ok": True})


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[tuple[str, Flaky]]:
    flaky = Flaky()

    async def missing(request: web.Request) -> web.Response:
        body = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "gone"}
        return web.json_response(body, status=404)

    app = web.Application()
    app[STOP] = asyncio.Event()
    app.router.add_get("/watch", watch_handler)
    app.router.add_get("/flaky", flaky.handler)
    app.router.add_get("/missing", missing)
    app.router.add_get("/binary", binary)
    app.router.add_get("/headers", headers)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", flaky
    app[STOP].set()
    await runner.cleanup()


def client(url: str, registry: CollectorRegistry) -> RestClient:
    cfg = Configuration()
    cfg.host = url
    return RestClient(cfg, registry=registry)


async def test_stream_reassembles_events_split_across_chunks(server: tuple[str, Flaky]) -> None:
    rest = client(server[0], CollectorRegistry())
    try:
        async with rest.stream("/watch") as events:
            got = [e async for e in events]
        assert [e["type"] for e in got] == ["ADDED", "MODIFIED", "BOOKMARK"]
        assert got[1]["object"]["data"]["v"] == BIG
    finally:
        await rest.close()


async def test_a_closed_client_refuses_requests_instead_of_reopening(
    server: tuple[str, Flaky],
) -> None:
    # A straggler (a reflector past the shutdown deadline) must not get a fresh connection
    # pool nobody would close: that was the "Unclosed client session" at interpreter exit.
    rest = client(server[0], CollectorRegistry())
    async with rest.stream("/watch") as events:
        assert [e async for e in events]  # the pool is open and works
    await rest.close()
    assert rest.closed
    with pytest.raises(ClientClosedError):
        await rest.request("GET", "/missing")


async def test_a_closed_client_refuses_watch_streams_instead_of_reopening(
    server: tuple[str, Flaky],
) -> None:
    rest = client(server[0], CollectorRegistry())
    await rest.close()
    with pytest.raises(ClientClosedError):
        async with rest.stream("/watch"):
            pass


async def test_silent_stream_times_out(server: tuple[str, Flaky]) -> None:
    rest = client(server[0], CollectorRegistry())

    async def drain() -> None:
        async with rest.stream("/watch", params={"hang": "1"}, read_timeout=0.5) as events:
            async for _ in events:
                pass

    try:
        with pytest.raises(TimeoutError):
            await drain()
    finally:
        await rest.close()


async def test_retry_after_is_honoured_and_counted(server: tuple[str, Flaky]) -> None:
    registry = CollectorRegistry()
    rest = client(server[0], registry)
    try:
        assert await rest.request("GET", "/flaky") == {"ok": True}
        with pytest.raises(NotFoundError, match="gone"):
            await rest.request("GET", "/missing")
    finally:
        await rest.close()
    host = rest.host_label
    labels = {"method": "GET", "host": host}
    assert registry.get_sample_value("rest_client_requests_total", {"code": "429", **labels}) == 2
    assert registry.get_sample_value("rest_client_requests_total", {"code": "200", **labels}) == 1
    assert registry.get_sample_value("rest_client_requests_total", {"code": "404", **labels}) == 1


async def test_request_raw_returns_the_body_as_sent(server: tuple[str, Flaky]) -> None:
    rest = client(server[0], CollectorRegistry())
    try:
        assert await rest.request_raw("GET", "/binary") == BINARY
    finally:
        await rest.close()


async def test_request_raw_errors_are_typed(server: tuple[str, Flaky]) -> None:
    rest = client(server[0], CollectorRegistry())
    try:
        with pytest.raises(NotFoundError, match="gone"):
            await rest.request_raw("GET", "/missing")
    finally:
        await rest.close()


async def sent_headers(rest: RestClient, accept: str = "*/*") -> list[str]:
    try:
        return (await rest.request_raw("GET", "/headers", accept=accept)).decode().split("\n")
    finally:
        await rest.close()


async def test_request_raw_sends_the_accept_it_is_given(server: tuple[str, Flaky]) -> None:
    rest = client(server[0], CollectorRegistry())
    assert (await sent_headers(rest, accept="text/plain"))[1] == "text/plain"


async def test_the_default_user_agent_names_no_operator(server: tuple[str, Flaky]) -> None:
    agent = (await sent_headers(client(server[0], CollectorRegistry())))[0]
    assert agent == default_user_agent()
    assert agent.endswith(" controller-runtime-python")
    assert "sei" not in agent.lower()


async def test_requests_carry_the_user_agent_given(server: tuple[str, Flaky]) -> None:
    cfg = Configuration()
    cfg.host = server[0]
    rest = RestClient(cfg, user_agent="my-operator/1.2", registry=CollectorRegistry())
    assert (await sent_headers(rest))[0] == "my-operator/1.2"
