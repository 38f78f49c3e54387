"""The aiohttp implementation of :class:`~controllers.sidecar.api.SidecarClient` (spec 7).

Invariants every method keeps, whatever the sidecar (or whatever answers in its place) does:
- it returns a well-typed value or raises :class:`SidecarError` (or a subclass), nothing else;
- it never takes longer than the factory's timeout (10 s): connecting, sending and reading the
  body all count, so a hung or slow-dripping server cannot hold a reconcile worker;
- it never reads more than ``max_body_bytes`` of an answer (after decompression).
There are no retries: the plan engine requeues, and a retry here would only hide a sick sidecar.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from controllers.sidecar.api import (
    SIDECAR_TIMEOUT_SECONDS,
    SidecarError,
    SidecarMalformedError,
    SidecarRejectedError,
    SidecarStatus,
    SidecarTaskNotFoundError,
    SidecarUnavailableError,
    SidecarUnreachableError,
    TaskResult,
    TaskResultStatus,
)
from controllers.sidecar.url import (
    DEFAULT_URL_TEMPLATE,
    SidecarURLResolver,
    URLTemplate,
    effective_port,
)

__all__ = ["MAX_BODY_BYTES", "HTTPSidecarClient", "HTTPSidecarClientFactory"]

log = structlog.get_logger("sidecar")

# The largest legitimate answer is a TaskResult with its params (peer lists, genesis params):
# a few KiB. Anything near this cap is not a sidecar talking.
MAX_BODY_BYTES = 1 << 20
_NODE_ID = re.compile(r"[0-9a-f]{40}")
_SNIPPET = 200
_STATUSES = frozenset(s.value for s in SidecarStatus)
_TASK_STATUSES = frozenset(s.value for s in TaskResultStatus)
_MESSAGE = 1000  # longest sidecar error text carried into our messages (they reach status)


class _BodyTooLargeError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes


class HTTPSidecarClientFactory:
    """Builds :class:`HTTPSidecarClient` objects for nodes; implements ``SidecarClientFactory``.

    Owns one ``aiohttp.ClientSession`` shared by every node's client (created on first use, on
    the running loop); :meth:`close` closes it, after which every call fails with
    :class:`SidecarUnavailableError`. ``url`` is the sidecar address: ``None`` for the spec 7.1
    default, a template string (validated here, so a bad one fails at start-up), or a resolver.
    """

    def __init__(
        self,
        url: SidecarURLResolver | str | None = None,
        *,
        timeout: float = SIDECAR_TIMEOUT_SECONDS,
        max_body_bytes: int = MAX_BODY_BYTES,
        connection_limit: int = 256,
    ) -> None:
        if isinstance(url, str) or url is None:
            url = URLTemplate(url if url is not None else DEFAULT_URL_TEMPLATE)
        self._resolve: SidecarURLResolver = url
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __call__(self, name: str, namespace: str, port: int) -> HTTPSidecarClient:
        return self.for_url(self._resolve(name, namespace, effective_port(port)))

    def for_url(self, base_url: str) -> HTTPSidecarClient:
        """A client of the sidecar at ``base_url`` (``/v0/...`` is appended to it)."""
        return HTTPSidecarClient(self, base_url)

    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SidecarUnavailableError("the sidecar client is closed (operator shutting down)")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # No DNS cache: a restarted pod has a new IP under the same name, and a cached
                # old one would cost a full timeout per request until the entry expired.
                connector=aiohttp.TCPConnector(limit=self._connection_limit, use_dns_cache=False),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Accept": "application/json"},
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HTTPSidecarClientFactory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class HTTPSidecarClient:
    """One node's sidecar over HTTP; cheap to build, shares its factory's session."""

    def __init__(self, factory: HTTPSidecarClientFactory, base_url: str) -> None:
        self._factory = factory
        self._base_url = base_url.rstrip("/")

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"HTTPSidecarClient({self._base_url!r})"

    # --- the four calls of spec 7.2 ---------------------------------------------------------

    async def submit_task(
        self, task_type: str, params: dict[str, Any] | None = None, task_id: str | None = None
    ) -> str:
        body: dict[str, Any] = {}
        if task_id is not None:
            body["id"] = task_id
        body["type"] = task_type
        if params is not None:
            body["params"] = params
        answer = await self._request("POST", "/v0/tasks", body)
        if answer.status == 400:
            raise SidecarRejectedError(
                f"sidecar rejected {task_type} task: {_error_text(answer.body)}"
            )
        if answer.status not in (201, 202):
            raise self._unexpected("POST", "/v0/tasks", answer)
        task = self._object("POST", "/v0/tasks", answer)
        answered = task.get("id")
        if not isinstance(answered, str) or not answered:
            raise self._malformed("POST", "/v0/tasks", f"no task id in {_snippet(answer.body)}")
        return answered

    async def get_task(self, task_id: str) -> TaskResult:
        path = f"/v0/tasks/{quote(task_id, safe='')}"
        answer = await self._request("GET", path)
        if answer.status == 404:
            raise SidecarTaskNotFoundError(f"sidecar at {self._base_url} has no task {task_id}")
        if answer.status != 200:
            raise self._unexpected("GET", path, answer)
        return self._task_result(path, task_id, self._object("GET", path, answer))

    async def status(self) -> SidecarStatus:
        answer = await self._request("GET", "/v0/status")
        if answer.status != 200:
            raise self._unexpected("GET", "/v0/status", answer)
        value = self._object("GET", "/v0/status", answer).get("status")
        if not isinstance(value, str) or value not in _STATUSES:
            raise self._malformed("GET", "/v0/status", f"unknown status {value!r}")
        return SidecarStatus(value)

    async def node_id(self) -> str:
        answer = await self._request("GET", "/v0/node-id")
        if answer.status != 200:
            raise self._unexpected("GET", "/v0/node-id", answer)
        value = self._object("GET", "/v0/node-id", answer).get("nodeId")
        if not isinstance(value, str) or not _NODE_ID.fullmatch(value):
            raise self._malformed("GET", "/v0/node-id", f"nodeId {value!r} is not 40 hex digits")
        return value

    # --- transport ---------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: Any = None) -> _Answer:
        url = self._base_url + path
        timeout = self._factory.timeout
        try:
            # The session's total timeout already covers connect and body; this outer deadline
            # also covers what runs outside aiohttp's timer (reading the capped body), so no
            # path can exceed the budget.
            async with asyncio.timeout(timeout):
                session = self._factory.session()
                async with session.request(
                    method, url, json=body, allow_redirects=False
                ) as response:
                    data = await _read_capped(response, self._factory.max_body_bytes)
                    return _Answer(response.status, data)
        except SidecarError:
            raise
        except TimeoutError:
            raise SidecarUnavailableError(
                f"{method} {url}: no complete answer within {timeout:g}s"
            ) from None
        except _BodyTooLargeError:
            raise SidecarMalformedError(
                f"{method} {url}: answer larger than {self._factory.max_body_bytes} bytes"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
            raise SidecarUnreachableError(f"{method} {url}: cannot connect: {reason}") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise SidecarUnavailableError(f"{method} {url}: {_describe(exc)}") from None
        except Exception as exc:
            # Not expected from aiohttp; the contract is "SidecarError or nothing", so a bug
            # here must not crash a reconcile worker. Logged with its traceback to be fixed.
            log.exception("unexpected error calling the sidecar", method=method, url=url)
            raise SidecarError(f"{method} {url}: {_describe(exc)}") from None

    def _object(self, method: str, path: str, answer: _Answer) -> dict[str, Any]:
        try:
            value = json.loads(answer.body)
        except (ValueError, RecursionError):
            raise self._malformed(
                method, path, f"answer is not JSON: {_snippet(answer.body)}"
            ) from None
        if not isinstance(value, dict):
            raise self._malformed(
                method, path, f"answer is not a JSON object: {_snippet(answer.body)}"
            )
        return value

    def _task_result(self, path: str, task_id: str, obj: dict[str, Any]) -> TaskResult:
        def fail(why: str) -> SidecarError:
            return self._malformed("GET", path, why)

        answered, task_type, status = obj.get("id"), obj.get("type"), obj.get("status")
        if answered != task_id:
            raise fail(f"id {answered!r} is not the requested task")
        if not isinstance(task_type, str):
            raise fail(f"task type {task_type!r} is not a string")
        if not isinstance(status, str) or status not in _TASK_STATUSES:
            raise fail(f"unknown task status {status!r}")
        result_status = TaskResultStatus(status)
        error, params = obj.get("error"), obj.get("params")
        submitted, completed = obj.get("submittedAt"), obj.get("completedAt")
        if error is not None and not isinstance(error, str):
            raise fail(f"task error {error!r} is not a string")
        if params is not None and not isinstance(params, dict):
            raise fail(f"task params {params!r} are not an object")
        for field, value in (("submittedAt", submitted), ("completedAt", completed)):
            if value is not None and not isinstance(value, str):
                raise fail(f"{field} {value!r} is not a string")
        return TaskResult(
            id=task_id,
            type=task_type,
            status=result_status,
            error=error or None,
            params=params,
            submitted_at=submitted,
            completed_at=completed,
            raw=obj,
        )

    def _malformed(self, method: str, path: str, why: str) -> SidecarMalformedError:
        return SidecarMalformedError(f"{method} {self._base_url}{path}: {why}")

    def _unexpected(self, method: str, path: str, answer: _Answer) -> SidecarError:
        message = f"{method} {self._base_url}{path}: HTTP {answer.status}"
        if answer.body:
            message += f": {_error_text(answer.body)}"
        # A gateway-ish answer means nothing sound is answering (a sidecar restarting behind a
        # proxy); any other status is the sidecar's own, if unexpected, answer.
        if answer.status in (502, 503, 504):
            return SidecarUnavailableError(message)
        return SidecarError(message)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if response.content_length is not None and response.content_length > limit:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _error_text(body: bytes) -> str:
    """The ``error`` of a ``{"error": ...}`` answer, else a printable snippet of the body."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        text = str(value["error"])
        return text if len(text) <= _MESSAGE else text[:_MESSAGE] + "..."
    return _snippet(body)


def _snippet(body: bytes) -> str:
    if not body:
        return "(empty body)"
    text = body[:_SNIPPET].decode("utf-8", errors="replace")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return repr(text + ("..." if len(body) > _SNIPPET else ""))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
