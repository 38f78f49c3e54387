"""Another writer keeps updating the same objects as the operator (the group and its SeiNodes:
labels, annotations, a status condition of its own) while the rollout runs, so the operator's
view is always one resourceVersion behind somewhere."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from tests.fixtures.operator import OperatorFactory

from .injectors import TOUCH, ConcurrentWriter
from .rollout import FaultRollout

# Each test takes under a minute here; the bound keeps a hang from eating the CI budget.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]


def _touched(obj: dict[str, Any]) -> bool:
    meta = obj["metadata"]
    return TOUCH in (meta.get("labels") or {}) and TOUCH in (meta.get("annotations") or {})


async def test_rollout_lands_while_another_writer_rewrites_the_same_objects(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="fleet-simulator") as op:
        roll = FaultRollout.of(op)
        await roll.ready()
        writer = ConcurrentWriter(kube, namespace)
        async with writer.running(), roll.held():
            await roll.bump()
            await roll.in_flight()
            # The writer has been through every object a few times while the rollout runs.
            await eventually(lambda: writer.rounds, lambda n: n >= 3, timeout=60)
            await roll.release()
            await roll.landed()
            rounds_at_landing = writer.rounds
        assert rounds_at_landing >= 3
        assert writer.writes > 0
        assert writer.failures == 0
        # The other writer's metadata survived the operator's writes: it owns only its keys.
        assert _touched(await roll.group())
        children = await roll.children()
        assert all(_touched(child) for child in children.values())
        # The two writers really collided. The operator's own writes are merge patches and
        # server-side applies without a resourceVersion precondition (decision F6), so the
        # 409s land on the other writer's read-modify-write.
        operator_conflicts = op.metric_sum("rest_client_requests_total", code="409")
        assert writer.conflicts + operator_conflicts >= 1
