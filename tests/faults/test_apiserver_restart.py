"""kube-apiserver killed (SIGKILL: no graceful close of any connection) and started again, twice
while the rollout runs: right after the bump (the operator recording the rollout and patching
the children), and as the held pods are let go (the nodes to release)."""

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
            await crash_and_restart(op, fault_plane)
            await roll.in_flight()
            await roll.release()
            await crash_and_restart(op, fault_plane)
            await roll.landed()
