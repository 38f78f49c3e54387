"""Secure metrics serving against the real API server: TokenReview authentication,
SubjectAccessReview authorization, certificates from a directory."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from controller_runtime.client import Client
from controller_runtime.metrics import MetricsServer
from controller_runtime.metrics.tls import self_signed_certificate
from tests.integration.metrics.conftest import Scrapers

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


async def get(
    url: str, token: str | None = None, ssl_context: ssl.SSLContext = INSECURE
) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, ssl=ssl_context) as resp,
    ):
        return resp.status, await resp.text()


async def debug_info(request: web.Request) -> web.StreamResponse:
    return web.Response(text="debug info")


@pytest_asyncio.fixture(loop_scope="session")
async def secure_server(
    kube: Client, metrics_registry: CollectorRegistry
) -> AsyncIterator[MetricsServer]:
    Counter("sei_test_scrapes", "A counter to find.", registry=metrics_registry).inc(4)
    server = MetricsServer(
        "127.0.0.1:0",
        metrics_registry,
        secure=True,
        client=kube,
        extra_handlers={"/debug": debug_info},
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_secure_metrics_authenticate_and_authorize(
    secure_server: MetricsServer, scrapers: Scrapers
) -> None:
    url = f"https://127.0.0.1:{secure_server.port}/metrics"

    assert await get(url) == (401, "Unauthorized\n")
    assert await get(url, token="not-a-token") == (401, "Unauthorized\n")
    # Twice: the second answer comes from the review cache and must agree.
    for _ in range(2):
        assert await get(url, token=scrapers.denied) == (
            403,
            f"Authorization denied for user {scrapers.denied_user}\n",
        )
        status, body = await get(url, token=scrapers.allowed)
        assert status == 200, body
        assert "sei_test_scrapes_total 4.0" in body
        assert "process_cpu_seconds_total" in body


async def test_secure_extra_handler_is_authorized_by_its_own_path(
    secure_server: MetricsServer, scrapers: Scrapers
) -> None:
    url = f"https://127.0.0.1:{secure_server.port}/debug"
    assert (await get(url))[0] == 401
    # The scraper may GET /metrics only; /debug is a different non-resource URL.
    assert await get(url, token=scrapers.allowed) == (
        403,
        f"Authorization denied for user {scrapers.allowed_user}\n",
    )


async def test_plain_http_is_refused_by_the_secure_server(secure_server: MetricsServer) -> None:
    with pytest.raises(aiohttp.ClientError):
        await get(f"http://127.0.0.1:{secure_server.port}/metrics")


async def test_secure_server_presents_the_certificate_from_cert_dir(
    kube: Client, scrapers: Scrapers, metrics_registry: CollectorRegistry, tmp_path: Path
) -> None:
    cert_pem, key_pem = self_signed_certificate("localhost")
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    server = MetricsServer(
        "127.0.0.1:0", metrics_registry, secure=True, cert_dir=tmp_path, client=kube
    )
    await server.start()
    try:
        # Verifying against exactly that certificate proves it is the one served.
        verify = ssl.create_default_context(cadata=cert_pem.decode())
        status, _ = await get(
            f"https://localhost:{server.port}/metrics", scrapers.allowed, ssl_context=verify
        )
        assert status == 200
        other = ssl.create_default_context(cadata=self_signed_certificate()[0].decode())
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get(f"https://localhost:{server.port}/metrics", ssl_context=other)
    finally:
        await server.stop()
