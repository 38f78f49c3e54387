"""The manager's connections to the API server break while the rollout runs: cut again and
again, held silent (a stall, not a close), and cut long enough for etcd to compact the
resourceVersions its watches would resume from (410 Gone). The manager reaches the API server
only through a TcpProxy; the test, kube-controller-manager, kwok and the local fleet go direct."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from controller_runtime.envtest import ControlPlane, eventually
from tests.fixtures.operator import OperatorFactory

from .injectors import REQUEST_TIMEOUT, WATCHDOG, cut_once, proxy_to, reflector_stats, stall_once
from .rollout import FaultRollout

# Each test takes under a minute here; the bound keeps a hang from eating the CI budget.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]

CUTS_WHILE_HELD = 3
CUTS_WHILE_RELEASING = 2


async def test_rollout_lands_through_repeatedly_cut_and_silent_connections(
    run_operator: OperatorFactory, fault_plane: ControlPlane
) -> None:
    async with (
        proxy_to(fault_plane.server) as proxy,
        run_operator(
            sidecars="fleet-simulator",
            server=f"https://{proxy.address}",
            request_timeout=REQUEST_TIMEOUT,
            watchdog_timeout=WATCHDOG,
        ) as op,
    ):
        roll = FaultRollout.of(op)
        await roll.ready()
        async with roll.held():
            await roll.bump()
            await roll.in_flight()
            for _ in range(CUTS_WHILE_HELD):
                await cut_once(op, proxy)
            await stall_once(op, proxy)
            await roll.release()
            for _ in range(CUTS_WHILE_RELEASING):
                await cut_once(op, proxy)
            await roll.landed()
        stats = reflector_stats(op)
        assert stats.watchdog_restarts >= len(op.manager.cache.informers)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def uncached_apiserver(fault_plane: ControlPlane) -> AsyncIterator[str]:
    """A second API server on the fault plane's etcd without a watch cache: a watch resuming
    from a resourceVersion older than an etcd compaction is really answered 410 Gone (a watch
    cache would serve it from memory)."""
    name = "kube-apiserver-uncached"
    url = await fault_plane.start_extra_apiserver(name, ["--watch-cache=false"])
    yield url
    await fault_plane.stop_component(name)


async def test_rollout_lands_when_compaction_makes_every_watch_resume_gone(
    run_operator: OperatorFactory, fault_plane: ControlPlane, uncached_apiserver: str
) -> None:
    async with (
        proxy_to(uncached_apiserver) as proxy,
        run_operator(
            sidecars="fleet-simulator",
            server=f"https://{proxy.address}",
            request_timeout=REQUEST_TIMEOUT,
        ) as op,
    ):
        roll = FaultRollout.of(op)
        await roll.ready()
        async with roll.held():
            await roll.bump()
            await roll.in_flight()
            before = reflector_stats(op)
            proxy.cut()
            # The cluster moves on without the manager: the held pods go, their replacements
            # come up (new sidecars, Initializing), and etcd forgets the history in between.
            await roll.release()
            await eventually(
                roll.pods,
                lambda ps: (
                    all(p["metadata"]["uid"] != roll.old_pods.get(n) for n, p in ps.items())
                    and len(ps) == len(roll.old_pods)
                ),
                timeout=120,
                message="every pod replaced while the manager is cut off",
            )
            await fault_plane.compact_etcd()
            proxy.restore()
            await roll.landed()
        after = reflector_stats(op)
        assert after.relists_after_gone > before.relists_after_gone
