"""Faults injected into a running operator, each returning once the operator has met it (a
condition on what the manager observed, never a fixed wait)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import aiohttp

from controller_runtime.cache.reflector import ReflectorStats
from controller_runtime.client import Client
from controller_runtime.client.errors import ApiError, ConflictError
from controller_runtime.envtest import APISERVER, ControlPlane, TcpProxy, eventually
from controllers.sidecar.simnode import Fault, SimulatedNode
from tests.fixtures.operator import OperatorHarness

from .rollout import GROUP, NAMES

# Short enough that a silent connection costs seconds, not the production 30 s and 150 s.
REQUEST_TIMEOUT = 5.0
WATCHDOG = 3.0
TOUCH = "faults.sei.io/touch"
OWN_CONDITION = "FaultInjectorTouched"


def reflector_stats(op: OperatorHarness) -> ReflectorStats:
    """The sum of every informer's reflector counters in the manager's cache."""
    total = ReflectorStats()
    for informer in op.manager.cache.informers.values():
        stats = informer.reflector.stats
        for f in fields(ReflectorStats):
            setattr(total, f.name, getattr(total, f.name) + getattr(stats, f.name))
    return total


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", int(url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def cut_once(op: OperatorHarness, proxy: TcpProxy) -> None:
    """Cuts every connection, keeps new ones refused until the manager has failed to get back
    in, then lets it back and waits until its watches are open again."""
    before = reflector_stats(op)
    proxy.cut()
    await eventually(
        lambda: reflector_stats(op).backoffs + reflector_stats(op).errors,
        lambda n: n > before.backoffs + before.errors,
        timeout=60,
        message="the manager met the cut",
    )
    proxy.restore()
    await eventually(
        lambda: reflector_stats(op).watches + reflector_stats(op).lists,
        lambda n: n > before.watches + before.lists,
        timeout=90,
        message="watches open again",
    )


async def stall_once(op: OperatorHarness, proxy: TcpProxy) -> None:
    """Silences every live connection (no close: nothing tells the client), until the stall
    watchdog of every informer has given up on its silent stream."""
    before = reflector_stats(op).watchdog_restarts
    informers = len(op.manager.cache.informers)
    proxy.blackhole()
    await eventually(
        lambda: reflector_stats(op).watchdog_restarts,
        lambda n: n >= before + informers,
        timeout=90,
        message="every silent watch restarted by its watchdog",
    )
    proxy.restore()


async def crash_and_restart(op: OperatorHarness, plane: ControlPlane) -> None:
    """Kills the API server and starts it again once the manager has failed to reach it."""
    before = reflector_stats(op)
    await plane.kill_component(APISERVER)
    await eventually(
        lambda: reflector_stats(op).backoffs + reflector_stats(op).errors,
        lambda n: n > before.backoffs + before.errors,
        timeout=60,
        message="the manager met the dead API server",
    )
    await plane.start_component(APISERVER)


def unsettle(sidecars: Sequence[SimulatedNode]) -> None:
    """Every sidecar answers its next two requests with 500s; besides, by position: a third
    hang once (the operator's call times out), a third fail their next mark-ready run, a third
    drop a connection without an answer; every other one loses its whole task store."""
    for i, sidecar in enumerate(sidecars):
        sidecar.inject(Fault.SERVER_ERROR, times=2)
        if i % 3 == 0:
            sidecar.inject(Fault.HANG, times=1, endpoints={"status", "submit"})
        if i % 3 == 1:
            sidecar.fail("mark-ready", times=1)
        if i % 3 == 2:
            sidecar.inject(Fault.DISCONNECT, times=1, endpoints={"status", "submit"})
        if i % 2 == 1:
            sidecar.lose_tasks()


@dataclass
class ConcurrentWriter:
    """Read-modify-write of every object in turn, round after round, as a human with kubectl
    edit or another controller would: PUT with the resourceVersion just read, so whoever wrote
    in between makes one of the two writers get 409."""

    kube: Client
    namespace: str
    rounds: int = 0
    writes: int = 0
    conflicts: int = 0
    failures: int = 0
    """Writes that failed otherwise (the API server unreachable, in the soak's crashes)."""

    async def _touch(self, kind: str, name: str) -> None:
        obj = await self.kube.get("sei.io/v1alpha1", kind, name, self.namespace)
        meta = obj["metadata"]
        meta.setdefault("labels", {})[TOUCH] = str(self.rounds)
        meta.setdefault("annotations", {})[TOUCH] = str(self.rounds)
        try:
            obj = await self.kube.update(obj)
            self.writes += 1
        except ConflictError:
            self.conflicts += 1
            return
        status = obj.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or () if c["type"] != OWN_CONDITION]
        conditions.append(
            {
                "type": OWN_CONDITION,
                "status": "True",
                "reason": "Touched",
                "message": f"round {self.rounds}",
                "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        status["conditions"] = conditions
        try:
            await self.kube.status().update(obj)
            self.writes += 1
        except ConflictError:
            self.conflicts += 1

    async def _touch_or_count(self, kind: str, name: str) -> None:
        try:
            await self._touch(kind, name)
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError):
            self.failures += 1

    async def run(self) -> None:
        targets = [("SeiNodeDeployment", GROUP)] + [("SeiNode", name) for name in NAMES]
        while True:
            self.rounds += 1
            before = self.failures
            await asyncio.gather(*(self._touch_or_count(kind, name) for kind, name in targets))
            # Pacing, not a wait: a few rounds a second keep every object contended without
            # saturating the shared cores; slower while the API server is away.
            await asyncio.sleep(0.5 if self.failures > before else 0.1)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ConcurrentWriter]:
        task = asyncio.create_task(self.run(), name="concurrent-writer")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
