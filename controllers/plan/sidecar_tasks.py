"""Sidecar tasks (spec 6.7.1): Execute POSTs the task with the PlannedTask id, Status GETs it.

The id is the plan's deterministic task id, so a repeated POST (a lost status write, a
controller restart) is deduplicated by the sidecar, and the POST of a retry re-runs the failed
id. A 404 on GET means the sidecar lost the task (fresh or wiped store): Status submits it again
under the same id and the task stays Running.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import structlog

from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskFactory,
    TaskRegistry,
    TaskState,
    TransientTaskError,
)
from controllers.plan.params import (
    AssembleAndUploadGenesisParams,
    AssembleGenesisForkParams,
    AwaitConditionParams,
    ConfigApplyParams,
    ConfigureStateSyncParams,
    DiscoverPeersParams,
    EmptyParams,
    GenerateGentxParams,
    GenerateIdentityParams,
    SidecarParams,
    SnapshotRestoreParams,
    UploadGenesisArtifactsParams,
    parse_params,
)
from controllers.sidecar.api import (
    SidecarClient,
    SidecarError,
    SidecarTaskNotFoundError,
    SidecarUnreachableError,
    TaskResultStatus,
)

__all__ = [
    "FIRE_AND_FORGET",
    "SIDECAR_TASK_PARAMS",
    "SidecarTask",
    "register_sidecar_tasks",
    "sidecar_task_factory",
]

log = structlog.get_logger(__name__)

# Task type -> its params model, for every sidecar task type a plan may hold.
SIDECAR_TASK_PARAMS: Final[Mapping[str, type[SidecarParams]]] = {
    "snapshot-restore": SnapshotRestoreParams,
    "configure-genesis": EmptyParams,
    "config-apply": ConfigApplyParams,
    "discover-peers": DiscoverPeersParams,
    "configure-state-sync": ConfigureStateSyncParams,
    "config-validate": EmptyParams,
    "mark-ready": EmptyParams,
    "generate-identity": GenerateIdentityParams,
    "generate-gentx": GenerateGentxParams,
    "upload-genesis-artifacts": UploadGenesisArtifactsParams,
    "set-genesis-peers": EmptyParams,
    "assemble-and-upload-genesis": AssembleAndUploadGenesisParams,
    "assemble-genesis-fork": AssembleGenesisForkParams,
    "await-condition": AwaitConditionParams,
}

# Complete as soon as the POST succeeded; their sidecar result is never read.
FIRE_AND_FORGET: Final = frozenset({"config-validate", "mark-ready"})


class SidecarTask:
    """One sidecar task for one step (see :class:`controllers.plan.engine.Task`)."""

    def __init__(
        self,
        ctx: TaskContext,
        task_id: str,
        task_type: str,
        params: SidecarParams,
        fire_and_forget: bool = False,
    ) -> None:
        self.ctx = ctx
        self.task_id = task_id
        self.task_type = task_type
        self.params = params
        self.fire_and_forget = fire_and_forget
        self._client: SidecarClient | None = None
        self._state: TaskState | None = None
        self._error: str | None = None

    def _sidecar(self) -> SidecarClient:
        if self._client is None:
            self._client = self.ctx.sidecar()
        return self._client

    async def execute(self) -> None:
        try:
            client = self._sidecar()
        except SidecarError as exc:
            raise TransientTaskError(f"building sidecar client: {exc}") from exc
        try:
            await client.submit_task(self.task_type, self.params.request(), self.task_id)
        except SidecarError as exc:
            # Rejections (400) included: a sidecar of another version may accept it later.
            raise _transient(exc) from exc
        if self.fire_and_forget:
            self._state = TaskState.COMPLETE

    async def status(self) -> TaskState:
        if self._state is not None:
            return self._state
        logger = log.bind(task=self.task_id, task_type=self.task_type)
        try:
            result = await self._sidecar().get_task(self.task_id)
        except SidecarTaskNotFoundError:
            # Execute does not run again for this attempt: resubmit here.
            logger.info("sidecar has no record of the task; submitting it again")
            await self._resubmit()
            return TaskState.RUNNING
        except SidecarError as exc:
            raise _transient(exc) from exc
        if result.status == TaskResultStatus.COMPLETED:
            self._state = TaskState.COMPLETE
        elif result.status == TaskResultStatus.FAILED:
            self._state = TaskState.FAILED
            self._error = result.error or f"task {self.task_id} failed with unknown error"
        else:
            return TaskState.RUNNING
        return self._state

    async def _resubmit(self) -> None:
        try:
            await self._sidecar().submit_task(self.task_type, self.params.request(), self.task_id)
        except SidecarError as exc:
            log.info("resubmitting a lost task failed", task=self.task_id, error=str(exc))

    def error(self) -> str | None:
        return self._error


def _transient(exc: SidecarError) -> TransientTaskError:
    # A sidecar not listening yet is every new pod's first seconds: retried, not reported.
    return TransientTaskError(str(exc), quiet=isinstance(exc, SidecarUnreachableError))


def sidecar_task_factory(
    task_type: str, params_model: type[SidecarParams], fire_and_forget: bool = False
) -> TaskFactory:
    def build(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        parsed = parse_params(params_model, task_type, params)
        return SidecarTask(ctx, task_id, task_type, parsed, fire_and_forget)

    return build


def register_sidecar_tasks(registry: TaskRegistry) -> None:
    """Every sidecar task type of spec 6.7.1."""
    for task_type, model in SIDECAR_TASK_PARAMS.items():
        registry.register(
            task_type, sidecar_task_factory(task_type, model, task_type in FIRE_AND_FORGET)
        )
