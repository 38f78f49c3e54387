"""A real local Kubernetes control plane: etcd + kube-apiserver, and optionally
kube-controller-manager, kube-scheduler and kwok with fake Ready nodes.

    async with ControlPlane(ControlPlaneOptions(full=True)) as cp:
        api = await cp.new_api_client()          # kubernetes_asyncio, admin
        await cp.install_crds(["config/crd"])

Invariants:
- Everything listens on 127.0.0.1 on ports probed free at start.
- stop() stops every component this object started, in reverse start order, whatever state the
  start reached; the etcd data and certificates are deleted, logs are kept on request.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import structlog
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from controller_runtime.envtest import components
from controller_runtime.envtest.assets import Assets
from controller_runtime.envtest.crds import install_crds
from controller_runtime.envtest.kubeconfig import write_kubeconfig
from controller_runtime.envtest.pki import PkiFiles, generate_pki
from controller_runtime.envtest.process import ManagedProcess, ProcessError
from controller_runtime.envtest.rest import AdminRest

log = structlog.get_logger("envtest")

ETCD = "etcd"
APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KWOK = "kwok"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fast_tmp() -> str | None:
    """/dev/shm when usable: etcd on tmpfs is several times faster than on disk."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass
class ControlPlaneOptions:
    assets_dir: Path | None = None
    """Directory with the binaries; default $ENVTEST_ASSETS."""
    full: bool = False
    """Also run kube-controller-manager, kube-scheduler and kwok (StatefulSets, GC, pods)."""
    fake_nodes: int = 1
    """Number of kwok-managed Ready nodes created when full."""
    start_timeout: float = 90.0
    """Per component; the API server needs most of it on 2 cores."""
    log_dir: Path | None = None
    """Where component logs go; default a fresh temporary directory."""
    client_qps: float | None = None
    """Client QPS of kube-controller-manager and kube-scheduler (burst twice that) when full;
    None keeps their defaults (20 and 50), which pace a cluster with hundreds of pods.
    kwokctl's scale setups use 5000 (kwok itself is not rate-limited)."""
    apiserver_args: list[str] = field(default_factory=list)
    """Extra kube-apiserver flags, after the defaults (a repeated flag overrides them)."""
    apiserver_feature_gates: dict[str, bool] = field(default_factory=dict)
    """kube-apiserver feature gates, e.g. {"WatchList": False} for a server that does not
    serve streaming lists, like older or managed clusters. Also applies to extra API servers."""

    def apiserver_flags(self) -> list[str]:
        """The extra kube-apiserver flags these options add: feature gates, then apiserver_args."""
        gates = ",".join(
            f"{name}={str(on).lower()}" for name, on in sorted(self.apiserver_feature_gates.items())
        )
        return ([f"--feature-gates={gates}"] if gates else []) + list(self.apiserver_args)


