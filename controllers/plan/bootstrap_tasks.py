"""Controller tasks of the SeiNode bootstrap (spec 6.7.2, 12.3), on the Kubernetes API.

The bootstrap Job restores a snapshot into the data PVC before the StatefulSet exists: the plan
deploys its headless Service and Job, runs sidecar tasks against the Job pod, waits for the Job
to complete, and tears both down so the StatefulSet can take the volume.

Every failure of a Kubernetes call in Execute is transient (retried after the poll interval);
only a vanished Job fails the plan, because nothing would ever complete it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import aiohttp
import structlog

from api.v1alpha1 import SeiNode
from controller_runtime.client import (
    ApiError,
    NotFoundError,
    Preconditions,
    PropagationPolicy,
    is_already_exists,
)
from controller_runtime.controller.controllerutil import (
    has_controller_reference,
    set_controller_reference,
)
from controllers.plan.engine import (
    BootstrapResources,
    Task,
    TaskContext,
    TaskFactory,
    TaskRegistry,
    TaskState,
    TransientTaskError,
)
from controllers.plan.params import (
    AwaitBootstrapCompleteParams,
    DeployBootstrapJobParams,
    DeployBootstrapServiceParams,
    TaskParams,
    TeardownBootstrapParams,
    parse_params,
)

__all__ = [
    "BOOTSTRAP_COMPONENT_LABEL",
    "AwaitBootstrapComplete",
    "DeployBootstrapJob",
    "DeployBootstrapService",
    "TeardownBootstrap",
    "register_bootstrap_tasks",
]

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=TaskParams)

# The bootstrap Service has the name the node's headless Service takes afterwards; this label
# (set by the renderer, spec 12.3) tells the two apart, so teardown never deletes the latter.
BOOTSTRAP_COMPONENT_LABEL: Final = ("sei.io/component", "bootstrap")

# Failures of a Kubernetes call: answered errors and transport failures.
_CALL_ERRORS: Final = (ApiError, aiohttp.ClientError, TimeoutError)


def _seinode(ctx: TaskContext, task_type: str) -> tuple[SeiNode, BootstrapResources]:
    """The owner as a SeiNode with its bootstrap objects; anything else is transient (6.7.2)."""
    if not isinstance(ctx.owner, SeiNode):
        raise TransientTaskError(f"{task_type} requires a SeiNode owner, got {ctx.kind}")
    if ctx.resources is None:
        raise TransientTaskError(f"{task_type}: no bootstrap resources for {ctx.kind}")
    return ctx.owner, ctx.resources


def _owned_by(node: SeiNode, obj: dict[str, Any]) -> dict[str, Any]:
    """obj with a controller reference to node (unless the renderer set one)."""
    if not has_controller_reference(obj):
        owner = {
            "apiVersion": node.api_version,
            "kind": node.kind,
            "metadata": {
                "name": node.metadata.name,
                "namespace": node.metadata.namespace,
                "uid": node.metadata.uid,
            },
        }
        set_controller_reference(owner, obj)
    return obj


async def _create(ctx: TaskContext, obj: dict[str, Any], what: str) -> None:
    """Create obj; one that already exists is success (the create of an earlier step)."""
    try:
        await ctx.client.create(obj)
    except _CALL_ERRORS as exc:
        if is_already_exists(exc):
            return
        name = (obj.get("metadata") or {}).get("name")
        raise TransientTaskError(f"creating {what} {ctx.namespace}/{name}: {exc}") from exc


async def _exists(ctx: TaskContext, api_version: str, kind: str, name: str, ns: str) -> bool:
    """Whether the object exists; other errors are raised."""
    try:
        await ctx.client.get(api_version, kind, name, ns)
    except NotFoundError:
        return False
    return True


class _BootstrapTask:
    """State shared by the four tasks: an Execute that succeeded in this step completes it."""

    def __init__(self, ctx: TaskContext, task_id: str) -> None:
        self.ctx = ctx
        self.task_id = task_id
        self._state: TaskState | None = None
        self._error: str | None = None

    def error(self) -> str | None:
        return self._error


class DeployBootstrapService(_BootstrapTask):
    task_type: Final = "deploy-bootstrap-service"

    def __init__(self, ctx: TaskContext, task_id: str, params: DeployBootstrapServiceParams):
        super().__init__(ctx, task_id)
        self.params = params

    async def execute(self) -> None:
        node, resources = _seinode(self.ctx, self.task_type)
        try:
            service = _owned_by(node, resources.bootstrap_service())
        except ValueError as exc:
            raise TransientTaskError(str(exc)) from exc
        await _create(self.ctx, service, "bootstrap service")
        self._state = TaskState.COMPLETE

    async def status(self) -> TaskState:
        if self._state is None:
            p = self.params
            try:
                if await _exists(self.ctx, "v1", "Service", p.service_name, p.namespace):
                    self._state = TaskState.COMPLETE
            except _CALL_ERRORS as exc:
                log.info("reading bootstrap service failed", error=str(exc))
        return self._state or TaskState.RUNNING


class DeployBootstrapJob(_BootstrapTask):
    task_type: Final = "deploy-bootstrap-job"

    def __init__(self, ctx: TaskContext, task_id: str, params: DeployBootstrapJobParams):
        super().__init__(ctx, task_id)
        self.params = params

    async def execute(self) -> None:
        node, resources = _seinode(self.ctx, self.task_type)
        source = node.spec.snapshot_source()
        if source is None or source.s3 is None:
            raise TransientTaskError(
                "bootstrap job requires an S3 snapshot source "
                f"(node {self.ctx.namespace}/{self.ctx.name})"
            )
        try:
            job = _owned_by(node, resources.bootstrap_job())
        except ValueError as exc:
            raise TransientTaskError(str(exc)) from exc
        await _create(self.ctx, job, "bootstrap job")
        self._state = TaskState.COMPLETE

    async def status(self) -> TaskState:
        if self._state is None:
            p = self.params
            try:
                if await _exists(self.ctx, "batch/v1", "Job", p.job_name, p.namespace):
                    self._state = TaskState.COMPLETE
            except _CALL_ERRORS as exc:
                log.info("reading bootstrap job failed", error=str(exc))
        return self._state or TaskState.RUNNING


def _condition(job: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_ and cond.get("status") == "True":
            return dict(cond)
    return None


class AwaitBootstrapComplete(_BootstrapTask):
    task_type: Final = "await-bootstrap-complete"

    def __init__(self, ctx: TaskContext, task_id: str, params: AwaitBootstrapCompleteParams):
        super().__init__(ctx, task_id)
        self.params = params

    async def execute(self) -> None:
        return None

    async def status(self) -> TaskState:
        if self._state is not None:
            return self._state
        p = self.params
        try:
            try:
                job = await self.ctx.client.get("batch/v1", "Job", p.job_name, p.namespace)
            except NotFoundError:
                # A cache may not show the Job the plan just created: only a fresh read
                # decides that it is gone.
                if self.ctx.api_reader is None:
                    raise
                job = await self.ctx.api_reader.get("batch/v1", "Job", p.job_name, p.namespace)
        except NotFoundError:
            self._state = TaskState.FAILED
            self._error = f"bootstrap job {p.job_name} not found"
            return self._state
        except _CALL_ERRORS as exc:
            log.info("reading bootstrap job failed", error=str(exc))
            return TaskState.RUNNING
        if _condition(job, "Complete") is not None:
            self._state = TaskState.COMPLETE
        elif (failed := _condition(job, "Failed")) is not None:
            self._state = TaskState.FAILED
            self._error = f"bootstrap job failed: {failed.get('message') or 'bootstrap job failed'}"
        return self._state or TaskState.RUNNING


class TeardownBootstrap(_BootstrapTask):
    task_type: Final = "teardown-bootstrap"

    def __init__(self, ctx: TaskContext, task_id: str, params: TeardownBootstrapParams):
        super().__init__(ctx, task_id)
        self.params = params

    async def execute(self) -> None:
        p = self.params
        job: dict[str, Any] = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": p.job_name, "namespace": p.namespace},
        }
        try:
            # Foreground: the Job goes away only after its pod, which holds the RWO data PVC.
            await self.ctx.client.delete(job, propagation_policy=PropagationPolicy.FOREGROUND)
        except NotFoundError:
            pass
        except _CALL_ERRORS as exc:
            raise TransientTaskError(f"deleting bootstrap job {p.job_name}: {exc}") from exc
        try:
            await self._delete_bootstrap_service()
        except _CALL_ERRORS as exc:
            raise TransientTaskError(f"deleting bootstrap service {p.service_name}: {exc}") from exc
        # Complete without waiting for disappearance: the StatefulSet pod waits for the volume.
        self._state = TaskState.COMPLETE

    async def _delete_bootstrap_service(self) -> None:
        service = await _bootstrap_service(self.ctx, self.params)
        if service is None:
            return
        uid = (service.get("metadata") or {}).get("uid")
        with contextlib.suppress(NotFoundError):
            await self.ctx.client.delete(service, preconditions=Preconditions(uid=uid))

    async def status(self) -> TaskState:
        if self._state is not None:
            return self._state
        p = self.params
        try:
            job_gone = not await _exists(self.ctx, "batch/v1", "Job", p.job_name, p.namespace)
            service_gone = await _bootstrap_service(self.ctx, p) is None
        except _CALL_ERRORS as exc:
            log.info("reading bootstrap objects failed", error=str(exc))
            return TaskState.RUNNING
        return TaskState.COMPLETE if job_gone and service_gone else TaskState.RUNNING


async def _bootstrap_service(
    ctx: TaskContext, params: TeardownBootstrapParams
) -> dict[str, Any] | None:
    """The bootstrap Service, or None when it is gone or already the node's own Service."""
    try:
        service = await ctx.client.get("v1", "Service", params.service_name, params.namespace)
    except NotFoundError:
        return None
    labels = (service.get("metadata") or {}).get("labels") or {}
    key, value = BOOTSTRAP_COMPONENT_LABEL
    return service if labels.get(key) == value else None


def _factory(
    task_type: str, task_cls: Callable[[TaskContext, str, P], Task], model: type[P]
) -> tuple[str, TaskFactory]:
    def build(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return task_cls(ctx, task_id, parse_params(model, task_type, params))

    return task_type, build


def register_bootstrap_tasks(registry: TaskRegistry) -> None:
    """The four bootstrap task types of spec 6.7.2."""
    for task_type, factory in (
        _factory(
            DeployBootstrapService.task_type, DeployBootstrapService, DeployBootstrapServiceParams
        ),
        _factory(DeployBootstrapJob.task_type, DeployBootstrapJob, DeployBootstrapJobParams),
        _factory(
            AwaitBootstrapComplete.task_type, AwaitBootstrapComplete, AwaitBootstrapCompleteParams
        ),
        _factory(TeardownBootstrap.task_type, TeardownBootstrap, TeardownBootstrapParams),
    ):
        registry.register(task_type, factory)
