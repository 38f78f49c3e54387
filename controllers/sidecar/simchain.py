"""The simulated chain behind a simulated sidecar: block height progression and seid halts, as
``await-condition`` (seictl v0.0.68, sidecar/tasks/await_condition.go) observes them.

seictl polls seid's RPC for the latest height until the condition holds (``height``: the
target is reached; ``catchingUp``: not catching up at a height past genesis), then runs the
action: ``SIGTERM_SEID`` stops seid gracefully, any other action fails the task with
``unknown action "<a>"`` (checked only after the condition, as seictl does). Here seid is a
block counter: :meth:`ChainSimulation.produce_blocks` starts it, a halt stops it and the height
stays where it stopped.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["SIGTERM_SEID", "ChainSimulation"]

SIGTERM_SEID = "SIGTERM_SEID"


class ChainSimulation:
    """Mixed into :class:`controllers.sidecar.simnode.SimulatedNode`, which owns the state."""

    namespace: str
    name: str
    height: int | None
    halted_at: int | None
    _height_changed: asyncio.Event
    _producer: asyncio.Task[None] | None

    def set_height(self, height: int | None) -> None:
        """Sets the height and wakes every waiting ``await-condition``."""
        self.height = height
        self._height_changed.set()
        self._height_changed = asyncio.Event()

    def produce_blocks(self, interval: float, start: int = 1) -> None:
        """seid (re)starts and commits a block every ``interval`` seconds, from the current
        height or ``start``. Needs a running event loop."""
        self.stop_blocks()
        self.halted_at = None
        if self.height is None:
            self.set_height(start)
        self._producer = asyncio.get_running_loop().create_task(
            self._produce(interval), name=f"sim-blocks-{self.namespace}/{self.name}"
        )

    def stop_blocks(self) -> None:
        if self._producer is not None:
            self._producer.cancel()
            self._producer = None

    def halt(self) -> None:
        """``SIGTERM_SEID``: seid exits; no more blocks."""
        self.stop_blocks()
        self.halted_at = self.height

    async def _produce(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.set_height((self.height or 0) + 1)

    async def _await_condition(self, params: dict[str, Any]) -> str | None:
        """The task once its params passed validation; returns its error, if any."""
        target = int(params.get("targetHeight") or 0)
        height_condition = params.get("condition") == "height"
        while self.height is None or (
            self.height < target if height_condition else self.height <= 1
        ):
            await self._height_changed.wait()
        action = params.get("action") or ""
        if not action:
            return None
        if action != SIGTERM_SEID:
            return f'unknown action "{action}"'
        self.halt()
        return None
