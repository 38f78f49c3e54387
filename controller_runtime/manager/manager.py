"""The manager: one cache and client shared by every controller, servers, leader election,
and an orderly start and stop.

Start order: HTTP servers (metrics, health) -> event broadcaster -> cache started and synced
-> runnables that need no leadership -> leader election -> leader-gated runnables (controllers).
Stop order: runnables (leader-gated and others; controllers finish the reconcile in hand) ->
cache -> HTTP servers -> leader election (the Lease is released here, with release_on_cancel,
only once no controller can still write) -> event broadcaster.

Invariants:
- Metrics and health servers run on every replica; controllers only on the leader.
- Losing leadership ends start() at once with LeaderElectionLostError, without waiting for
  runnables: the process must exit, since another replica is already leading.
- A graceful stop waits up to graceful_shutdown_timeout for runnables, then cancels them and
  raises an error saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.cache import ByObject, Cache
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.events import EventBroadcaster, EventRecorder
from controller_runtime.healthz import HealthProbeServer, ping
from controller_runtime.leaderelection import LeaderElectionConfig, LeaderElector
from controller_runtime.manager.cached_client import CachedClient
from controller_runtime.metrics import REGISTRY
from controller_runtime.metrics.server import MetricsServer

log = structlog.get_logger("manager")

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class Runnable(Protocol):
    """Anything the manager runs. An optional attribute `need_leader_election` (default True)
    says whether it runs only on the leader."""

    async def start(self) -> None:
        """Runs until cancelled."""


class LeaderElectionLostError(RuntimeError):
    pass


class GracefulShutdownTimeoutError(RuntimeError):
    pass


@dataclass
class ManagerOptions:
    namespace: str | None = None
    """Cache only this namespace (default: all)."""
    by_object: dict[tuple[str, str], ByObject] = field(default_factory=dict)
    sync_period: float | None = 10 * 3600.0
    uncached: set[tuple[str, str]] = field(default_factory=set)
    """(apiVersion, kind) always read from the API server."""
    field_owner: str | None = None
    metrics_bind_address: str = ":8080"
    secure_metrics: bool = False
    metrics_cert_dir: str | None = None
    health_probe_bind_address: str = ""
    leader_election: bool = False
    leader_election_id: str = ""
    leader_election_namespace: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    leader_election_release_on_cancel: bool = False
    leader_election_identity: str | None = None
    graceful_shutdown_timeout: float = 30.0
    """Seconds to wait for runnables on stop; 0: do not wait; negative: wait forever."""
    cache_sync_timeout: float = 120.0
    registry: CollectorRegistry = field(default_factory=lambda: REGISTRY)


class Manager:
    def __init__(self, rest: RestClient, options: ManagerOptions | None = None) -> None:
        self.options = options or ManagerOptions()
        self.registry = self.options.registry
        self.api_reader = Client(rest, field_owner=self.options.field_owner)
        self.cache = Cache(
            self.api_reader,
            namespace=self.options.namespace,
            by_object=self.options.by_object,
            sync_period=self.options.sync_period,
        )
        self.client = CachedClient(self.cache, self.api_reader, self.options.uncached)
        self.elected = asyncio.Event()
        self._leader_runnables: list[Runnable] = []
        self._other_runnables: list[Runnable] = []
        self._healthz: dict[str, Callable[[Any], Awaitable[None] | None]] = {}
        self._readyz: dict[str, Callable[[Any], Awaitable[None] | None]] = {}
        self._broadcaster = EventBroadcaster(self.api_reader)
        self._caches_synced = False
        self._started = False
        self._stopping = False
        self.metrics_server: MetricsServer | None = None
        self.health_server: HealthProbeServer | None = None
        self.elector: LeaderElector | None = None

    @classmethod
    async def create(
        cls, kubeconfig: str | Path | None = None, options: ManagerOptions | None = None
    ) -> Manager:
        return cls(RestClient(await load_config(kubeconfig)), options)

    # --- registration ----------------------------------------------------------------------

    def add(self, runnable: Runnable) -> None:
        """Adds a runnable; it is leader-gated unless it says need_leader_election = False."""
        if self._started:
            raise RuntimeError("cannot add runnables to a started manager")
        if getattr(runnable, "need_leader_election", True):
            self._leader_runnables.append(runnable)
        else:
            self._other_runnables.append(runnable)

    def add_healthz_check(self, name: str, check: Callable[[Any], Awaitable[None] | None]) -> None:
        self._register_check(self._healthz, name, check)

    def add_readyz_check(self, name: str, check: Callable[[Any], Awaitable[None] | None]) -> None:
        self._register_check(self._readyz, name, check)

    def _register_check(
        self,
        checks: dict[str, Callable[[Any], Awaitable[None] | None]],
        name: str,
        check: Callable[[Any], Awaitable[None] | None],
    ) -> None:
        if self._started:
            raise RuntimeError(
                "unable to add new checker because healthz endpoint has already been created"
            )
        checks[name] = check

    def get_event_recorder(self, name: str) -> EventRecorder:
        return self._broadcaster.new_recorder(name)

    def _cache_synced_check(self, _request: Any) -> None:
        if not self._caches_synced:
            raise RuntimeError("caches have not synced yet")

    # --- run -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Runs until cancelled (graceful stop), a runnable fails, or leadership is lost."""
        if self._started:
            raise RuntimeError("manager already started")
        self._started = True
        opts = self.options
        lost = asyncio.Event()
        tasks: dict[asyncio.Task[None], str] = {}
        elector_task: asyncio.Task[None] | None = None

        def spawn(runnable: Runnable) -> None:
            task = asyncio.create_task(runnable.start(), name=type(runnable).__name__)
            tasks[task] = type(runnable).__name__

        try:
            await self._start_servers()
            await self._broadcaster.start()
            await self.cache.start()
            if not await self.cache.wait_for_cache_sync(opts.cache_sync_timeout):
                raise TimeoutError("timed out waiting for the caches to sync")
            self._caches_synced = True
            for runnable in self._other_runnables:
                spawn(runnable)

            async def lead() -> None:
                self.elected.set()
                for runnable in self._leader_runnables:
                    spawn(runnable)

            if opts.leader_election:
                elector_task = asyncio.create_task(self._run_elector(lead, lost.set))
            else:
                await lead()
            await self._wait(tasks, lost, elector_task)
        finally:
            await self._stop(tasks, elector_task, lost.is_set())
        if lost.is_set():
            raise LeaderElectionLostError("leader election lost")

    async def _wait(
        self,
        tasks: dict[asyncio.Task[None], str],
        lost: asyncio.Event,
        elector_task: asyncio.Task[None] | None,
    ) -> None:
        """Returns when leadership is lost; raises the first runnable failure."""
        lost_waiter = asyncio.create_task(lost.wait())
        try:
            while not lost.is_set():
                waiting: set[asyncio.Task[Any]] = {lost_waiter, *tasks}
                if elector_task is not None:
                    waiting.add(elector_task)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = None if task is lost_waiter else task.exception()
                    if error is not None:
                        raise error
                if elector_task is not None and elector_task in done and not lost.is_set():
                    raise RuntimeError("leader election ended unexpectedly")
                # A runnable that returns on its own is finished; keep waiting for the rest.
                for task in done:
                    tasks.pop(task, None)
        finally:
            lost_waiter.cancel()

    async def _run_elector(
        self, on_lead: Callable[[], Awaitable[None]], on_lost: Callable[[], None]
    ) -> None:
        opts = self.options
        namespace = opts.leader_election_namespace
        if not namespace and SERVICE_ACCOUNT_NAMESPACE.exists():
            namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        if not namespace:
            raise ValueError("unable to find leader election namespace")
        if not opts.leader_election_id:
            raise ValueError("LeaderElectionID must be configured")
        config = LeaderElectionConfig(
            lease_name=opts.leader_election_id,
            lease_namespace=namespace,
            lease_duration=opts.lease_duration,
            renew_deadline=opts.renew_deadline,
            retry_period=opts.retry_period,
            release_on_cancel=opts.leader_election_release_on_cancel,
        )
        if opts.leader_election_identity:
            config = dataclasses.replace(config, identity=opts.leader_election_identity)

        def stopped_leading() -> None:
            # Leadership also ends when the manager stops the elector on purpose; only an
            # end it did not ask for is a loss.
            if not self._stopping:
                on_lost()

        # Its own connection pool: Lease renewals must never queue behind watches and lists.
        elector_rest = RestClient(self.api_reader.rest.configuration, user_agent="leader-election")
        self.elector = LeaderElector(
            Client(elector_rest),
            config,
            on_started_leading=on_lead,
            on_stopped_leading=stopped_leading,
            recorder=self._broadcaster.new_recorder(f"{opts.leader_election_id}-leader-election"),
            registry=self.registry,
        )
        try:
            await self.elector.run()
        finally:
            await elector_rest.close()

    async def _start_servers(self) -> None:
        opts = self.options
        self.metrics_server = MetricsServer(
            opts.metrics_bind_address,
            self.registry,
            secure=opts.secure_metrics,
            cert_dir=opts.metrics_cert_dir,
            client=self.api_reader,
        )
        await self.metrics_server.start()
        if opts.health_probe_bind_address and opts.health_probe_bind_address != "0":
            self.health_server = HealthProbeServer(opts.health_probe_bind_address)
            healthz = self._healthz or {"ping": ping}
            for name, check in healthz.items():
                self.health_server.add_healthz_check(name, check)
            for name, check in {"cache-sync": self._cache_synced_check, **self._readyz}.items():
                self.health_server.add_readyz_check(name, check)
            await self.health_server.start()

    async def _stop(
        self,
        tasks: dict[asyncio.Task[None], str],
        elector_task: asyncio.Task[None] | None,
        leadership_lost: bool,
    ) -> None:
        timeout = 0.0 if leadership_lost else self.options.graceful_shutdown_timeout
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()  # controllers: stop taking work, finish the reconcile in hand
        error: Exception | None = None
        if pending and timeout != 0:
            _, still = await asyncio.wait(pending, timeout=None if timeout < 0 else timeout)
            if still:
                error = GracefulShutdownTimeoutError(
                    f"failed waiting for all runnables to end within grace period of {timeout:g}s"
                )
                pending = list(still)
        for task in pending:
            task.cancel()  # second cancel: no more grace
        if pending:
            await asyncio.wait(pending)
        await self.cache.stop()
        for server in (self.health_server, self.metrics_server):
            if server is not None:
                await server.stop()
        self._stopping = True
        if elector_task is not None:
            elector_task.cancel()  # releases the Lease with release_on_cancel
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await elector_task
        await self._broadcaster.stop()
        if error is not None and not leadership_lost:
            raise error
