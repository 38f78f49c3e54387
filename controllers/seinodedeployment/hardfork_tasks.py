"""The HardFork rollout's height tasks (spec 6.2 per-node sub-task ids, 6.7.4, 8.7).

``submit-halt-signal`` asks every incumbent's sidecar to stop seid at the halt height
(``await-condition`` height + ``SIGTERM_SEID``); ``await-nodes-at-height`` asks every entrant's
sidecar to report the height and waits for all of them. Each per-node sidecar task has the
deterministic id ``UUIDv5(d4a7…, "<node>/<kind>/<parent task id>")``, so re-submission after a
restart or a lost status write is deduplicated by the sidecar.

Where we differ: our engine runs Execute once per attempt and then only polls Status (see
controllers/plan/engine.py), so ``await-nodes-at-height`` re-submits a node's sub-task when
its sidecar answers 404 (a wiped task store) instead of waiting forever for a lost task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from controller_runtime.client.errors import ApiError
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskRegistry,
    TaskState,
    TransientTaskError,
)
from controllers.plan.ids import deployment_subtask_id
from controllers.plan.params import TaskParams, parse_params
from controllers.seinodedeployment.node_tasks import SEINODE, node_sidecar
from controllers.sidecar.api import (
    SidecarError,
    SidecarTaskNotFoundError,
    TaskResultStatus,
)

log = structlog.get_logger(__name__)

SUBMIT_HALT_SIGNAL = "submit-halt-signal"
AWAIT_NODES_AT_HEIGHT = "await-nodes-at-height"
AWAIT_CONDITION = "await-condition"
HALT_SIGNAL_KIND = "halt-signal"
AWAIT_HEIGHT_KIND = "await-height"
SIGTERM_SEID = "SIGTERM_SEID"


class SubmitHaltSignalParams(TaskParams):
    namespace: str = ""
    node_names: list[str] | None = None
    halt_height: int = 0


class AwaitNodesAtHeightParams(TaskParams):
    namespace: str = ""
    node_names: list[str] | None = None
    target_height: int = 0


def halt_request(height: int) -> dict[str, Any]:
    return {"condition": "height", "targetHeight": height, "action": SIGTERM_SEID}


def height_request(height: int) -> dict[str, Any]:
    return {"condition": "height", "targetHeight": height}


class SubmitHaltSignal:
    """Best effort (as the reference): a node whose sidecar cannot be reached is logged and
    skipped; the entrants' height is what the plan waits for."""

    def __init__(self, ctx: TaskContext, task_id: str, params: SubmitHaltSignalParams) -> None:
        self.ctx, self.task_id, self.params = ctx, task_id, params
        self._done = False

    async def execute(self) -> None:
        for name in self.params.node_names or ():
            sub_id = deployment_subtask_id(name, HALT_SIGNAL_KIND, self.task_id)
            try:
                node = await self.ctx.client.get(*SEINODE, name, self.params.namespace)
                sidecar = node_sidecar(self.ctx, node)
                await sidecar.submit_task(
                    AWAIT_CONDITION, halt_request(self.params.halt_height), sub_id
                )
            except (ApiError, SidecarError) as err:
                log.warning("halt signal not delivered", node=name, error=str(err))
        self._done = True

    async def status(self) -> TaskState:
        return TaskState.COMPLETE if self._done else TaskState.RUNNING

    def error(self) -> str | None:
        return None


class AwaitNodesAtHeight:
    def __init__(self, ctx: TaskContext, task_id: str, params: AwaitNodesAtHeightParams) -> None:
        self.ctx, self.task_id, self.params = ctx, task_id, params
        self._error: str | None = None

    def _sub_id(self, name: str) -> str:
        return deployment_subtask_id(name, AWAIT_HEIGHT_KIND, self.task_id)

    async def _submit(self, name: str) -> None:
        node = await self.ctx.client.get(*SEINODE, name, self.params.namespace)
        await node_sidecar(self.ctx, node).submit_task(
            AWAIT_CONDITION, height_request(self.params.target_height), self._sub_id(name)
        )

    async def execute(self) -> None:
        for name in self.params.node_names or ():
            try:
                await self._submit(name)
            except (ApiError, SidecarError) as err:
                raise TransientTaskError(f"await-height on {name}: {err}") from err

    async def status(self) -> TaskState:
        state = TaskState.COMPLETE
        for name in self.params.node_names or ():
            try:
                node = await self.ctx.client.get(*SEINODE, name, self.params.namespace)
                result = await node_sidecar(self.ctx, node).get_task(self._sub_id(name))
            except SidecarTaskNotFoundError:
                await self._resubmit(name)
                state = TaskState.RUNNING
                continue
            except (ApiError, SidecarError):
                state = TaskState.RUNNING
                continue
            if result.status == TaskResultStatus.FAILED:
                self._error = f"await-height failed on {name}: {result.error or 'unknown error'}"
                return TaskState.FAILED
            if result.status != TaskResultStatus.COMPLETED:
                state = TaskState.RUNNING
        return state

    async def _resubmit(self, name: str) -> None:
        try:
            await self._submit(name)
        except (ApiError, SidecarError) as err:
            log.info("await-height not resubmitted", node=name, error=str(err))

    def error(self) -> str | None:
        return self._error


def register_hardfork_tasks(registry: TaskRegistry) -> None:
    def halt(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        parsed = parse_params(SubmitHaltSignalParams, SUBMIT_HALT_SIGNAL, params)
        return SubmitHaltSignal(ctx, task_id, parsed)

    def at_height(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        parsed = parse_params(AwaitNodesAtHeightParams, AWAIT_NODES_AT_HEIGHT, params)
        return AwaitNodesAtHeight(ctx, task_id, parsed)

    registry.register(SUBMIT_HALT_SIGNAL, halt)
    registry.register(AWAIT_NODES_AT_HEIGHT, at_height)
