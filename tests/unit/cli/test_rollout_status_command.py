"""`sei-controller rollout status` against a stub API server (aiohttp) serving one
SeiNodeDeployment and a scripted watch of it: the lines shown, the exit codes, and every
problem ending in one line on stderr."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from controllers.cli import build_parser
from controllers.rollout_status.command import (
    EXIT_COMPLETE,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_IN_PROGRESS,
    EXIT_STALLED,
    EXIT_TIMEOUT,
    Display,
)
from controllers.rollout_status.verdict import evaluate

from .test_rollout_verdict import NEW_IMAGE, rolling, steady

BASE = "/apis/sei.io/v1alpha1"
STALL = "rollout stalled: not all nodes ready after 10m0s"


def not_found() -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
            "reason": "NotFound", "message": "not found"}  # fmt: skip
    return web.json_response(body, status=404)


def versioned(obj: dict[str, Any], version: int) -> dict[str, Any]:
    obj["metadata"]["resourceVersion"] = str(version)
    return obj


@dataclass
class StubServer:
    """Serves ``obj`` (None: 404) and streams whatever is put on ``events`` to watches."""

    kubeconfig: Path
    obj: dict[str, Any] | None = None
    crds: bool = True
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    watches: list[str] = field(default_factory=list)
    """The resourceVersion each watch started from."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == BASE:
            if not self.crds:
                return not_found()
            resource = {"name": "seinodedeployments", "kind": "SeiNodeDeployment",
                        "namespaced": True}  # fmt: skip
            return web.json_response({"resources": [resource]})
        if request.path == f"{BASE}/namespaces/ns/seinodedeployments/wave":
            return not_found() if self.obj is None else web.json_response(self.obj)
        if request.path == f"{BASE}/namespaces/ns/seinodedeployments":
            assert request.query["fieldSelector"] == "metadata.name=wave"
            self.watches.append(request.query.get("resourceVersion", ""))
            response = web.StreamResponse()
            await response.prepare(request)
            while True:
                event = await self.events.get()
                await response.write(json.dumps(event).encode() + b"\n")
        return not_found()

    def send(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.put_nowait({"type": kind, "object": obj})


def kubeconfig_for(path: Path, server: str, namespace: str | None = None) -> Path:
    context = f"{{cluster: c, user: u{f', namespace: {namespace}' if namespace else ''}}}"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        f"contexts: [{{name: c, context: {context}}}]\n"
    )
    return path


@pytest_asyncio.fixture
async def stub(tmp_path: Path) -> AsyncIterator[StubServer]:
    app = web.Application()
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    server = StubServer(tmp_path / "kubeconfig")
    app.router.add_route("*", "/{tail:.*}", server.handle)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    kubeconfig_for(server.kubeconfig, f"http://127.0.0.1:{runner.addresses[0][1]}")
    yield server
    await runner.cleanup()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)


async def rollout_status(kubeconfig: Path, *flags: str, namespace: str | None = "ns") -> int:
    argv = ["rollout", "status", "snd/wave", f"--kubeconfig={kubeconfig}", *flags]
    args = build_parser().parse_args(argv + ([f"-n={namespace}"] if namespace else []))
    code: int = await args.run(args)
    return code


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


async def test_follows_a_rollout_to_completion_one_line_per_change(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling(None), 10)
    stub.send("MODIFIED", versioned(rolling([True, False, False]), 11))
    stub.send("MODIFIED", versioned(rolling([True, False, False]), 12))  # no visible change
    stub.send("MODIFIED", versioned(rolling([True, True, True]), 13))
    stub.send("MODIFIED", versioned(steady(NEW_IMAGE, generation=2), 14))
    assert await rollout_status(stub.kubeconfig) == EXIT_COMPLETE
    out = capsys.readouterr().out.splitlines()
    prefix = 'Waiting for seinodedeployment "wave" rollout to finish: '
    assert out == [
        prefix + "0 of 3 nodes updated...",
        prefix + "1 of 3 nodes updated...",
        prefix + "3 of 3 nodes updated, plan step mark-nodes-ready...",
        'seinodedeployment "wave" successfully rolled out',
    ]
    assert stub.watches == ["10"]


async def test_a_stall_ends_with_its_own_exit_code(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling([False, False, False]), 10)
    stub.send("MODIFIED", versioned(rolling([True, False, True], "Stalled", STALL), 11))
    assert await rollout_status(stub.kubeconfig) == EXIT_STALLED
    assert one_error_line(capsys) == (
        f'sei-controller rollout status: seinodedeployment "wave" {STALL} (not ready: wave-1)'
    )


