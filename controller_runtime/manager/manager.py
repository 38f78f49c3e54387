"""The manager: one cache and client shared by every controller, servers, leader election,
and an orderly start and stop of four runnable groups (controller-runtime's manager).

Start, in order: servers (metrics, health probes) serving -> event broadcaster -> caches
started and synced -> other runnables (need_leader_election=False) -> leader election ->
leader-gated runnables (controllers), once elected.
Stop, in reverse, under one deadline (graceful_shutdown_timeout) shared by every step:
other runnables -> leader-gated runnables -> caches -> servers -> leader election (the Lease
is released here, with release_on_cancel) -> event broadcaster -> HTTP clients. The timeout
error names what was still running.

Invariants:
- Leader-gated runnables run inside the elector's on_started_leading, which stops them and
  waits until they have ended before it returns; the elector releases the Lease only after
  that. So however leadership ends (lost, stopped, failed), no leader-gated runnable of this
  replica still runs when the Lease is released, and when it is given up (renewal failed)
  they are cancelled at once, before anything else, including the attempt to release.
- Metrics and health servers run on every replica; controllers only on the leader.
- Losing leadership ends start() with LeaderElectionLostError without a graceful stop: the
  process must exit, since another replica may already lead.
- The manager closes the HTTP clients it created (Manager.create), never one it was given.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.cache import ByObject, Cache
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.controller.options import ControllerConfig
from controller_runtime.events import EventBroadcaster, EventRecorder
from controller_runtime.healthz import HealthProbeServer, ping
from controller_runtime.leaderelection import LeaderElector
from controller_runtime.manager.cached_client import CachedClient
from controller_runtime.manager.election import new_elector
from controller_runtime.manager.runnable_group import (
    Deadline,
    Runnable,
    RunnableGroup,
    ServerRunnable,
)
from controller_runtime.metrics import REGISTRY
from controller_runtime.metrics.server import MetricsServer

__all__ = [
    "GracefulShutdownTimeoutError",
    "LeaderElectionLostError",
    "Manager",
    "ManagerOptions",
    "Runnable",
]

log = structlog.get_logger("manager")

Check = Callable[[Any], Awaitable[None] | None]


class LeaderElectionLostError(RuntimeError):
    pass


class GracefulShutdownTimeoutError(RuntimeError):
    def __init__(self, timeout: float, still_running: list[str]) -> None:
        super().__init__(
            f"failed waiting for all runnables to end within grace period of {timeout:g}s; "
            f"still running: {', '.join(still_running)}"
        )
        self.still_running = still_running


@dataclass
class ManagerOptions:
    namespace: str | None = None
    """Cache only this namespace (default: all)."""
    by_object: dict[tuple[str, str], ByObject] = field(default_factory=dict)
    sync_period: float | None = 10 * 3600.0
    uncached: set[tuple[str, str]] = field(default_factory=set)
    """(apiVersion, kind) always read from the API server."""
    skip_unchanged_applies: bool = True
    """The client answers a server-side apply from the cache when it would change nothing: the
    same configuration and options as our last apply of the object, which the cache still holds
    at the resourceVersion that apply returned (see manager/applied.py)."""
    field_owner: str | None = None
    user_agent: str | None = None
    """User-Agent of the HTTP client Manager.create makes (default: the runtime's)."""
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
    """Seconds the whole stop may take; 0: do not wait for runnables; negative: no limit."""
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    """Defaults for every controller (workers, per-kind workers, cache sync timeout, ...).
    Its cache_sync_timeout also bounds the manager's own wait for its caches."""
    registry: CollectorRegistry = field(default_factory=lambda: REGISTRY)


class _End(enum.Enum):
    LOST = "leadership lost"
    ELECTOR_ENDED = "leader election ended"


class Manager:
    """Shared cache, client, api_reader (uncached reads) and event recorders for controllers;
    runs them with servers and leader election. start() runs until cancelled."""

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
        self.client = CachedClient(
            self.cache,
            self.api_reader,
            self.options.uncached,
            skip_unchanged_applies=self.options.skip_unchanged_applies,
        )
        self.elected = asyncio.Event()
        self._servers = RunnableGroup("server", self._failed)
        self._caches = RunnableGroup("cache", self._failed)
        self._others = RunnableGroup("other", self._failed)
        self._leader = RunnableGroup("leader-election", self._failed)
        self._healthz: dict[str, Check] = {}
        self._readyz: dict[str, Check] = {}
        self._broadcaster = EventBroadcaster(self.api_reader)
        self._caches_synced = False
        self._started = False
        self._stopping: Deadline | None = None
        self._end: asyncio.Future[_End] | None = None
        self._owned_clients: list[RestClient] = []
        self.metrics_server: MetricsServer | None = None
        self.health_server: HealthProbeServer | None = None
        self.elector: LeaderElector | None = None

    @classmethod
    async def create(
        cls, kubeconfig: str | Path | None = None, options: ManagerOptions | None = None
    ) -> Manager:
        """A manager with its own HTTP client (closed when start() ends)."""
        user_agent = options.user_agent if options is not None else None
        manager = cls(RestClient(await load_config(kubeconfig), user_agent=user_agent), options)
        manager._owned_clients.append(manager.api_reader.rest)
        return manager

    # --- registration ----------------------------------------------------------------------

    def add(self, runnable: Runnable) -> None:
        """Adds a runnable; it is leader-gated unless it says need_leader_election = False."""
        if self._started:
            raise RuntimeError("cannot add runnables to a started manager")
        if getattr(runnable, "need_leader_election", True):
            self._leader.add(runnable)
        else:
            self._others.add(runnable)

    def add_healthz_check(self, name: str, check: Check) -> None:
        self._register_check(self._healthz, name, check)

    def add_readyz_check(self, name: str, check: Check) -> None:
        self._register_check(self._readyz, name, check)

    def _register_check(self, checks: dict[str, Check], name: str, check: Check) -> None:
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
        self._end = asyncio.get_running_loop().create_future()
        elector_task: asyncio.Task[None] | None = None
        lead_task: asyncio.Task[None] | None = None
        try:
            if self.options.leader_election:
                # Built first, so that a bad configuration fails start() before anything runs.
                self.elector, elector_rest = new_elector(
                    self.options,
                    self.api_reader.rest,
                    self._broadcaster.new_recorder(
                        f"{self.options.leader_election_id}-leader-election"
                    ),
                    self.registry,
                    on_started_leading=self._lead,
                    on_stopped_leading=self._stopped_leading,
                )
                self._owned_clients.append(elector_rest)
            self._add_servers()
            self._add_cache()
            await self._servers.start()
            await self._broadcaster.start()
            await self._caches.start()
            self._caches_synced = True
            await self._others.start()
            if self.elector is not None:
                elector_task = asyncio.create_task(self.elector.run(), name="leader-election")
                elector_task.add_done_callback(self._elector_ended)
            else:
                lead_task = asyncio.create_task(self._lead(), name="leader-gated")
            await asyncio.wait([self._end])  # not `await`: cancelling start() must not cancel it
        except BaseException as exc:
            # Cancelled (a graceful stop), or start-up failed: then its error is the one to
            # report, whatever stopping meets.
            await self._stop(
                elector_task, lead_task, report=isinstance(exc, asyncio.CancelledError)
            )
            raise
        await self._stop(elector_task, lead_task)

    async def _lead(self) -> None:
        """The leader-gated runnables, for as long as this replica leads (the elector's
        on_started_leading). Whatever ends it, they are stopped and awaited before it returns:
        the elector releases the Lease only after that (join-before-release)."""
        try:
            await self._leader.start()
            if self._stopping is None:
                self.elected.set()
            await self._leader.join()
        finally:
            # Stopping the manager has stopped them under its deadline already; any other
            # end (leadership lost) stops them without grace, now.
            await self._leader.stop(self._stopping or Deadline(0))
            await self._leader.join()

    def _stopped_leading(self) -> None:
        # Leadership also ends when the manager stops the elector on purpose; only an end it
        # did not ask for is a loss.
        if self._stopping is None:
            self._finish(_End.LOST)

    def _elector_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._failed(error)
        else:
            self._finish(_End.ELECTOR_ENDED)

    def _failed(self, error: BaseException) -> None:
        log.error("runnable failed, stopping the manager", error=repr(error))
        if self._end is not None and not self._end.done():
            self._end.set_exception(error)

    def _finish(self, end: _End) -> None:
        if self._end is not None and not self._end.done():
            self._end.set_result(end)

    def _add_servers(self) -> None:
        opts = self.options
        self.metrics_server = MetricsServer(
            opts.metrics_bind_address,
            self.registry,
            secure=opts.secure_metrics,
            cert_dir=opts.metrics_cert_dir,
            client=self.api_reader,
        )
        metrics = ServerRunnable(self.metrics_server, "metrics server")
        self._servers.add(metrics, metrics.ready)
        if opts.health_probe_bind_address and opts.health_probe_bind_address != "0":
            self.health_server = HealthProbeServer(opts.health_probe_bind_address)
            healthz = self._healthz or {"ping": ping}
            for name, check in healthz.items():
                self.health_server.add_healthz_check(name, check)
            for name, check in {"cache-sync": self._cache_synced_check, **self._readyz}.items():
                self.health_server.add_readyz_check(name, check)
            health = ServerRunnable(self.health_server, "health probe server")
            self._servers.add(health, health.ready)

    def _add_cache(self) -> None:
        cache, timeout = self.cache, self.options.controller.cache_sync_timeout

        async def synced() -> None:
            if not await cache.wait_for_cache_sync(timeout):
                raise TimeoutError(
                    f"timed out waiting for the caches to sync after {timeout:g}s "
                    "(ManagerOptions.controller.cache_sync_timeout)"
                )

        self._caches.add(_CacheRunnable(cache), synced)

    # --- stop ------------------------------------------------------------------------------

    async def _stop(
        self,
        elector_task: asyncio.Task[None] | None,
        lead_task: asyncio.Task[None] | None,
        report: bool = True,
    ) -> None:
        """Stops everything in reverse start order under one deadline, then (with report)
        raises why start() ended: the first failure, lost leadership, or the deadline passing."""
        error, end = _outcome(self._end)
        lost = end is _End.LOST
        timeout = self.options.graceful_shutdown_timeout
        # Leadership lost: no graceful stop, another replica may be leading already.
        deadline = self._stopping = Deadline(0 if lost else (None if timeout < 0 else timeout))
        # Runnables asked to stop before the deadline and still running at it. Those reached
        # only after it are stopped without grace and not waited for (nor named).
        still: list[str] = []

        async def stop(group: RunnableGroup) -> None:
            late = deadline.expired()
            names = await group.stop(deadline)
            if not late:
                still.extend(names)

        try:
            await stop(self._others)
            await stop(self._leader)
            if lead_task is not None:
                lead_task.cancel()
                await deadline.wait([lead_task])
            await stop(self._caches)
            await stop(self._servers)
            if elector_task is not None:
                late = deadline.expired()
                if not await self._stop_elector(elector_task, deadline, lost) and not late:
                    still.append("leader election")
            broadcaster = asyncio.create_task(self._broadcaster.stop())
            await deadline.wait([broadcaster])
            broadcaster.cancel()  # past the deadline: queued events are dropped
            await asyncio.gather(broadcaster, return_exceptions=True)
        finally:
            deadline.cancel()
            for rest in self._owned_clients:
                await rest.close()
        if still and timeout > 0:
            log.error("graceful shutdown timed out", timeout=timeout, still_running=still)
        if not report:
            return
        if error is not None:
            raise error
        if lost:
            raise LeaderElectionLostError("leader election lost")
        if end is _End.ELECTOR_ENDED:
            raise RuntimeError("leader election ended unexpectedly")
        if still and timeout > 0:
            raise GracefulShutdownTimeoutError(timeout, still)

    @staticmethod
    async def _stop_elector(task: asyncio.Task[None], deadline: Deadline, lost: bool) -> bool:
        """Cancels the elector, which then stops the leader-gated work (stopped already) and
        releases the Lease (release_on_cancel); False if that did not finish by the deadline.
        After a loss it has done both already and is ending."""
        in_time = True
        if not lost and not task.done():
            task.cancel()
            await deadline.wait([task])
            if not task.done():
                in_time = False
                task.cancel()  # no more grace: the Lease is not released
        # What remains (an event, the callback) does not wait on anything.
        await asyncio.wait([task])
        return in_time


def _outcome(end: asyncio.Future[_End] | None) -> tuple[BaseException | None, _End | None]:
    """Why start() ended: (a runnable's error, None), (None, how), or (None, None) when it
    was cancelled or failed while starting."""
    if end is None or not end.done() or end.cancelled():
        return None, None
    error = end.exception()
    return (error, None) if error is not None else (None, end.result())


class _CacheRunnable:
    """The manager's cache as a runnable: informers run until cancelled."""

    name = "informer cache"
    need_leader_election = False

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def start(self) -> None:
        await self.cache.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.cache.stop()
