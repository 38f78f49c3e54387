"""HTTP transport to the API server: one aiohttp session, JSON in and out, typed errors,
`rest_client_requests_total{code,method,host}`, and watch streams.

Invariants:
- Every request is counted once, with the final HTTP code or "<error>" for transport failures.
- A 429 or 5xx answer that carries Retry-After is retried (the server did not process it), up to
  MAX_RETRIES, waiting as told (capped); other errors surface to the caller at once.
- Watch streams are split on newlines from raw chunks, so an event of any size is read whole.
"""

from __future__ import annotations

import json
import platform
import re
import ssl
import sys
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from controller_runtime.client.errors import ApiError, error_from_text
from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.metrics import REGISTRY

if TYPE_CHECKING:
    from kubernetes_asyncio.client.configuration import Configuration

JSON = "application/json"
MAX_RETRIES = 5
MAX_RETRY_WAIT = 10.0
DEFAULT_TIMEOUT = 30.0

Params = Mapping[str, str | int | bool | None] | Sequence[tuple[str, str]]

# A surrogate pair escape in ASCII JSON text, not itself escaped (an even run of backslashes
# before it). json.dumps writes lowercase hex.
_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _raw_pair(match: re.Match[str]) -> str:
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    return match.group(1) + chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def encode_body(body: Any, content_type: str) -> bytes | str:
    """The request body for ``content_type``. JSON is JSON; a YAML body (server-side apply) is
    JSON text that YAML reads alike. YAML has no surrogate-pair escapes, so the JSON way of
    escaping a character beyond U+FFFF (a pair of \\u escapes) makes the server answer 400
    "invalid Unicode character escape code": such characters go raw in UTF-8 instead (YAML
    prints them). Everything else stays escaped as ASCII JSON, and DEL, the one raw ASCII
    character YAML does not print, is escaped too."""
    if isinstance(body, bytes):
        return body
    text = json.dumps(body)
    if not content_type.endswith("yaml"):
        return text
    text = _PAIR.sub(_raw_pair, text).replace("\x7f", "\\u007f")
    return text.encode("utf-8")


_metrics: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def requests_counter(registry: CollectorRegistry) -> Counter:
    """rest_client_requests_total, registered once per registry."""
    if registry not in _metrics:
        _metrics[registry] = Counter(
            "rest_client_requests",
            "Number of HTTP requests, partitioned by status code, method, and host.",
            ["code", "method", "host"],
            registry=registry,
        )
    return _metrics[registry]


def default_user_agent() -> str:
    """client-go's shape, "<command> (<os>/<arch>) <library>", naming the running program and
    no particular operator; an operator passes its own (e.g. "<name>/<version>")."""
    argv0 = sys.argv[0] if sys.argv else ""
    command = Path(argv0).name if argv0 not in ("", "-c", "-m") else "python"
    return f"{command} ({sys.platform}/{platform.machine()}) controller-runtime-python"


