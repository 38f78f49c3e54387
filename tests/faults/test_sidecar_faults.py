"""Sidecars that answer errors, time out and lose their tasks while the rollout releases them."""

from __future__ import annotations

from controllers.sidecar.simnode import Fault
from tests.fixtures.operator import OperatorFactory

from .rollout import NAMES, FaultRollout

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
            for i, sidecar in enumerate(sidecars):
                # Every sidecar: its next answers are 500s, whatever is asked.
                sidecar.inject(Fault.SERVER_ERROR, times=3)
                if i % 3 == 0:  # no answer at all: the operator's call times out
                    sidecar.inject(Fault.HANG, times=2, endpoints={"status", "submit"})
                if i % 3 == 1:  # the release itself fails on the sidecar, twice
                    sidecar.fail("mark-ready", times=2)
                if i % 3 == 2:  # the connection dropped without an answer
                    sidecar.inject(Fault.DISCONNECT, times=2, endpoints={"status", "submit"})
                if i % 2 == 1:  # rolled already: its store (the results of its plan) is wiped
                    sidecar.lose_tasks()
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
