"""kube-apiserver killed (SIGKILL: no graceful close of any connection) and started again, twice
while the rollout runs: once while it waits on the held pods, once as they are let go."""

from __future__ import annotations

import pytest

from controller_runtime.envtest import ControlPlane
from tests.fixtures.operator import OperatorFactory

from .injectors import crash_and_restart
from .rollout import FaultRollout

# Each test takes under a minute here; the bound keeps a hang from eating the CI budget.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]


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