def _ssl_context(cfg: Configuration) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    if cfg.cert_file:
        ctx.load_cert_chain(cfg.cert_file, keyfile=cfg.key_file)
    if not cfg.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _query(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out = []
    for key, value in items:
        if value is None:
            continue
        out.append((key, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    return out


class ClientClosedError(aiohttp.ClientConnectionError):
    """A request through a RestClient after its close(): a transport failure to the caller
    (retried with backoff like any other), never a new connection pool."""


class RestClient:
    """Raw JSON access to one API server. Safe to share by every component of a process.

    Owns one connection pool, opened on first use; close() ends it for good. A straggler
    still running after its owner closed the client (a reflector past a graceful-shutdown
    deadline) gets ClientClosedError: reopening would leave a pool nobody ever closes."""

    def __init__(
        self,
        configuration: Configuration,
        *,
        user_agent: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        registry: CollectorRegistry = REGISTRY,
        clock: Clock | None = None,
    ) -> None:
        self.configuration = configuration
        self.clock: Clock = REAL_CLOCK if clock is None else clock
        self.host = str(configuration.host or "").rstrip("/")
        self.host_label = urlparse(self.host).netloc
        self.user_agent = user_agent or default_user_agent()
        self.timeout = timeout
        self._requests = requests_counter(registry)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError(f"the REST client of {self.host_label} is closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=_ssl_context(self.configuration), limit=100, enable_cleanup_closed=True
                ),
                headers={"User-Agent": self.user_agent},
            )
        return self._session

    async def _headers(self, content_type: str | None, accept: str = JSON) -> dict[str, str]:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        cfg = self.configuration
        if "BearerToken" in cfg.api_key or cfg.refresh_api_key_hook is not None:
            token = await cfg.get_api_key_with_prefix("BearerToken")
            if token:
                headers["Authorization"] = token
        elif cfg.username or cfg.password:
            basic = cfg.get_basic_auth_token()
            if basic:
                headers["Authorization"] = basic
        return headers

    def _count(self, code: int | str, method: str) -> None:
        self._requests.labels(str(code), method, self.host_label).inc()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: float | None = None,
    ) -> Any:
        """Sends one request; returns the decoded JSON body, or raises a typed ApiError."""
        raw = await self._send(method, path, params, body, content_type, JSON, timeout)
        return json.loads(raw) if raw else None

    async def request_raw(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = "*/*",
        timeout: float | None = None,
    ) -> bytes:
        """Like request, but returns the body undecoded, for endpoints that do not answer
        JSON or whose answer the caller parses itself (client-go's DoRaw): `/metrics` text,
        `/version`, `/openapi/v3/...` documents, logs, protobuf with a matching `accept`.
        Errors are still typed ApiErrors."""
        return await self._send(method, path, params, body, content_type, accept, timeout)

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Any,
        content_type: str,
        accept: str,
        timeout: float | None,
    ) -> bytes:
        data = None if body is None else encode_body(body, content_type)
        query = _query(params)
        client_timeout = aiohttp.ClientTimeout(total=timeout or self.timeout)
        for attempt in range(MAX_RETRIES + 1):
            headers = await self._headers(content_type if data is not None else None, accept)
            try:
                async with self._http().request(
                    method,
                    self.host + path,
                    params=query,
                    data=data,
                    headers=headers,
                    timeout=client_timeout,
                ) as resp:
                    raw = await resp.read()
                    self._count(resp.status, method)
                    if resp.status < 300:
                        return raw
                    error = error_from_text(resp.status, raw.decode("utf-8", "replace"))
                    wait = self._retry_wait(resp, error, attempt)
            except (aiohttp.ClientError, TimeoutError):
                self._count("<error>", method)
                raise
            if wait is None:
                raise error
            await self.clock.sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    def _retry_wait(resp: aiohttp.ClientResponse, error: ApiError, attempt: int) -> float | None:
        if attempt >= MAX_RETRIES or not (resp.status == 429 or resp.status >= 500):
            return None
        header = resp.headers.get("Retry-After")
        if header is None:
            return None
        try:
            return min(float(header), MAX_RETRY_WAIT)
        except ValueError:
            return 1.0

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        params: Params | None = None,
        read_timeout: float | None = None,
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Opens a watch stream; yields an iterator of decoded events that ends at EOF.

        read_timeout bounds the silence between two chunks: a stream that delivers nothing
        (no events, no bookmarks) for that long raises TimeoutError, so a dead or black-holed
        connection is noticed instead of hanging forever.
        """
        headers = await self._headers(None)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=read_timeout
        )
        try:
            resp = await self._http().get(
                self.host + path, params=_query(params), headers=headers, timeout=timeout
            )
        except (aiohttp.ClientError, TimeoutError):
            self._count("<error>", "GET")
            raise
        try:
            self._count(resp.status, "GET")
            if resp.status >= 300:
                raise error_from_text(resp.status, await resp.text())
            yield self._events(resp)
        finally:
            # close, not release: a stream cut short must not return a half-read connection.
            resp.close()

    @staticmethod
    async def _events(resp: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
        buffer = bytearray()
        async for chunk in resp.content.iter_any():
            scan_from = len(buffer)  # no newline before this point: search only the new bytes
            buffer.extend(chunk)
            start = 0
            while (newline := buffer.find(b"\n", max(start, scan_from))) >= 0:
                line = bytes(buffer[start:newline])
                start = newline + 1
                if line.strip():
                    yield json.loads(line)
            del buffer[:start]
        if bytes(buffer).strip():
            yield json.loads(bytes(buffer))

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
