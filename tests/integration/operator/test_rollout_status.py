"""`sei-controller rollout status` as a process, following the operator's rollouts on the local
control plane: it shows progress while an InPlace rollout runs and exits 0 once it completed;
it exits with the stall code once the rollout is Stalled (decisions D1)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane, eventually
from controllers.rollout_status.command import EXIT_COMPLETE, EXIT_STALLED
from controllers.sidecar.simnode import Fault

from ...fixtures.operator import REPO
from .conftest import OperatorFactory
from .test_group_inplace import NEW_IMAGE, _bump, _create_ready_group, _group, _status
from .test_group_rollout_recovery import BROKEN_IMAGE

LINE_TIMEOUT = 120.0


@contextlib.asynccontextmanager
async def rollout_status(
    cp: ControlPlane, namespace: str, name: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    proc = await asyncio.create_subprocess_exec(
        *command(cp, namespace, name),
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def rollout_status_on_a_terminal(
    cp: ControlPlane, namespace: str, name: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Callable[[], Awaitable[str]]]]:
    """The command with its stdout on a pseudo-terminal; ``read()`` returns the next output
    ("" once the command closed it)."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    proc = await asyncio.create_subprocess_exec(
        *command(cp, namespace, name),
        env={**env, "COLUMNS": "120", "TERM": "xterm"},
        cwd=REPO,
        stdout=secondary,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    os.close(secondary)

    async def read() -> str:
        try:
            data = await asyncio.wait_for(asyncio.to_thread(os.read, primary, 65536), LINE_TIMEOUT)
        except OSError:  # EIO: every writer of the terminal is gone
            return ""
        return data.decode(errors="replace")

    try:
        yield proc, read
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        os.close(primary)


def command(cp: ControlPlane, namespace: str, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "controllers.cli",
        "rollout",
        "status",
        f"snd/{name}",
        f"--kubeconfig={cp.kubeconfig}",
        f"--namespace={namespace}",
        "--timeout=5m",
    ]


async def read_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), LINE_TIMEOUT)
    assert line, f"stdout ended (exit {await proc.wait()})"
    return line.decode().rstrip("\n")


async def test_shows_progress_then_exits_0_when_the_inplace_rollout_completes(
    run_operator: OperatorFactory, kube: Client, namespace: str, sei_cluster: ControlPlane
) -> None:
    async with run_operator(sidecars="fleet-simulator") as op:
        await _create_ready_group(op, kube, "rs")
        # rs-2's new pod is never released while its sidecar refuses tasks: the rollout keeps
        # running (every pod Ready, the plan's mark-nodes-ready step waiting) until cleared.
        held = op.sidecar("rs-2")
        held.inject(Fault.SERVER_ERROR, endpoints={"submit"})
        await _bump(kube, "rs", namespace, NEW_IMAGE)
        await eventually(
            lambda: _group(kube, "rs", namespace),
            lambda g: _status(g).get("rollout") is not None,
            timeout=60,
            message="the rollout recorded",
        )
        async with rollout_status(sei_cluster, namespace, "rs") as proc:
            progress = [await read_line(proc)]
            while "rollout to finish" not in progress[-1]:
                progress.append(await read_line(proc))
            assert proc.returncode is None
            held.clear_faults()
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
        lines = progress + stdout.decode().splitlines()
        assert proc.returncode == EXIT_COMPLETE, stderr.decode()
        assert stderr.decode() == ""
        assert lines[-1] == 'seinodedeployment "rs" successfully rolled out'
        prefix = 'Waiting for seinodedeployment "rs" rollout to finish: '
        assert any(line.startswith(prefix) for line in lines[:-1]), lines
        assert all(line.startswith("Waiting for ") for line in lines[:-1]), lines
        done = await _group(kube, "rs", namespace)
        assert _status(done).get("rollout") is None
        assert _status(done).get("phase") == "Ready"


async def test_exits_with_the_stall_code_when_the_rollout_stalls(
    run_operator: OperatorFactory, kube: Client, namespace: str, sei_cluster: ControlPlane
) -> None:
    async with run_operator(sidecars="fleet-simulator", stall_threshold=3.0) as op:
        await _create_ready_group(op, kube, "rst", replicas=2)
        await _bump(kube, "rst", namespace, BROKEN_IMAGE)
        async with rollout_status(sei_cluster, namespace, "rst") as proc:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
        assert proc.returncode == EXIT_STALLED, (stdout + stderr).decode()
        err = stderr.decode().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith(
            'sei-controller rollout status: seinodedeployment "rst" rollout stalled: '
            "not all nodes ready after 3s (not ready: "
        )
        assert "Traceback" not in stderr.decode()
        stalled = await _group(kube, "rst", namespace)
        reason = next(
            c["reason"] for c in _status(stalled)["conditions"] if c["type"] == "RolloutInProgress"
        )
        assert reason == "Stalled"


async def test_a_terminal_gets_a_progress_bar_with_each_node(
    run_operator: OperatorFactory, kube: Client, namespace: str, sei_cluster: ControlPlane
) -> None:
    async with run_operator(sidecars="fleet-simulator") as op:
        await _create_ready_group(op, kube, "tty")
        held = op.sidecar("tty-1")
        held.inject(Fault.SERVER_ERROR, endpoints={"submit"})
        await _bump(kube, "tty", namespace, NEW_IMAGE)
        screen = ""
        async with rollout_status_on_a_terminal(sei_cluster, namespace, "tty") as (proc, terminal):
            while not re.search(r"\[#+-*\] \d/3 updated", screen):
                screen += await terminal()
            assert "\x1b[J" in screen  # the block is redrawn in place
            for node in ("tty-0", "tty-1", "tty-2"):
                assert re.search(rf"{node} +Running +(updated|updating)", screen), screen
            held.clear_faults()
            while chunk := await terminal():
                screen += chunk
            assert await asyncio.wait_for(proc.wait(), 300) == EXIT_COMPLETE
        assert screen.rstrip().endswith('seinodedeployment "tty" successfully rolled out')
