"""The fork ceremony's exporter (spec 5.7, 6.7.3, 12.2; decision F15).

A fork starts from the source chain's state at ``exportHeight``: a temporary SeiNode
``<group>-exporter`` (a full node of the source chain, bootstrapped from an S3 snapshot and
halted at that height) exports the state through its sidecar into the genesis bucket, and is
deleted before the forked genesis is assembled.

Invariants:
- At most one exporter exists, and a new one is created only once the old one is gone (F15):
  a Terminating exporter is waited for, never taken as ready. "Gone" is decided on a fresh read
  from the API server, never on a cache that may lag our own create or delete.
- The export-state sidecar task id is a function of the exporter's name (6.2), so a
  resubmission (a retry, a new plan) is deduplicated by the exporter's sidecar.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import structlog

from api.v1alpha1 import SeiNodeDeployment
from controller_runtime.client.errors import AlreadyExistsError, ApiError, NotFoundError
from controllers.plan.engine import (
    KubeClient,
    Task,
    TaskContext,
    TaskFactory,
    TaskRegistry,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
)
from controllers.plan.ids import export_state_task_id
from controllers.plan.params import TaskParams, parse_params
from controllers.seinodedeployment.children import (
    EXPORTER_ROLE,
    GROUP_LABEL,
    ROLE_LABEL,
    owner_reference,
)
from controllers.seinodedeployment.node_tasks import node_sidecar
from controllers.sidecar.api import SidecarError, SidecarTaskNotFoundError, TaskResultStatus

__all__ = [
    "AWAIT_EXPORTER_RUNNING",
    "CREATE_EXPORTER",
    "EXPORT_STATE_TIMEOUT",
    "SUBMIT_EXPORT_STATE",
    "TEARDOWN_EXPORTER",
    "CreateExporterParams",
    "ExporterParams",
    "SubmitExportStateParams",
    "exported_state_key",
    "exporter_name",
    "exporter_node",
    "register_fork_tasks",
]

log = structlog.get_logger(__name__)

CREATE_EXPORTER: Final = "create-exporter"
AWAIT_EXPORTER_RUNNING: Final = "await-exporter-running"
SUBMIT_EXPORT_STATE: Final = "submit-export-state"
TEARDOWN_EXPORTER: Final = "teardown-exporter"
EXPORT_STATE: Final = "export-state"
# Measured from the exporter's creation: bootstrap to the height plus the export itself.
EXPORT_STATE_TIMEOUT: Final = timedelta(hours=6)
SEINODE: Final = ("sei.io/v1alpha1", "SeiNode")

Object = dict[str, Any]


class CreateExporterParams(TaskParams):
    group_name: str
    exporter_name: str
    namespace: str
    source_chain_id: str
    source_image: str
    export_height: int


class ExporterParams(TaskParams):
    """``{"exporterName", "namespace"}`` (await-exporter-running, teardown-exporter)."""

    exporter_name: str
    namespace: str


class SubmitExportStateParams(TaskParams):
    exporter_name: str
    namespace: str
    export_height: int
    source_chain_id: str


def exporter_name(group_name: str) -> str:
    return f"{group_name}-exporter"


def exported_state_key(source_chain_id: str) -> str:
    """Where the exporter puts the state in the genesis bucket (and assembly reads it)."""
    return f"{source_chain_id}/exported-state.json"


def exporter_node(group: SeiNodeDeployment, params: CreateExporterParams) -> Object:
    """The exporter SeiNode of 5.7: a full node of the source chain, bootstrapped from the S3
    snapshot at the export height with the source image; no ordinal and no revision label, so
    scale-down and rollouts never touch it."""
    template = group.spec.template.spec.to_dict()
    spec: Object = {
        "chainId": params.source_chain_id,
        "image": params.source_image,
        "fullNode": {
            "snapshot": {
                "s3": {"targetHeight": params.export_height},
                "bootstrapImage": params.source_image,
            }
        },
    }
    for key in ("sidecar", "peers"):
        if template.get(key) is not None:
            spec[key] = template[key]
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {
            "name": params.exporter_name,
            "namespace": params.namespace,
            "labels": {GROUP_LABEL: params.group_name, ROLE_LABEL: EXPORTER_ROLE},
            "ownerReferences": [owner_reference(group)],
        },
        "spec": spec,
    }


def _reader(ctx: TaskContext) -> KubeClient:
    """Reads for decisions a lagging cache must not make."""
    return ctx.api_reader or ctx.client


async def _fresh(ctx: TaskContext, name: str, namespace: str) -> Object | None:
    try:
        return await _reader(ctx).get(*SEINODE, name, namespace)
    except NotFoundError:
        return None


def _phase(node: Mapping[str, Any]) -> str:
    return str((node.get("status") or {}).get("phase") or "")


def _terminating(node: Mapping[str, Any]) -> bool:
    return bool((node.get("metadata") or {}).get("deletionTimestamp"))


class CreateExporter:
    """Ensures one live exporter: creates it when absent; deletes a Failed one and waits for it
    to be gone (F15); Complete once a live, non-Failed exporter exists. Execute and Status do
    the same convergence step, since the engine polls Status after the first submission."""

    def __init__(self, ctx: TaskContext, params: CreateExporterParams) -> None:
        self.ctx, self.params = ctx, params
        self._state: TaskState | None = None

    async def execute(self) -> None:
        if not isinstance(self.ctx.owner, SeiNodeDeployment):
            raise TerminalTaskError(
                f"create-exporter: owner {self.ctx.kind} {self.ctx.namespace}/{self.ctx.name} "
                "is not a SeiNodeDeployment"
            )
        try:
            self._state = await self._converge(self.ctx.owner)
        except ApiError as err:
            raise TransientTaskError(f"create-exporter: {err}") from err

    async def _converge(self, group: SeiNodeDeployment) -> TaskState:
        name, ns = self.params.exporter_name, self.params.namespace
        existing = await _fresh(self.ctx, name, ns)
        if existing is not None:
            if _terminating(existing):
                return TaskState.RUNNING  # F15: the old exporter must be gone first
            if _phase(existing) == "Failed":
                log.info("deleting the failed exporter", exporter=name)
                with contextlib.suppress(NotFoundError):
                    await self.ctx.client.delete(existing)
                return TaskState.RUNNING
            return TaskState.COMPLETE
        try:
            await self.ctx.client.create(exporter_node(group, self.params))
        except AlreadyExistsError:
            return TaskState.RUNNING  # look again next poll: it may be a Terminating one
        return TaskState.COMPLETE

    async def status(self) -> TaskState:
        if self._state is None:
            if not isinstance(self.ctx.owner, SeiNodeDeployment):
                return TaskState.RUNNING
            try:
                self._state = await self._converge(self.ctx.owner)
            except ApiError as err:
                log.info("create-exporter: converging failed", error=str(err))
                return TaskState.RUNNING
        return self._state

    def error(self) -> str | None:
        return None


class AwaitExporterRunning:
    def __init__(self, ctx: TaskContext, params: ExporterParams) -> None:
        self.ctx, self.params = ctx, params
        self._error: str | None = None

    async def execute(self) -> None:
        return None

    async def status(self) -> TaskState:
        if self._error is not None:
            return TaskState.FAILED
        name = self.params.exporter_name
        try:
            node = await _fresh(self.ctx, name, self.params.namespace)
        except ApiError as err:
            log.info("await-exporter-running: reading the exporter failed", error=str(err))
            return TaskState.RUNNING
        if node is None:
            self._error = f"exporter {name} not found — create-exporter may have failed"
            return TaskState.FAILED
        phase = _phase(node)
        if phase == "Running":
            return TaskState.COMPLETE
        if phase == "Failed":
            self._error = f"exporter {name} failed"
            return TaskState.FAILED
        return TaskState.RUNNING

    def error(self) -> str | None:
        return self._error


class SubmitExportState:
    """POSTs export-state to the exporter's sidecar; Failed after 6 h from the exporter's
    creation or when the sidecar reports the task failed."""

    def __init__(self, ctx: TaskContext, params: SubmitExportStateParams) -> None:
        self.ctx, self.params = ctx, params
        self._error: str | None = None

    def _request(self) -> dict[str, Any]:
        platform = self.ctx.platform
        return {
            "height": self.params.export_height,
            "chainId": self.params.source_chain_id,
            "s3Bucket": getattr(platform, "genesis_bucket", ""),
            "s3Key": exported_state_key(self.params.source_chain_id),
            "s3Region": getattr(platform, "genesis_region", ""),
        }

    @property
    def sidecar_task_id(self) -> str:
        return export_state_task_id(self.params.exporter_name)

    async def execute(self) -> None:
        try:
            node = await self.ctx.client.get(
                *SEINODE, self.params.exporter_name, self.params.namespace
            )
            sidecar = node_sidecar(self.ctx, node)
            await sidecar.submit_task(EXPORT_STATE, self._request(), self.sidecar_task_id)
        except (ApiError, SidecarError) as err:
            raise TransientTaskError(f"submitting export-state: {err}") from err

    async def status(self) -> TaskState:
        if self._error is not None:
            return TaskState.FAILED
        try:
            node = await self.ctx.client.get(
                *SEINODE, self.params.exporter_name, self.params.namespace
            )
        except ApiError:
            return TaskState.RUNNING
        created = (node.get("metadata") or {}).get("creationTimestamp")
        if created and self._age(created) > EXPORT_STATE_TIMEOUT:
            self._error = "export-state timed out after 6h0m0s"
            return TaskState.FAILED
        sidecar = node_sidecar(self.ctx, node)
        try:
            result = await sidecar.get_task(self.sidecar_task_id)
        except SidecarTaskNotFoundError:
            # The exporter's sidecar lost the task (a fresh store): submit it again.
            try:
                await sidecar.submit_task(EXPORT_STATE, self._request(), self.sidecar_task_id)
            except SidecarError as err:
                log.info("resubmitting export-state failed", error=str(err))
            return TaskState.RUNNING
        except SidecarError:
            return TaskState.RUNNING
        if result.status == TaskResultStatus.COMPLETED:
            return TaskState.COMPLETE
        if result.status == TaskResultStatus.FAILED:
            self._error = f"export-state failed: {result.error or 'unknown error'}"
            return TaskState.FAILED
        return TaskState.RUNNING

    def _age(self, created: str) -> timedelta:
        started = datetime.fromisoformat(created.replace("Z", "+00:00"))
        return self.ctx.now() - started

    def error(self) -> str | None:
        return self._error


class TeardownExporter:
    """Deletes the exporter and completes once it is gone (finalizers included)."""

    def __init__(self, ctx: TaskContext, params: ExporterParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        try:
            node = await _fresh(self.ctx, self.params.exporter_name, self.params.namespace)
            if node is not None and not _terminating(node):
                with contextlib.suppress(NotFoundError):
                    await self.ctx.client.delete(node)
        except ApiError as err:
            raise TransientTaskError(f"deleting the exporter: {err}") from err

    async def status(self) -> TaskState:
        try:
            gone = await _fresh(self.ctx, self.params.exporter_name, self.params.namespace)
        except ApiError:
            return TaskState.RUNNING
        return TaskState.COMPLETE if gone is None else TaskState.RUNNING

    def error(self) -> str | None:
        return None


def _factory(
    cls: Callable[[TaskContext, Any], Task], model: type[TaskParams], task_type: str
) -> TaskFactory:
    def build(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return cls(ctx, parse_params(model, task_type, params))

    return build


def register_fork_tasks(registry: TaskRegistry) -> None:
    registry.register(
        CREATE_EXPORTER, _factory(CreateExporter, CreateExporterParams, CREATE_EXPORTER)
    )
    registry.register(
        AWAIT_EXPORTER_RUNNING,
        _factory(AwaitExporterRunning, ExporterParams, AWAIT_EXPORTER_RUNNING),
    )
    registry.register(
        SUBMIT_EXPORT_STATE,
        _factory(SubmitExportState, SubmitExportStateParams, SUBMIT_EXPORT_STATE),
    )
    registry.register(
        TEARDOWN_EXPORTER, _factory(TeardownExporter, ExporterParams, TEARDOWN_EXPORTER)
    )
