"""The health probe server over loopback HTTP: routing, checks, the add-after-start rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from controller_runtime.healthz import HealthProbeServer, HealthzAlreadyStartedError, ping


class Flag:
    """A check whose outcome the test flips."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0

    def __call__(self, request: web.Request) -> None:
        self.calls += 1
        if not self.healthy:
            raise RuntimeError("caches not synced")


async def get(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


@pytest.fixture
def flag() -> Flag:
    return Flag()


@pytest_asyncio.fixture(loop_scope="session")
async def probes(flag: Flag) -> AsyncIterator[tuple[HealthProbeServer, str]]:
    async def async_ok(request: web.Request) -> None:
        await asyncio.sleep(0)

    server = HealthProbeServer("127.0.0.1:0")
    server.add_healthz_check("ping", ping)
    server.add_readyz_check("informers", flag)
    server.add_readyz_check("webhooks", async_ok)
    await server.start()
    try:
        yield server, f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_aggregate_endpoints(probes: tuple[HealthProbeServer, str], flag: Flag) -> None:
    _, base = probes
    for path in ("/healthz", "/healthz/", "/readyz", "/readyz/"):
        status, body, headers = await get(base + path)
        assert (status, body) == (200, "ok"), path
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["X-Content-Type-Options"] == "nosniff"

    flag.healthy = False
    assert (await get(base + "/readyz"))[:2] == (
        500,
        "[-]informers failed: reason withheld\n[+]webhooks ok\nhealthz check failed\n",
    )
    # Liveness is a separate set of checks.
    assert (await get(base + "/healthz"))[:2] == (200, "ok")


async def test_verbose_and_exclude(probes: tuple[HealthProbeServer, str], flag: Flag) -> None:
    _, base = probes
    assert (await get(base + "/readyz?verbose"))[:2] == (
        200,
        "[+]informers ok\n[+]webhooks ok\nhealthz check passed\n",
    )
    flag.healthy = False
    calls = flag.calls
    assert (await get(base + "/readyz?exclude=informers&verbose=false"))[:2] == (
        200,
        "[+]informers excluded: ok\n[+]webhooks ok\nhealthz check passed\n",
    )
    assert flag.calls == calls  # an excluded check is not run
    assert (await get(base + "/readyz?exclude=informers&exclude=nope"))[:2] == (200, "ok")
    assert (await get(base + "/readyz?exclude=nope"))[:2] == (
        500,
        "[-]informers failed: reason withheld\n"
        "[+]webhooks ok\n"
        'warn: some health checks cannot be excluded: no matches for "nope"\n'
        "healthz check failed\n",
    )


async def test_single_checks(probes: tuple[HealthProbeServer, str], flag: Flag) -> None:
    _, base = probes
    assert (await get(base + "/readyz/informers"))[:2] == (200, "ok")
    assert (await get(base + "/readyz/informers/"))[:2] == (200, "ok")
    assert (await get(base + "/healthz/ping"))[:2] == (200, "ok")
    flag.healthy = False
    # The single-check endpoint names the reason (it has to be asked for explicitly).
    assert (await get(base + "/readyz/informers"))[:2] == (
        500,
        "internal server error: caches not synced\n",
    )
    assert (await get(base + "/readyz/unknown"))[:2] == (404, "404 page not found\n")
    assert (await get(base + "/healthz/informers"))[0] == 404
    assert (await get(base + "/readyz/informers/extra"))[0] == 404
    assert (await get(base + "/other"))[0] == 404


async def test_implicit_ping_without_checks() -> None:
    server = HealthProbeServer("127.0.0.1:0")
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        for endpoint in ("/healthz", "/readyz"):
            assert (await get(base + endpoint))[:2] == (200, "ok")
            assert (await get(base + endpoint + "?verbose"))[:2] == (
                200,
                "[+]ping ok\nhealthz check passed\n",
            )
            assert (await get(base + endpoint + "/ping"))[:2] == (200, "ok")
    finally:
        await server.stop()


async def test_async_and_sync_failures_and_empty_reasons() -> None:
    async def slow_fail(request: web.Request) -> None:
        await asyncio.sleep(0)
        raise TimeoutError

    server = HealthProbeServer("127.0.0.1:0")
    server.add_readyz_check("slow", slow_fail)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert (await get(base + "/readyz"))[0] == 500
        assert (await get(base + "/readyz/slow"))[:2] == (
            500,
            "internal server error: TimeoutError\n",
        )
    finally:
        await server.stop()


async def test_checks_only_before_start() -> None:
    server = HealthProbeServer("127.0.0.1:0")
    server.add_healthz_check("ping", ping)
    await server.start()
    try:
        message = "unable to add new checker because healthz endpoint has already been created"
        with pytest.raises(HealthzAlreadyStartedError, match=message):
            server.add_healthz_check("late", ping)
        with pytest.raises(HealthzAlreadyStartedError, match=message):
            server.add_readyz_check("late", ping)
    finally:
        await server.stop()
    with pytest.raises(HealthzAlreadyStartedError):
        server.add_readyz_check("after-stop", ping)


@pytest.mark.parametrize("address", ["", "0"])
async def test_disabled(address: str) -> None:
    server = HealthProbeServer(address)
    server.add_healthz_check("ping", ping)
    assert not server.enabled
    await server.start()
    await server.stop()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = server.port
    with pytest.raises(HealthzAlreadyStartedError):
        server.add_healthz_check("late", ping)


async def test_custom_endpoints_and_validation() -> None:
    server = HealthProbeServer("127.0.0.1:0", liveness_endpoint="/livez")
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert (await get(base + "/livez"))[:2] == (200, "ok")
        assert (await get(base + "/healthz"))[0] == 404
    finally:
        await server.stop()
    with pytest.raises(ValueError, match="must be like"):
        HealthProbeServer(":0", readiness_endpoint="readyz")
    with pytest.raises(ValueError, match="must differ"):
        HealthProbeServer(":0", readiness_endpoint="/healthz")
    with pytest.raises(ValueError, match="missing port"):
        HealthProbeServer("8081")
    assert not HealthProbeServer("0").need_leader_election
