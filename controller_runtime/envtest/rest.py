"""A minimal admin REST session for the control plane's own bootstrapping.

envtest must not depend on the runtime's client (the client's tests depend on envtest), so the
few calls it makes itself (readiness, nodes, CRDs) go through this small aiohttp wrapper.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import aiohttp

from controller_runtime.envtest.pki import PkiFiles


class RestError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:2000]}")
        self.status = status
        self.body = body


def admin_ssl_context(pki: PkiFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return ctx


class AdminRest:
    """JSON requests to the API server as the admin user."""

    def __init__(self, server: str, pki: PkiFiles) -> None:
        self._server = server
        self._ssl = admin_ssl_context(pki)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self._session

    async def request(
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)
    ) -> tuple[int, Any]:
        """Returns (status, decoded body); raises RestError for statuses not in ok."""
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        async with self._http().request(
            method, self._server + path, data=data, headers=headers
        ) as resp:
            text = await resp.text()
            if resp.status not in ok:
                raise RestError(method, path, resp.status, text)
            try:
                return resp.status, json.loads(text) if text else None
            except json.JSONDecodeError:
                return resp.status, text

    async def status(self, path: str) -> int:
        """GET path; returns the HTTP status, or 0 when the server cannot be reached."""
        try:
            async with self._http().get(self._server + path) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            return 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
