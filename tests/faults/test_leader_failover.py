"""Three `sei-controller run` processes with leader election, as a Deployment of three replicas
runs them; the leader is SIGKILLed while the rollout runs (no chance to release its Lease), then
its successor, and the last standby must take over and finish it.

The processes reach the simulated sidecars by URL template on the simulator's shared port; the
local fleet (in this process) still gives every pod its own sidecar lifecycle there: a node
whose pod is gone answers nothing, a new pod's sidecar comes up Initializing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane, eventually
from tests.fixtures.goldens import GOLDENS_DIR
from tests.fixtures.operator import local_sidecars

from .rollout import FaultRollout

# Each test takes under a minute here; the bound keeps a hang from eating the CI budget.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]

REPO = Path(__file__).resolve().parents[2]
LEASE = "faults-leader"
REPLICAS = 3
# A SIGKILLed leader's Lease must expire (15 s) before a standby may take it.
TAKEOVER_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ManagerProcess:
    index: int
    proc: asyncio.subprocess.Process
    metrics_port: int
    log: Path

    async def leads(self) -> bool:
        """What its own metrics say: leader_election_master_status 1 for the Lease."""
        if self.proc.returncode is not None:
            return False
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                body = await response.text()
        except aiohttp.ClientError:
            return False
        return f'leader_election_master_status{{name="{LEASE}"}} 1.0' in body

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def managers(
    plane: ControlPlane, namespace: str, url_template: str
) -> AsyncIterator[list[ManagerProcess]]:
    """REPLICAS manager processes electing a leader in the namespace; all killed on exit."""
    platform = json.loads((GOLDENS_DIR / "platform-env.json").read_text())["platform_env"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SEI_", "KUBE"))},
        **platform,
        "SEI_CONTROLLER_LOG_FORMAT": "console",
    }
    log_dir = plane.log_dir / namespace
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[ManagerProcess] = []
    try:
        for index in range(REPLICAS):
            port, log = _free_port(), log_dir / f"manager-{index}.log"
            with log.open("wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "controllers.cli",
                    "run",
                    f"--kubeconfig={plane.kubeconfig}",
                    f"--watch-namespace={namespace}",
                    "--leader-elect",
                    f"--leader-election-namespace={namespace}",
                    f"--leader-election-id={LEASE}",
                    f"--metrics-bind-address=127.0.0.1:{port}",
                    "--health-probe-bind-address=0",
                    f"--sidecar-url-template={url_template}",
                    env=env,
                    cwd=REPO,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(ManagerProcess(index, proc, port, log))
        yield started
    finally:
        for manager in started:
            manager.kill()
            await manager.proc.wait()


async def leaders(processes: list[ManagerProcess]) -> list[ManagerProcess]:
    found = await asyncio.gather(*(m.leads() for m in processes))
    return [m for m, leads in zip(processes, found, strict=True) if leads]


def _leaders_of(
    processes: list[ManagerProcess],
) -> Callable[[], Awaitable[list[ManagerProcess]]]:
    """A probe of the leaders among ``processes``, failing at once if one of them exited."""

    async def probe() -> list[ManagerProcess]:
        dead = [m for m in processes if m.proc.returncode is not None]
        assert not dead, f"manager {dead[0].index} exited: {dead[0].log.read_text()[-2000:]}"
        return await leaders(processes)

    return probe


async def _successor(candidates: list[ManagerProcess]) -> ManagerProcess:
    found = await eventually(
        _leaders_of(candidates),
        lambda leading: len(leading) == 1,
        timeout=TAKEOVER_TIMEOUT,
        message="one leader among the managers",
    )
    return found[0]


async def test_standbys_finish_the_rollout_after_each_leader_is_killed(
    fault_plane: ControlPlane, kube: Client, namespace: str
) -> None:
    """The first leader dies right after the bump (recording the rollout and patching the
    children), its successor right after the held pods are let go (with the nodes to release);
    the last standby finishes."""
    async with (
        local_sidecars(fault_plane, namespace, sidecars="fleet-simulator") as sidecars,
        contextlib.AsyncExitStack() as stack,
    ):
        assert sidecars.simulator is not None
        template = sidecars.simulator.url_template
        processes = await stack.enter_async_context(managers(fault_plane, namespace, template))
        first = await _successor(processes)
        roll = FaultRollout(kube, namespace, sidecars.simulator, sidecars.fleet)
        await roll.ready()
        async with roll.held():
            await roll.bump()
            first.kill()
            await first.proc.wait()
            second = await _successor([m for m in processes if m is not first])
            await roll.in_flight()
            await roll.release()
            second.kill()
            await second.proc.wait()
            # Without an operator, the cluster moves on: the held pods go, new ones come up
            # with sidecars that wait to be released.
            last = await _successor([m for m in processes if m not in (first, second)])
            await roll.landed()
        assert len({first.index, second.index, last.index}) == REPLICAS
        assert await leaders(processes) == [last]
