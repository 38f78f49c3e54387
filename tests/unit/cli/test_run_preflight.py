"""Before starting the manager, `run` checks that the API server answers, accepts the
credentials and serves the Sei CRDs; each failure is one StartupError naming what to fix.
The API server here is a stub (aiohttp) answering /version and refusing or not knowing the rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from controllers.cli import build_parser
from controllers.run import StartupError, run
from tests.fixtures.platform import PLATFORM_TEST_ENV

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status(code: int, reason: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": reason}  # fmt: skip
    return web.json_response(body, status=code)


@pytest_asyncio.fixture
async def api_server(tmp_path: Path) -> AsyncIterator[Callable[[Handler], Awaitable[Path]]]:
    """Starts a stub API server with the given handler for every path; returns a kubeconfig."""
    runners: list[web.AppRunner] = []
    ports: list[int] = []

    async def start(handler: Handler) -> Path:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports.append(runner.addresses[0][1])
        path = tmp_path / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{ports[-1]}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        )
        return path

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLATFORM_TEST_ENV.items():
        monkeypatch.setenv(name, value)


async def run_against(kubeconfig: Path) -> None:
    args = build_parser().parse_args(
        ["run", f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--startup-timeout=10s"]
    )
    await run(args)


async def test_missing_crds_are_named_with_how_to_install_them(api_server: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/version":
            return web.json_response({"major": "1", "minor": "34"})
        return status(404, "NotFound")

    kubeconfig = await api_server(handler)
    with pytest.raises(StartupError, match=r"sei.io/v1alpha1 CRDs are not installed.*kubectl"):
        await run_against(kubeconfig)


async def test_refused_credentials_are_named(api_server: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return status(401, "Unauthorized")

    kubeconfig = await api_server(handler)
    with pytest.raises(StartupError, match="refused the credentials"):
        await run_against(kubeconfig)


async def test_a_silent_api_server_fails_after_the_startup_timeout(api_server: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.Event().wait()  # accepts the connection, never answers
        raise AssertionError("unreachable")

    kubeconfig = await api_server(handler)
    args = build_parser().parse_args(
        ["run", f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--startup-timeout=1s"]
    )
    with pytest.raises(StartupError, match=r"cannot reach .*: no answer within 1s"):
        await run(args)
