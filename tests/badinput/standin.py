"""A stand-in for the node sidecars: an aiohttp server in front of the simulator that answers
chosen requests with malformed answers and forwards every other one.

``StandInSidecars`` is a :class:`SidecarSimulator` (so the operator fixture takes it as its
simulator) whose ``url_for`` points at the stand-in instead of the simulator itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

import aiohttp
from aiohttp import web

from controllers.sidecar.simulator import SidecarSimulator

MIB = 1 << 20


class Answer(StrEnum):
    """A malformed answer. Each is what some real thing in front of a sidecar has sent."""

    BAD_JSON = "bad-json"  # success status, truncated JSON
    WRONG_TYPES = "wrong-types"  # success status, JSON of the wrong shape and types
    HTML_OK = "html-ok"  # 200 text/html: a default web page where the sidecar should be
    HTML_ERROR = "html-error"  # 500 text/html: a framework's error page, 64 KiB of it
    HTML_GATEWAY = "html-gateway"  # 502 text/html: a proxy with nothing behind it
    HUGE = "huge"  # success status, 8 MiB of valid JSON (declared length)
    ENDLESS = "endless"  # success status, a chunked body that never ends, at full speed
    TRICKLE = "trickle"  # success status, then one byte every 200 ms, forever
    GZIP_BOMB = "gzip-bomb"  # success status, 64 KiB of gzip that inflates to 64 MiB
    WRONG_CONTENT_TYPE = "wrong-content-type"  # the sidecar's own answer as text/html


# What the client must say about each (a fragment of the SidecarError message).
EXPECTED = {
    Answer.BAD_JSON: "answer is not JSON",
    Answer.WRONG_TYPES: "",  # depends on the call; any SidecarError
    Answer.HTML_OK: "answer is not JSON: '<!DOCTYPE html>",
    Answer.HTML_ERROR: "HTTP 500: '<html><head><title>Internal Server Error",
    Answer.HTML_GATEWAY: "HTTP 502: '<html>",
    Answer.HUGE: "answer larger than",
    Answer.ENDLESS: "answer larger than",
    Answer.TRICKLE: "no complete answer within",
    Answer.GZIP_BOMB: "answer larger than",
}
# Answers a well-behaved client reads (the stand-in forwards the sidecar's own JSON).
HARMLESS = frozenset({Answer.WRONG_CONTENT_TYPE})
_WRONG_TYPES = {"id": 42, "type": ["config-apply"], "status": {"running": True}, "nodeId": 7}


@cache
def _gzip_bomb() -> bytes:
    return gzip.compress(b" " * (64 * MIB), compresslevel=9)


async def serve(answer: Answer, request: web.Request) -> web.StreamResponse:
    """Answers ``request`` with ``answer`` (never for WRONG_CONTENT_TYPE: see StandIn)."""
    ok = 201 if request.method == "POST" else 200
    if answer == Answer.BAD_JSON:
        return web.Response(status=ok, body=b'{"id": "3f0c4a52', content_type="application/json")
    if answer == Answer.WRONG_TYPES:
        return web.json_response(_WRONG_TYPES, status=ok)
    if answer == Answer.HTML_OK:
        page = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"
        return web.Response(status=200, text=page, content_type="text/html")
    if answer == Answer.HTML_ERROR:
        page = "<html><head><title>Internal Server Error</title></head><body>"
        page += "<pre>Traceback (most recent call last):\n" * 2000 + "</pre></body></html>"
        return web.Response(status=500, text=page, content_type="text/html")
    if answer == Answer.HTML_GATEWAY:
        page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>"
        return web.Response(status=502, text=page, content_type="text/html")
    if answer == Answer.HUGE:
        body = json.dumps({"id": "x", "padding": "x" * (8 * MIB)}).encode()
        return web.Response(status=ok, body=body, content_type="application/json")
    if answer == Answer.GZIP_BOMB:
        response = web.Response(status=ok, body=_gzip_bomb(), content_type="application/json")
        response.headers["Content-Encoding"] = "gzip"
        return response
    return await _stream(request, ok, endless=answer == Answer.ENDLESS)


async def _stream(request: web.Request, status: int, *, endless: bool) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * (64 * 1024) if endless else b" "
    # Until the client hangs up (its timeout or its size cap); the write then fails.
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while True:
            await response.write(chunk)
            await asyncio.sleep(0 if endless else 0.2)
    return response


def endpoint(method: str, tail: str) -> str:
    """submit | task | status | node-id | other, for ``<method> /v0/<tail>``."""
    if tail == "v0/tasks" and method == "POST":
        return "submit"
    if tail.startswith("v0/tasks/") and method == "GET":
        return "task"
    if tail == "v0/status":
        return "status"
    if tail == "v0/node-id":
        return "node-id"
    return "other"


@dataclass
class _Fault:
    answer: Answer
    endpoints: frozenset[str]
    times: int | None  # None: until cleared


@dataclass
class StandIn:
    """Per node, the answers to serve instead of forwarding; records what it served."""

    faults: dict[tuple[str, str], list[_Fault]] = field(default_factory=dict)
    served: list[tuple[str, str, str, Answer]] = field(default_factory=list)

    def inject(
        self,
        namespace: str,
        name: str,
        answer: Answer,
        endpoints: set[str],
        times: int | None = None,
    ) -> None:
        fault = _Fault(answer, frozenset(endpoints), times)
        self.faults.setdefault((namespace, name), []).append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, namespace: str, name: str, kind: str) -> Answer | None:
        for fault in self.faults.get((namespace, name), []):
            if kind in fault.endpoints and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                self.served.append((namespace, name, kind, fault.answer))
                return fault.answer
        return None


class StandInSidecars(SidecarSimulator):
    """The simulator behind a stand-in server; ``url_for`` addresses the stand-in."""

    def __init__(self) -> None:
        super().__init__()
        self.standin = StandIn()
        self._front: web.AppRunner | None = None
        self._front_port = 0
        self._session: aiohttp.ClientSession | None = None

    def url_for(self, name: str, namespace: str, port: int = 0) -> str:
        return f"http://127.0.0.1:{self._front_port}/nodes/{namespace}/{name}"

    async def start(self, port: int = 0) -> None:
        await asyncio.to_thread(_gzip_bomb)  # built once, not inside a request's timeout
        await super().start(port)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/nodes/{namespace}/{name}/{tail:.*}", self._handle)
        self._front = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._front.setup()
        site = web.TCPSite(self._front, "127.0.0.1", 0)
        await site.start()
        self._front_port = self._front.addresses[0][1]

    async def close(self) -> None:
        if self._front is not None:
            await self._front.cleanup()
            self._front = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        await super().close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        tail = request.match_info["tail"]
        answer = self.standin.take(namespace, name, endpoint(request.method, tail))
        if answer is not None and answer != Answer.WRONG_CONTENT_TYPE:
            return await serve(answer, request)
        assert self._session is not None
        target = f"{super().url_for(name, namespace)}/{tail}"
        async with self._session.request(
            request.method,
            target,
            data=await request.read(),
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        ) as forwarded:
            body = await forwarded.read()
            content_type = "text/html" if answer == Answer.WRONG_CONTENT_TYPE else None
            return web.Response(
                status=forwarded.status,
                body=body,
                content_type=content_type or forwarded.content_type,
            )
