"""`sei-controller run` as a process against the local control plane: it takes the Lease,
serves probes and metrics, and on SIGTERM stops cleanly (exit 0) and releases the Lease, so a
standby replica need not wait for it to expire."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from controller_runtime.client import Client, NotFoundError
from controller_runtime.envtest import ControlPlane, eventually
from tests.fixtures.platform import PLATFORM_TEST_ENV

from .kubectl import REPO

LEASE = "sei-run-command-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest_asyncio.fixture(loop_scope="session")
async def crds(control_plane: ControlPlane) -> None:
    await control_plane.install_crds([REPO / "config" / "crd"])


async def lease(kube: Client, namespace: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await kube.get("coordination.k8s.io/v1", "Lease", LEASE, namespace)
        return found
    except NotFoundError:
        return None


def holder(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("spec") or {}).get("holderIdentity") or "")


@contextlib.asynccontextmanager
async def run_command(
    cp: ControlPlane, namespace: str, metrics: int, probes: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SEI_", "KUBE"))},
        **PLATFORM_TEST_ENV,
        "SEI_CONTROLLER_LOG_FORMAT": "console",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controllers.cli",
        "run",
        f"--kubeconfig={cp.kubeconfig}",
        f"--watch-namespace={namespace}",
        f"--leader-election-namespace={namespace}",
        f"--leader-election-id={LEASE}",
        f"--metrics-bind-address=127.0.0.1:{metrics}",
        f"--health-probe-bind-address=127.0.0.1:{probes}",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def get(url: str) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


async def test_run_leads_serves_and_releases_the_lease_on_sigterm(
    control_plane: ControlPlane, crds: None, kube: Client, namespace: str
) -> None:
    metrics, probes = free_port(), free_port()
    async with run_command(control_plane, namespace, metrics, probes) as proc:
        held = await eventually(
            lambda: lease(kube, namespace),
            lambda obj: bool(holder(obj)) or proc.returncode is not None,
            timeout=90,
            message="the Lease taken",
        )
        assert proc.returncode is None, (await proc.stdout.read()).decode()  # type: ignore[union-attr]
        await eventually(
            lambda: get(f"http://127.0.0.1:{probes}/readyz"), lambda r: r[0] == 200, timeout=60
        )
        code, body = await get(f"http://127.0.0.1:{metrics}/metrics")
        assert code == 200
        assert f'leader_election_master_status{{name="{LEASE}"}} 1.0' in body

        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, output.decode()
    released = await lease(kube, namespace)
    assert holder(held)
    assert holder(released) == ""
    assert (released or {})["spec"]["leaseDurationSeconds"] == 1
