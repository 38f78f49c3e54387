"""Sidecar backends for the contract suite: the simulator and real `seictl serve` processes.

Both are driven through the local fleet's launchers (one node, one loopback port), so the
contract tests also pin what the fleet runs. `make test` passes the real binary in SEICTL_BIN;
a bare `pytest` builds it (or finds it cached) with hack/build-seictl.sh.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from controller_runtime.envtest import eventually
from controllers.sidecar.api import TaskResultStatus
from controllers.sidecar.client import HTTPSidecarClient, HTTPSidecarClientFactory
from controllers.sidecar.launchers import (
    SEICTL_BIN_ENV,
    NodeKey,
    SeictlLauncher,
    SidecarLauncher,
    SimulatorLauncher,
)
from controllers.sidecar.simnode import SimulatedNode
from controllers.sidecar.simulator import SidecarSimulator

REPO = Path(__file__).resolve().parents[3]
NODE: NodeKey = ("contract", "node-a")
# seictl carries this chain's genesis, so configure-genesis works without S3.
EMBEDDED_CHAIN = "pacific-1"


def seictl_binary() -> Path:
    if not os.environ.get(SEICTL_BIN_ENV):
        out = subprocess.run(
            [str(REPO / "hack" / "build-seictl.sh")], check=True, stdout=subprocess.PIPE, text=True
        ).stdout
        os.environ[SEICTL_BIN_ENV] = str(Path(out.strip().splitlines()[-1]) / "seictl")
    binary = Path(os.environ[SEICTL_BIN_ENV])
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{SEICTL_BIN_ENV}={binary} is not an executable seictl")
    return binary


_GENESIS: dict[str, bytes] = {}


async def initialised_genesis(workdir: Path, chain_id: str) -> bytes:
    """A genesis.json as ``seid init`` leaves it in a pod (full application state), which
    seictl's generate-gentx needs: seictl's embedded pacific-1 genesis, with ``chain_id``.
    No seid runs here, so tests put this into a ceremony node's home themselves."""
    if EMBEDDED_CHAIN not in _GENESIS:
        launcher = SeictlLauncher(seictl_binary(), workdir, env={"SEI_CHAIN_ID": EMBEDDED_CHAIN})
        node: NodeKey = ("seed", "genesis")
        port = free_port()
        try:
            await launcher.start(node, port, {})
            async with HTTPSidecarClientFactory() as factory:
                client = factory.for_url(f"http://127.0.0.1:{port}")
                task_id = await client.submit_task("configure-genesis")
                await eventually(
                    lambda: client.get_task(task_id),
                    lambda r: r.status is TaskResultStatus.COMPLETED,
                    timeout=60,
                    message="embedded genesis written",
                )
            _GENESIS[EMBEDDED_CHAIN] = (
                launcher.home(node) / "config" / "genesis.json"
            ).read_bytes()
        finally:
            await launcher.close()
    genesis = json.loads(_GENESIS[EMBEDDED_CHAIN])
    genesis["chain_id"] = chain_id
    return json.dumps(genesis).encode()


@pytest.fixture(scope="session")
def seictl() -> Path:
    """The real sidecar binary (built once, cached outside the repository)."""
    return seictl_binary()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sidecar:
    """One node's sidecar under test, whichever backend runs it."""

    backend: str
    launcher: SidecarLauncher
    port: int
    client: HTTPSidecarClient
    session: aiohttp.ClientSession
    simulated: SimulatedNode | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self.launcher.start(NODE, self.port, {})

    async def restart(self) -> None:
        """The sidecar process stops and a new one starts on the same data (task store)."""
        await self.launcher.stop(NODE)
        await self.start()

    async def raw(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        """A request outside our client: the status and the decoded JSON body (None if empty)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        async with self.session.request(
            method, self.url + path, data=body, headers=headers
        ) as response:
            data = await response.read()
            return response.status, (await response.json(content_type=None) if data else None)


@contextlib.asynccontextmanager
async def open_sidecar(backend: str, tmp_path: Path) -> AsyncIterator[Sidecar]:
    """A fresh node sidecar: a simulated one, or a real `seictl serve` with an empty home."""
    simulator: SidecarSimulator | None = None
    launcher: SidecarLauncher
    if backend == "simulator":
        simulator = SidecarSimulator()
        launcher = SimulatorLauncher(simulator)
    else:
        launcher = SeictlLauncher(
            seictl_binary(), tmp_path / "fleet", env={"SEI_CHAIN_ID": EMBEDDED_CHAIN}
        )
    async with (
        HTTPSidecarClientFactory() as factory,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
    ):
        port = free_port()
        sidecar = Sidecar(
            backend,
            launcher,
            port,
            factory.for_url(f"http://127.0.0.1:{port}"),
            session,
            simulator.node(*NODE) if simulator is not None else None,
        )
        try:
            await sidecar.start()
            yield sidecar
        finally:
            await launcher.close()
            if simulator is not None:
                await simulator.close()


@pytest_asyncio.fixture(loop_scope="session", params=["simulator", "seictl"])
async def sidecar(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sidecar]:
    """The contract's backend: each contract test runs once on each."""
    async with open_sidecar(request.param, tmp_path) as sidecar:
        yield sidecar


@pytest_asyncio.fixture(loop_scope="session")
async def simulated_sidecar(tmp_path: Path) -> AsyncIterator[Sidecar]:
    """The simulator alone, for what a local seictl cannot do (S3, EC2, a running chain)."""
    async with open_sidecar("simulator", tmp_path) as sidecar:
        yield sidecar


@pytest_asyncio.fixture(loop_scope="session")
async def real_sidecar(tmp_path: Path) -> AsyncIterator[Sidecar]:
    """Real `seictl serve` alone, for facts about it the simulator deliberately differs from."""
    async with open_sidecar("seictl", tmp_path) as sidecar:
        yield sidecar