class ControlPlane:
    def __init__(self, options: ControlPlaneOptions | None = None) -> None:
        self.options = options or ControlPlaneOptions()
        self.assets = Assets.locate(self.options.assets_dir)
        self._work_dir = Path(tempfile.mkdtemp(prefix="envtest-", dir=_fast_tmp()))
        self.log_dir = self.options.log_dir or Path(tempfile.mkdtemp(prefix="envtest-logs-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.ports = components.Ports(*(_free_port() for _ in range(5)))
        self.server = f"https://127.0.0.1:{self.ports.apiserver}"
        self.etcd_url = f"http://127.0.0.1:{self.ports.etcd_client}"
        self.kubeconfig = self._work_dir / "admin.kubeconfig"
        self.pki: PkiFiles = generate_pki(self._work_dir / "pki")
        self.rest = AdminRest(self.server, self.pki)
        self._extra_rest: list[AdminRest] = []
        self.processes: dict[str, ManagedProcess] = {}
        self._readiness: dict[str, Callable[[], Awaitable[bool]]] = {}
        self.start_seconds: dict[str, float] = {}
        self.fake_node_names = [f"kwok-node-{i}" for i in range(self.options.fake_nodes)]

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop(keep_logs=True)
            raise

    async def _start(self) -> None:
        t0 = time.monotonic()
        write_kubeconfig(self.kubeconfig, self.server, self.pki)
        self._add(ETCD, components.etcd_argv(self.assets.etcd, self._work_dir / "etcd", self.ports))
        self._readiness[ETCD] = lambda: self._http_ok(f"{self.etcd_url}/health")
        await self.start_component(ETCD)
        self._add(
            APISERVER,
            components.apiserver_argv(
                self.assets.kube_apiserver,
                self.pki,
                self.ports,
                self._work_dir / "apiserver-certs",
                self.options.apiserver_flags(),
            ),
        )
        self._readiness[APISERVER] = self._apiserver_ready
        await self.start_component(APISERVER)
        if self.options.full:
            await self._start_full()
        self.start_seconds["total"] = time.monotonic() - t0
        seconds = {name: round(value, 2) for name, value in self.start_seconds.items()}
        log.info("control plane ready", server=self.server, seconds=seconds)

    async def _start_full(self) -> None:
        kcm_port, sched_port = self.ports.controller_manager, self.ports.scheduler
        self._add(
            CONTROLLER_MANAGER,
            components.controller_manager_argv(
                self.assets.kube_controller_manager,
                self.pki,
                self.kubeconfig,
                kcm_port,
                self.options.client_qps,
            ),
        )
        self._readiness[CONTROLLER_MANAGER] = lambda: self._https_ok(kcm_port)
        sched_config = self._work_dir / "scheduler.yaml"
        sched_config.write_text(
            components.scheduler_config(self.kubeconfig, self.options.client_qps)
        )
        self._add(
            SCHEDULER,
            components.scheduler_argv(
                self.assets.kube_scheduler, sched_config, self.kubeconfig, sched_port
            ),
        )
        self._readiness[SCHEDULER] = lambda: self._https_ok(sched_port)
        self._add(
            KWOK,
            components.kwok_argv(self.assets.kwok, self.kubeconfig, self.assets.kwok_stages),
        )
        self._readiness[KWOK] = self._fake_nodes_ready
        await asyncio.gather(*(self.start_component(n) for n in (CONTROLLER_MANAGER, SCHEDULER)))
        await self._apply_documents(self.assets.kwok_storage_classes())
        for name in self.fake_node_names:
            await self.rest.request("POST", "/api/v1/nodes", components.fake_node(name), ok=(201,))
        await self.start_component(KWOK)

    async def stop(self, keep_logs: bool = False) -> None:
        """Stops everything started, newest first; never raises for a component that died."""
        for name in reversed(list(self.processes)):
            await self.processes[name].stop()
        await self.rest.close()
        for rest in self._extra_rest:
            await rest.close()
        shutil.rmtree(self._work_dir, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    async def __aenter__(self) -> ControlPlane:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(keep_logs=exc is not None)

    # --- components ------------------------------------------------------------------------

    def _add(self, name: str, argv: list[str]) -> None:
        self.processes[name] = ManagedProcess(name, argv, self.log_dir / f"{name}.log")

    async def start_component(self, name: str) -> None:
        """Starts (or restarts after stop_component) a component and waits until it is ready."""
        t0 = time.monotonic()
        process = self.processes[name]
        await process.start()
        await self._wait(name, self._readiness[name])
        self.start_seconds[name] = time.monotonic() - t0

    async def stop_component(self, name: str) -> None:
        await self.processes[name].stop()

    async def restart_component(self, name: str) -> None:
        await self.stop_component(name)
        await self.start_component(name)

    async def kill_component(self, name: str) -> None:
        """SIGKILLs a component, as a crash or an OOM kill would: no graceful shutdown, open
        connections reset. start_component brings it back on the same ports and data."""
        await self.processes[name].kill()

    async def _wait(self, name: str, ready: Callable[[], Awaitable[bool]]) -> None:
        process = self.processes[name]
        deadline = time.monotonic() + self.options.start_timeout
        while True:
            process.check_alive()
            if await ready():
                return
            if time.monotonic() > deadline:
                raise ProcessError(
                    f"{name} not ready after {self.options.start_timeout:.0f}s; "
                    f"last log lines:\n{process.log_tail()}"
                )
            await asyncio.sleep(0.1)

    async def _http_ok(self, url: str, verify: bool = True) -> bool:
        try:
            async with (
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=verify),
                    timeout=aiohttp.ClientTimeout(total=2),
                ) as session,
                session.get(url) as resp,
            ):
                return resp.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def _https_ok(self, port: int) -> bool:
        # The components serve /healthz with a self-signed certificate and allow it anonymously.
        return await self._http_ok(f"https://127.0.0.1:{port}/healthz", verify=False)

    async def _apiserver_ready(self) -> bool:
        return await self.rest.status("/readyz") == 200

    async def _fake_nodes_ready(self) -> bool:
        for name in self.fake_node_names:
            _, node = await self.rest.request("GET", f"/api/v1/nodes/{name}")
            conditions = node.get("status", {}).get("conditions") or []
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return False
        return True

    async def _apply_documents(self, docs: Sequence[dict[str, Any]]) -> None:
        for doc in docs:
            if doc.get("kind") == "StorageClass":
                await self.rest.request(
                    "POST", "/apis/storage.k8s.io/v1/storageclasses", doc, ok=(201, 409)
                )

    # --- fault injection ---------------------------------------------------------------------

    async def start_extra_apiserver(self, name: str, extra_args: Sequence[str] = ()) -> str:
        """Starts another kube-apiserver on the same etcd (e.g. with --watch-cache=false), so
        tests can write while the main one is down. Returns its URL."""
        port = _free_port()
        ports = dataclasses.replace(self.ports, apiserver=port)
        rest = AdminRest(f"https://127.0.0.1:{port}", self.pki)
        self._extra_rest.append(rest)
        args = [*self.options.apiserver_flags(), *extra_args]
        argv = components.apiserver_argv(
            self.assets.kube_apiserver, self.pki, ports, self._work_dir / f"{name}-certs", args
        )
        self._add(name, argv)

        async def ready() -> bool:
            return await rest.status("/readyz") == 200

        self._readiness[name] = ready
        await self.start_component(name)
        return f"https://127.0.0.1:{port}"

    async def etcd_revision(self) -> int:
        async with aiohttp.ClientSession() as session:
            key = base64.b64encode(b"/").decode()
            async with session.post(f"{self.etcd_url}/v3/kv/range", json={"key": key}) as resp:
                resp.raise_for_status()
                body = await resp.json()
        return int(body["header"]["revision"])

    async def compact_etcd(self) -> int:
        """Compacts etcd's history up to the current revision (older resourceVersions become
        unavailable: watches and lists from them answer 410 Gone). Returns the revision."""
        revision = await self.etcd_revision()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.etcd_url}/v3/kv/compaction",
                json={"revision": str(revision), "physical": True},
            ) as resp,
        ):
            resp.raise_for_status()
        return revision

    # --- conveniences for tests and dev mode -----------------------------------------------

    async def install_crds(
        self, paths: Sequence[Path | str], timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        return await install_crds(self.rest, paths, timeout=timeout)

    async def new_api_client(self) -> k8s_client.ApiClient:
        """A kubernetes_asyncio ApiClient authenticated as the admin user."""
        configuration = k8s_client.Configuration()
        await k8s_config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return k8s_client.ApiClient(configuration)

    def describe(self, lines: int = 12, width: int = 400) -> str:
        """Log tails of every component (long lines cut), for failure reports."""
        parts = [f"control plane logs in {self.log_dir}"]
        for name, process in self.processes.items():
            state = "running" if process.running else "stopped"
            tail = "\n".join(line[:width] for line in process.log_tail(lines).splitlines())
            parts.append(f"--- {name} ({state}) ---\n{tail}")
        return "\n".join(parts)
