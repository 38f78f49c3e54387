"""Sidecars that answer errors, time out and lose their tasks while the rollout releases them."""

from __future__ import annotations

import pytest

from controllers.sidecar.simnode import Fault
from tests.fixtures.operator import OperatorFactory

from .injectors import unsettle
from .rollout import NAMES, FaultRollout

# Each test takes under a minute here; the bound keeps a hang from eating the CI budget.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]

SIDECAR_TIMEOUT = 2.0


async def test_rollout_lands_through_failing_hanging_and_forgetful_sidecars(
    run_operator: OperatorFactory,
) -> None:
    async with run_operator(sidecars="fleet-simulator", sidecar_timeout=SIDECAR_TIMEOUT) as op:
        roll = FaultRollout.of(op)
        await roll.ready()
        async with roll.held():
            await roll.bump()
            await roll.in_flight()
            sidecars = [op.sidecar(name) for name in NAMES]
            unsettle(sidecars)
            await roll.release()
            await roll.landed()
        # The faults were met, not dodged.
        for i, sidecar in enumerate(sidecars):
            served = {fault for _, fault in sidecar.faults_served}
            assert Fault.SERVER_ERROR in served, NAMES[i]
            if i % 3 == 0:
                assert Fault.HANG in served, NAMES[i]
            if i % 3 == 2:
                assert Fault.DISCONNECT in served, NAMES[i]
            if i % 3 == 1:
                marks = [e for e in sidecar.executions if e.type == "mark-ready"]
                assert len(marks) >= 3, NAMES[i]
