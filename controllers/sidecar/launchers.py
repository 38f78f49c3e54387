"""What runs a local node sidecar for the local fleet: real ``seictl serve`` processes
(:class:`SeictlLauncher`) or nodes of the simulator (:class:`SimulatorLauncher`).

Both give a node one sidecar on a loopback port at a time, and keep the node's data across
restarts (the home directory, or the simulated task store), as the node's PVC does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from controller_runtime.envtest import ManagedProcess, ProcessError
from controllers.sidecar.simulator import SidecarSimulator

__all__ = [
    "SEICTL_BIN_ENV",
    "SIDECAR_CONTAINER",
    "HomeInitializer",
    "NodeKey",
    "SeictlLauncher",
    "SidecarLauncher",
    "SimulatorLauncher",
]

SEICTL_BIN_ENV = "SEICTL_BIN"
"""Where tests and the dev mode find the seictl binary (``make test`` sets it)."""
SIDECAR_CONTAINER = "sei-sidecar"
NodeKey = tuple[str, str]  # (namespace, node name)
Object = dict[str, Any]


# What the pod's seid-init container leaves in the node's home before the sidecar starts
# (``seid init``'s genesis.json, for one): (node, home directory, pod) -> None. No seid runs
# here, so a test that needs those files provides them.
HomeInitializer = Callable[[NodeKey, Path, Object], None]


class SidecarLauncher(Protocol):
    """Starts and stops one node's sidecar on a loopback port."""

    async def start(self, node: NodeKey, port: int, pod: Object) -> None:
        """Returns once the sidecar answers; raises if it cannot be started."""
        ...

    async def stop(self, node: NodeKey) -> None: ...

    async def close(self) -> None: ...


class SimulatorLauncher:
    """Nodes of a simulator, each on its own port. A restart keeps the node's task store and
    loses its readiness, as a real sidecar restarted on the same data volume does."""

    def __init__(self, simulator: SidecarSimulator) -> None:
        self.simulator = simulator
        self._started: set[NodeKey] = set()

    async def start(self, node: NodeKey, port: int, pod: Object) -> None:
        simulated = self.simulator.node(*node)
        if node in self._started:
            simulated.restart()
        self._started.add(node)
        # The sidecar's chain is the pod's SEI_CHAIN_ID, as for a real sidecar.
        simulated.chain_id = _sidecar_env(pod).get("SEI_CHAIN_ID") or simulated.chain_id
        await self.simulator.serve_node(node[0], node[1], port)

    async def stop(self, node: NodeKey) -> None:
        await self.simulator.stop_node(*node)

    async def close(self) -> None:
        """The simulator belongs to the caller, who closes it."""


class SeictlLauncher:
    """Real ``seictl serve`` processes, one per node, each in its own process group.

    A node's home directory (``<root>/<namespace>/<name>/home``, its ``/sei``) is kept across
    restarts; its log is ``<root>/<namespace>/<name>/seictl.log``. The ``SEI_*`` environment is
    the pod's ``sei-sidecar`` container's, so the sidecar knows its chain as in the cluster;
    AWS calls go to a closed loopback port, so anything needing S3 fails fast instead of
    reaching the internet.
    """

    def __init__(
        self,
        binary: Path,
        root: Path,
        *,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
        init_home: HomeInitializer | None = None,
    ) -> None:
        self.binary = binary
        self.root = root
        self.extra_env = dict(env or {})
        self.ready_timeout = ready_timeout
        self.init_home = init_home
        self._processes: dict[NodeKey, ManagedProcess] = {}

    def home(self, node: NodeKey) -> Path:
        return self.root / node[0] / node[1] / "home"

    def log_path(self, node: NodeKey) -> Path:
        return self.root / node[0] / node[1] / "seictl.log"

    def pid(self, node: NodeKey) -> int | None:
        process = self._processes.get(node)
        return process.pid if process is not None and process.running else None

    def environment(self, node: NodeKey, pod: Object | None = None) -> dict[str, str]:
        home = self.home(node)
        env = {
            "SEI_CHAIN_ID": "sei-local",
            "SEI_GENESIS_BUCKET": "local-genesis",
            "SEI_GENESIS_REGION": "local",
            "SEI_SNAPSHOT_BUCKET": "local-snapshots",
            "SEI_SNAPSHOT_REGION": "local",
        }
        env |= _sidecar_env(pod) if pod is not None else {}
        env |= {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "HOSTNAME": (pod or {}).get("metadata", {}).get("name") or f"{node[1]}-0",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        env |= self.extra_env
        env["SEI_HOME"] = str(home)
        env.pop("SEI_SIDECAR_PORT", None)  # the fleet's port is passed as --port
        return env

    async def start(self, node: NodeKey, port: int, pod: Object) -> None:
        await self.stop(node)
        home = self.home(node)
        home.mkdir(parents=True, exist_ok=True)
        if self.init_home is not None:
            self.init_home(node, home, pod)
        process = ManagedProcess(
            f"seictl {node[0]}/{node[1]}",
            [str(self.binary), "serve", "--port", str(port)],
            self.log_path(node),
            env=self.environment(node, pod),
        )
        self._processes[node] = process
        await process.start()
        await _wait_until_live(process, f"http://127.0.0.1:{port}/v0/livez", self.ready_timeout)

    async def stop(self, node: NodeKey) -> None:
        process = self._processes.pop(node, None)
        if process is not None:
            await process.stop()

    async def kill(self, node: NodeKey) -> None:
        """SIGKILL, as a crashed container: nothing is flushed, running tasks stay running."""
        process = self._processes.pop(node, None)
        if process is not None:
            await process.kill()

    async def close(self) -> None:
        for node in list(self._processes):
            await self.stop(node)


def _sidecar_env(pod: Object) -> dict[str, str]:
    """The literal ``SEI_*`` variables of the pod's sidecar container (init or regular)."""
    spec = pod.get("spec") or {}
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if container.get("name") == SIDECAR_CONTAINER:
            return {
                e["name"]: str(e["value"])
                for e in container.get("env") or []
                if e.get("name", "").startswith("SEI_") and "value" in e
            }
    return {}


async def _wait_until_live(process: ManagedProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session:
        while True:
            process.check_alive()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise ProcessError(
                    f"{process.name} did not answer {url} within {timeout:g}s; "
                    f"last log lines:\n{process.log_tail()}"
                )
            await asyncio.sleep(0.1)
