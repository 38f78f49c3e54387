"""kube-apiserver killed (SIGKILL: no graceful close of any connection) and started again, twice
while the rollout runs: once while it waits on the held pods, once as they are let go."""

from __future__ import annotations

from controller_runtime.envtest import APISERVER, ControlPlane, eventually
from tests.fixtures.operator import OperatorFactory, OperatorHarness

from .rollout import FaultRollout
from .test_api_connection_faults import reflector_stats


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


async def test_rollout_lands_through_apiserver_crashes(
    run_operator: OperatorFactory, fault_plane: ControlPlane
) -> None:
    async with run_operator(sidecars="fleet-simulator") as op:
        roll = FaultRollout.of(op)
        await roll.ready()
        async with roll.held():
            await roll.bump()
            await roll.in_flight()
            await crash_and_restart(op, fault_plane)
            await roll.release()
            await crash_and_restart(op, fault_plane)
            await roll.landed()
