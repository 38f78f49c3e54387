"""Opt-in soak: rollout after rollout of the same group, each under the next fault in turn (cut
connections, a silent stream, an API server crash, misbehaving sidecars), with the conflicting
writer running the whole time. ``SEI_FAULTS_SOAK=<rollouts>`` enables it (``make test`` skips
it); every rollout must land as in the single-fault tests."""

from __future__ import annotations

import os

import pytest

from controller_runtime.envtest import ControlPlane, TcpProxy
from tests.fixtures.operator import OperatorFactory, OperatorHarness

from .injectors import (
    REQUEST_TIMEOUT,
    WATCHDOG,
    ConcurrentWriter,
    crash_and_restart,
    cut_once,
    proxy_to,
    stall_once,
    unsettle,
)
from .rollout import NAMES, FaultRollout

# As long as the rollouts asked for; each wait inside is bounded.
pytestmark = [pytest.mark.faults, pytest.mark.soak, pytest.mark.timeout(0)]

SOAK_ENV = "SEI_FAULTS_SOAK"
SIDECAR_TIMEOUT = 2.0


def _rollouts() -> int:
    value = os.environ.get(SOAK_ENV, "")
    if not value:
        pytest.skip(f"soak run: set {SOAK_ENV}=<rollouts> to enable")
    return int(value)


async def test_soak_rollouts_each_under_the_next_fault(
    run_operator: OperatorFactory, fault_plane: ControlPlane
) -> None:
    rollouts = _rollouts()
    async with (
        proxy_to(fault_plane.server) as proxy,
        run_operator(
            sidecars="fleet-simulator",
            server=f"https://{proxy.address}",
            request_timeout=REQUEST_TIMEOUT,
            watchdog_timeout=WATCHDOG,
            sidecar_timeout=SIDECAR_TIMEOUT,
        ) as op,
    ):
        roll = FaultRollout.of(op)
        await roll.ready()
        writer = ConcurrentWriter(op.kube, op.namespace)
        async with writer.running():
            for n in range(rollouts):
                async with roll.held():
                    await roll.bump(f"ghcr.io/sei-protocol/sei:v7.{n}.0")
                    await roll.in_flight()
                    await _fault(n, op, fault_plane, proxy)
                    await roll.release()
                    await roll.landed()


async def _fault(n: int, op: OperatorHarness, plane: ControlPlane, proxy: TcpProxy) -> None:
    kind = n % 4
    if kind == 0:
        for _ in range(3):
            await cut_once(op, proxy)
    elif kind == 1:
        await stall_once(op, proxy)
    elif kind == 2:
        await crash_and_restart(op, plane)
    else:
        unsettle([op.sidecar(name) for name in NAMES])
