"""Another writer keeps updating the same objects as the operator (the group and its SeiNodes:
labels, annotations, a status condition of its own) while the rollout runs, so the operator's
view is always one resourceVersion behind somewhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controller_runtime.client import Client
from controller_runtime.client.errors import ConflictError
from controller_runtime.envtest import eventually
from tests.fixtures.operator import OperatorFactory

from .rollout import GROUP, NAMES, FaultRollout

TOUCH = "faults.sei.io/touch"
OWN_CONDITION = "FaultInjectorTouched"


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

    async def run(self) -> None:
        targets = [("SeiNodeDeployment", GROUP)] + [("SeiNode", name) for name in NAMES]
        while True:
            self.rounds += 1
            await asyncio.gather(*(self._touch(kind, name) for kind, name in targets))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ConcurrentWriter]:
        task = asyncio.create_task(self.run(), name="concurrent-writer")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


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
        # The other writer's metadata survived the operator's writes: it owns only its keys.
        assert _touched(await roll.group())
        children = await roll.children()
        assert all(_touched(child) for child in children.values())
        conflicts = op.metric_sum("rest_client_requests_total", code="409")
        print(
            f"\nwriter: {writer.rounds} rounds, {writer.writes} writes, "
            f"{writer.conflicts} conflicts; operator 409s: {conflicts:g}"
        )