async def test_an_expired_watch_reads_the_object_again_and_goes_on(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling([False, False, False]), 10)
    stub.send("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "old"})
    stub.obj = versioned(steady(), 20)  # what the re-read finds
    assert await rollout_status(stub.kubeconfig) == EXIT_COMPLETE
    assert capsys.readouterr().out.splitlines()[-1].endswith("successfully rolled out")


async def test_a_deleted_group_is_a_failure(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling(None), 10)
    stub.send("DELETED", versioned(rolling(None), 11))
    assert await rollout_status(stub.kubeconfig) == EXIT_FAILED
    assert one_error_line(capsys).endswith('seinodedeployment "wave" was deleted')


async def test_the_timeout_ends_a_rollout_still_running(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling([True, False, False]), 10)
    assert await rollout_status(stub.kubeconfig, "--timeout=1s") == EXIT_TIMEOUT
    assert one_error_line(capsys) == (
        "sei-controller rollout status: timed out after 1s: Waiting for seinodedeployment "
        '"wave" rollout to finish: 1 of 3 nodes updated...'
    )


async def test_one_shot_reports_a_running_rollout_and_says_so_in_its_exit_code(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(rolling([True, False, False]), 10)
    assert await rollout_status(stub.kubeconfig, "--watch=false") == EXIT_IN_PROGRESS
    out = capsys.readouterr().out.splitlines()
    assert out == [
        'Waiting for seinodedeployment "wave" rollout to finish: 1 of 3 nodes updated...'
    ]
    assert stub.watches == []


async def test_one_shot_on_a_ready_group_succeeds(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(steady(), 10)
    assert await rollout_status(stub.kubeconfig, "--watch=false") == EXIT_COMPLETE


async def test_the_namespace_defaults_to_the_kubeconfig_contexts(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.obj = versioned(steady(), 10)
    server = stub.kubeconfig.read_text().split("server: '")[1].split("'")[0]
    kubeconfig_for(stub.kubeconfig, server, namespace="ns")
    assert await rollout_status(stub.kubeconfig, namespace=None) == EXIT_COMPLETE


async def test_a_missing_group_is_one_line(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await rollout_status(stub.kubeconfig) == EXIT_ERROR
    assert one_error_line(capsys) == (
        'sei-controller rollout status: seinodedeployment "wave" not found in namespace "ns"'
    )


async def test_missing_crds_are_one_line(
    stub: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.crds = False
    assert await rollout_status(stub.kubeconfig) == EXIT_ERROR
    assert "the sei.io/v1alpha1 CRDs are not installed" in one_error_line(capsys)


async def test_an_unreachable_api_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = kubeconfig_for(tmp_path / "kubeconfig", "https://127.0.0.1:1")
    assert await rollout_status(kubeconfig) == EXIT_ERROR
    assert one_error_line(capsys).startswith(
        "sei-controller rollout status: cannot reach the Kubernetes API server at "
        "https://127.0.0.1:1:"
    )


def test_a_terminal_gets_the_block_redrawn_in_place() -> None:
    out = io.StringIO()
    display = Display(out, tty=True)
    display.show(evaluate(rolling([True, False, False])))
    first = out.getvalue()
    display.show(evaluate(rolling([True, True, False])))
    display.show(evaluate(steady()), final=True)
    text = out.getvalue()
    assert first.startswith("\x1b[J")
    assert "1/3 updated" in first
    height = len(first.splitlines())  # message, progress, header and one row per node
    assert height == 6
    second = text[len(first) :]
    assert second.startswith(f"\x1b[{height}F\x1b[J")
    assert "2/3 updated" in second
    assert "successfully rolled out" not in text  # the final message is the caller's line


def test_a_pipe_gets_one_line_per_change_and_no_escape_codes() -> None:
    out = io.StringIO()
    display = Display(out, tty=False)
    for ready in ([True, False, False], [True, False, False], [True, True, False]):
        display.show(evaluate(rolling(ready)))
    assert "\x1b" not in out.getvalue()
    assert [line.split(": ")[-1] for line in out.getvalue().splitlines()] == [
        "1 of 3 nodes updated...",
        "2 of 3 nodes updated...",
    ]
