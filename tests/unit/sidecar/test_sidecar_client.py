"""The aiohttp sidecar client against raw HTTP handlers: what it sends, how it reads every
well-formed answer, and that every malformed, failing or stalled answer becomes a typed
SidecarError (never another exception, never a wait past the timeout)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from controllers.sidecar.api import (
    SidecarError,
    SidecarRejectedError,
    SidecarStatus,
    SidecarTaskNotFoundError,
    SidecarUnavailableError,
    TaskResultStatus,
)
from controllers.sidecar.client import HTTPSidecarClient, HTTPSidecarClientFactory

TASK_ID = "3f0c4a52-8d0e-5b8e-9d59-6a1b2c3d4e5f"
NODE_ID = "0123456789abcdef0123456789abcdef01234567"
SHORT_TIMEOUT = 0.5  # the hang tests wait this long for the client to give up

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RawSidecar:
    """An HTTP server whose every answer is the current ``handler``; records requests."""

    def __init__(self) -> None:
        self.handler: Handler = _static(200, {})
        self.requests: list[tuple[str, str, bytes, str | None]] = []
        self.raw_paths: list[str] = []
        self.release = asyncio.Event()
        self.url = ""

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path, body, request.content_type))
        self.raw_paths.append(request.raw_path)
        return await self.handler(request)


def _static(status: int, body: Any = None, raw: bytes | None = None) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if raw is not None:
            return web.Response(status=status, body=raw, content_type="application/json")
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)

    return handle


@pytest_asyncio.fixture(loop_scope="session")
async def raw() -> AsyncIterator[RawSidecar]:
    server = RawSidecar()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.dispatch)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/prefix/nodes/a"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def factory() -> AsyncIterator[HTTPSidecarClientFactory]:
    async with HTTPSidecarClientFactory(timeout=SHORT_TIMEOUT) as f:
        yield f


@pytest.fixture
def client(raw: RawSidecar, factory: HTTPSidecarClientFactory) -> HTTPSidecarClient:
    return factory.for_url(raw.url)


# --- requests and well-formed answers -----------------------------------------------------------


async def test_submit_posts_id_type_and_params_as_json(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(201, {"id": TASK_ID})
    answered = await client.submit_task("config-apply", {"mode": "full"}, TASK_ID)
    method, path, body, content_type = raw.requests[-1]
    assert (answered, method, path, content_type) == (
        TASK_ID,
        "POST",
        "/prefix/nodes/a/v0/tasks",
        "application/json",
    )
    assert json.loads(body) == {"id": TASK_ID, "type": "config-apply", "params": {"mode": "full"}}


async def test_submit_omits_id_and_params_when_none(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(201, {"id": TASK_ID})
    await client.submit_task("mark-ready")
    assert json.loads(raw.requests[-1][2]) == {"type": "mark-ready"}


async def test_submit_accepts_202(raw: RawSidecar, client: HTTPSidecarClient) -> None:
    raw.handler = _static(202, {"id": TASK_ID})
    assert await client.submit_task("mark-ready") == TASK_ID


async def test_submit_400_is_a_rejection_with_the_sidecars_message(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(400, {"error": "unknown task type: warp-drive"})
    with pytest.raises(SidecarRejectedError) as caught:
        await client.submit_task("warp-drive")
    assert str(caught.value) == "sidecar rejected warp-drive task: unknown task type: warp-drive"


async def test_submit_400_without_json_still_names_the_task_type(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(400, raw=b"bad things")
    with pytest.raises(
        SidecarRejectedError, match=r"^sidecar rejected mark-ready task: 'bad things'$"
    ):
        await client.submit_task("mark-ready")


@pytest.mark.parametrize("answer", [{}, {"id": ""}, {"id": None}, {"id": 7}])
async def test_submit_answer_without_an_id_is_an_error(
    raw: RawSidecar, client: HTTPSidecarClient, answer: dict[str, Any]
) -> None:
    raw.handler = _static(201, answer)
    with pytest.raises(SidecarUnavailableError, match="no task id"):
        await client.submit_task("mark-ready")


async def test_submit_other_status_is_an_error_with_the_status(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(409, {"error": "busy"})
    with pytest.raises(SidecarError, match="HTTP 409: busy"):
        await client.submit_task("mark-ready")


async def test_get_task_reads_a_task_result(raw: RawSidecar, client: HTTPSidecarClient) -> None:
    answer = {
        "id": TASK_ID,
        "type": "configure-genesis",
        "status": "failed",
        "run": 2,
        "params": {"a": 1},
        "error": "no bucket",
        "submittedAt": "2026-01-01T00:00:00Z",
        "completedAt": "2026-01-01T00:00:01Z",
    }
    raw.handler = _static(200, answer)
    result = await client.get_task(TASK_ID)
    assert raw.requests[-1][:2] == ("GET", f"/prefix/nodes/a/v0/tasks/{TASK_ID}")
    assert (result.id, result.type, result.status, result.error, result.params) == (
        TASK_ID,
        "configure-genesis",
        TaskResultStatus.FAILED,
        "no bucket",
        {"a": 1},
    )
    assert (result.submitted_at, result.completed_at, result.raw) == (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:01Z",
        answer,
    )


async def test_get_task_404_is_task_not_found(raw: RawSidecar, client: HTTPSidecarClient) -> None:
    raw.handler = _static(404, {"error": "task not found"})
    with pytest.raises(SidecarTaskNotFoundError, match=TASK_ID):
        await client.get_task(TASK_ID)


async def test_get_task_quotes_the_id_into_one_path_segment(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(404, {"error": "task not found"})
    with pytest.raises(SidecarTaskNotFoundError):
        await client.get_task("../status")
    assert raw.raw_paths[-1] == "/prefix/nodes/a/v0/tasks/..%2Fstatus"


@pytest.mark.parametrize("value", ["Initializing", "Ready"])
async def test_status_reads_both_states(
    raw: RawSidecar, client: HTTPSidecarClient, value: str
) -> None:
    raw.handler = _static(200, {"status": value})
    assert await client.status() == SidecarStatus(value)


async def test_node_id_reads_forty_hex_digits(raw: RawSidecar, client: HTTPSidecarClient) -> None:
    raw.handler = _static(200, {"nodeId": NODE_ID})
    assert await client.node_id() == NODE_ID


async def test_node_id_500_carries_the_sidecars_message(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(500, {"error": "node_key.json not found"})
    with pytest.raises(SidecarError, match=r"HTTP 500: node_key\.json not found"):
        await client.node_id()


# --- malformed answers ---------------------------------------------------------------------------

Call = Callable[[HTTPSidecarClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "submit": lambda c: c.submit_task("mark-ready", None, TASK_ID),
    "get_task": lambda c: c.get_task(TASK_ID),
    "status": lambda c: c.status(),
    "node_id": lambda c: c.node_id(),
}
SUCCESS = {"submit": 201, "get_task": 200, "status": 200, "node_id": 200}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"id": ', b"[1, 2]", b'"Ready"', b"null", b"[" * 100_000, b"\xff\xfe"],
    ids=["empty", "text", "truncated", "array", "string", "null", "deep", "binary"],
)
async def test_a_body_that_is_not_a_json_object_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, call: str, body: bytes
) -> None:
    raw.handler = _static(SUCCESS[call], raw=body)
    with pytest.raises(SidecarUnavailableError):
        await CALLS[call](client)


@pytest.mark.parametrize("call", CALLS)
async def test_fields_of_the_wrong_type_are_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, call: str
) -> None:
    raw.handler = _static(
        SUCCESS[call], {"id": 42, "type": 7, "status": ["x"], "nodeId": None, "error": {}}
    )
    with pytest.raises(SidecarUnavailableError):
        await CALLS[call](client)


@pytest.mark.parametrize(
    "change",
    [
        {"id": "another"},
        {"type": None},
        {"status": "exploded"},
        {"status": None},
        {"error": 5},
        {"params": [1]},
        {"submittedAt": 17},
        {"completedAt": {}},
    ],
    ids=lambda c: next(iter(c)),
)
async def test_a_task_result_with_one_bad_field_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, change: dict[str, Any]
) -> None:
    good = {"id": TASK_ID, "type": "mark-ready", "status": "completed", "submittedAt": "t"}
    raw.handler = _static(200, good | change)
    with pytest.raises(SidecarUnavailableError, match=next(iter(change))):
        await client.get_task(TASK_ID)


@pytest.mark.parametrize("value", ["ready", "", None, 1])
async def test_an_unknown_status_value_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, value: object
) -> None:
    raw.handler = _static(200, {"status": value})
    with pytest.raises(SidecarUnavailableError, match="unknown status"):
        await client.status()


@pytest.mark.parametrize("value", ["", "abc", NODE_ID + "0", NODE_ID.upper(), "g" * 40])
async def test_a_node_id_that_is_not_forty_hex_digits_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, value: str
) -> None:
    raw.handler = _static(200, {"nodeId": value})
    with pytest.raises(SidecarUnavailableError, match="not 40 hex digits"):
        await client.node_id()


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_are_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, call: str, status: int
) -> None:
    raw.handler = _static(status, raw=b"<html>bad gateway</html>")
    with pytest.raises(SidecarUnavailableError, match=f"HTTP {status}"):
        await CALLS[call](client)


@pytest.mark.parametrize("call", CALLS)
async def test_500_is_a_sidecar_error_with_its_message(
    raw: RawSidecar, client: HTTPSidecarClient, call: str
) -> None:
    raw.handler = _static(500, {"error": "database is locked"})
    with pytest.raises(SidecarError, match="HTTP 500: database is locked"):
        await CALLS[call](client)


@pytest.mark.parametrize("call", CALLS)
async def test_a_redirect_is_not_followed(
    raw: RawSidecar, client: HTTPSidecarClient, call: str
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/elsewhere")

    raw.handler = redirect
    with pytest.raises(SidecarError, match="HTTP 302"):
        await CALLS[call](client)
    assert len(raw.requests) == 1


@pytest.mark.parametrize("call", CALLS)
async def test_a_hang_past_the_timeout_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient, call: str
) -> None:
    async def hang(request: web.Request) -> web.StreamResponse:
        await raw.release.wait()
        return web.Response()

    raw.handler = hang
    with pytest.raises(
        SidecarUnavailableError, match=f"no complete answer within {SHORT_TIMEOUT}s"
    ):
        await CALLS[call](client)


async def test_a_body_dripping_slower_than_the_timeout_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    # Each byte arrives well within the timeout; only a deadline on the whole answer ends it.
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for byte in b'{"status": "Ready"' + b" " * 10_000:
            await response.write(bytes([byte]))
            try:
                await asyncio.wait_for(raw.release.wait(), SHORT_TIMEOUT / 10)
            except TimeoutError:
                continue
            break
        return response

    raw.handler = drip
    with pytest.raises(SidecarUnavailableError, match="no complete answer"):
        await client.status()


async def test_a_huge_declared_body_is_refused_unread(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    raw.handler = _static(200, raw=b" " * (2 << 20))
    with pytest.raises(SidecarUnavailableError, match="answer larger than 1048576 bytes"):
        await client.status()


async def test_a_huge_chunked_body_is_cut_at_the_cap(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(64):
                await response.write(b" " * (64 << 10))
        except ConnectionError:
            pass
        return response

    raw.handler = flood
    with pytest.raises(SidecarUnavailableError, match="answer larger than"):
        await client.status()


async def test_a_closed_connection_is_unavailable(
    raw: RawSidecar, client: HTTPSidecarClient
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    raw.handler = drop
    with pytest.raises(SidecarUnavailableError):
        await client.status()


async def test_a_refused_connection_is_unavailable(factory: HTTPSidecarClientFactory) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    client = factory.for_url(f"http://127.0.0.1:{port}")
    with pytest.raises(SidecarUnavailableError, match="cannot connect"):
        await client.status()


async def test_an_unresolvable_host_is_unavailable(factory: HTTPSidecarClientFactory) -> None:
    client = factory.for_url("http://node-0.node.nowhere.invalid:7777")
    with pytest.raises(SidecarUnavailableError, match="cannot connect"):
        await client.status()


async def test_a_malformed_base_url_is_an_error_on_use_not_on_construction(
    factory: HTTPSidecarClientFactory,
) -> None:
    client = factory.for_url("http://[::1")
    with pytest.raises(SidecarError):
        await client.status()


async def test_a_closed_factory_fails_every_call_as_unavailable(raw: RawSidecar) -> None:
    raw.handler = _static(200, {"status": "Ready"})
    factory = HTTPSidecarClientFactory()
    client = factory.for_url(raw.url)
    assert await client.status() is SidecarStatus.READY
    await factory.close()
    with pytest.raises(SidecarUnavailableError, match="closed"):
        await client.status()


# --- the factory ---------------------------------------------------------------------------------


async def test_factory_builds_the_default_address() -> None:
    factory = HTTPSidecarClientFactory()
    assert (
        factory("archive", "sei", 0).base_url
        == "http://archive-0.archive.sei.svc.cluster.local:7777"
    )
    await factory.close()


async def test_factory_uses_the_template_and_the_nodes_port() -> None:
    factory = HTTPSidecarClientFactory("http://127.0.0.1:{port}/n/{namespace}/{name}")
    assert factory("a", "b", 9001).base_url == "http://127.0.0.1:9001/n/b/a"
    await factory.close()


async def test_factory_uses_a_resolver_with_the_defaulted_port() -> None:
    seen: list[tuple[str, str, int]] = []

    def resolve(name: str, namespace: str, port: int) -> str:
        seen.append((name, namespace, port))
        return "http://127.0.0.1:1234/"

    factory = HTTPSidecarClientFactory(resolve)
    assert factory("a", "b", 0).base_url == "http://127.0.0.1:1234"
    assert seen == [("a", "b", 7777)]
    await factory.close()


def test_factory_rejects_a_bad_template_at_construction() -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        HTTPSidecarClientFactory("http://{pod}:7777")


async def test_clients_of_one_factory_share_its_session(raw: RawSidecar) -> None:
    raw.handler = _static(200, {"status": "Ready"})
    async with HTTPSidecarClientFactory() as factory:
        await factory.for_url(raw.url).status()
        session = factory.session()
        await factory.for_url(raw.url + "/other").status()
        assert factory.session() is session
