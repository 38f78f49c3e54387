"""The plan engine (spec 6.1, 6.4): tasks, their context, the registry, and the executor.

A TaskPlan lives in the owner's status and is the engine's only memory: every reconcile the
executor rebuilds the current task from (type, id, params), runs one step, and mutates the plan
in memory. It never writes to Kubernetes; :class:`StepResult` tells the caller whether the plan
changed (write the owner's status, with optimistic locking, before honouring the requeue).

Invariants of one :meth:`PlanExecutor.step`:

* at most one task changes persisted state; "last task Complete" and "plan Complete" happen in
  two consecutive steps;
* Execute runs once per attempt: until it first succeeds (``submittedAt`` is null), and again
  only after a retry reset ``submittedAt``. The first success is persisted, so later steps, and
  a restarted controller, only poll Status. This is where we differ from the reference, which
  re-executes on every step: a sidecar re-runs a failed id when it is POSTed again (spec 7.3),
  so a task failing between two polls was re-run by the next POST before its failure could be
  seen, and neither retry budgets nor failure ever applied. Tasks stay idempotent (sidecar tasks
  POST the deterministic id, which the sidecar deduplicates), so a lost status write or a
  controller restart never loses or duplicates work;
* a transient failure changes nothing that must be persisted; a Running task only its first
  submission.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import structlog

from api.v1alpha1 import (
    FailedTaskDetail,
    PlannedTask,
    Resource,
    TaskPlan,
    TaskPlanPhase,
    TaskStatus,
    utc_now,
)
from controller_runtime.client import PatchType, Preconditions, PropagationPolicy
from controllers.plan.metrics import PlanMetrics
from controllers.plan.params import InvalidTaskParamsError
from controllers.sidecar.api import SidecarClient, SidecarClientFactory

__all__ = [
    "IMMEDIATE_REQUEUE",
    "MAX_RETRY_BACKOFF",
    "TASK_POLL_INTERVAL",
    "BootstrapResources",
    "KubeClient",
    "PlanError",
    "PlanExecutor",
    "StepResult",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskFactory",
    "TaskRegistry",
    "TaskState",
    "TerminalTaskError",
    "TransientTaskError",
    "UnknownTaskTypeError",
    "controller_label",
    "retry_backoff",
]

log = structlog.get_logger(__name__)

IMMEDIATE_REQUEUE: Final = 0.001
TASK_POLL_INTERVAL: Final = 5.0
MAX_RETRY_BACKOFF: Final = 30.0

_CONTROLLER_LABELS: Final = {"SeiNode": "seinode", "SeiNodeDeployment": "seinodedeployment"}


def controller_label(kind: str) -> str:
    """The ``controller`` metric label of an owner kind (``unknown`` for any other kind)."""
    return _CONTROLLER_LABELS.get(kind, "unknown")


def retry_backoff(attempt: int) -> float:
    """Delay before retry ``attempt`` (the already incremented retryCount): 5 s x 2^attempt,
    capped at 30 s, so the first retry waits 10 s, the second 20 s, every later one 30 s."""
    return min(5.0 * (1 << min(max(attempt, 0), 5)), MAX_RETRY_BACKOFF)


class TaskState(StrEnum):
    """What a task execution reports; only Complete/Failed are ever persisted."""

    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"


class TaskError(Exception):
    """A failed Execute; the message is what status and logs show."""


class TransientTaskError(TaskError):
    """Retry on a later reconcile (after the poll interval); nothing is persisted.

    ``quiet``: an expected wait (a sidecar whose pod is not up yet), retried without being
    reported as a stall."""

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


class TerminalTaskError(TaskError):
    """Fail the plan now, without consuming retries."""


class UnknownTaskTypeError(TerminalTaskError):
    """A stored task whose type this registry does not know."""


class PlanError(Exception):
    """The plan itself cannot be executed (there is none)."""


class Task(Protocol):
    """One task execution, rebuilt from the plan on every step and dropped afterwards.

    ``execute`` is a command and must be idempotent; it raises :class:`TransientTaskError` or
    :class:`TerminalTaskError`. The executor calls it until it first succeeds in an attempt
    (and again after a retry); later steps of the attempt only call ``status``, which must then
    work on its own. ``status`` raises only :class:`TransientTaskError`, when it cannot tell
    the state this step (the task counts as still running); once it reported Complete or
    Failed it keeps doing so within the step. ``error`` is the failure message when Failed."""

    async def execute(self) -> None: ...

    async def status(self) -> TaskState: ...

    def error(self) -> str | None: ...


class KubeClient(Protocol):
    """The Kubernetes calls tasks make; :class:`controller_runtime.client.Client` and the
    manager's cached client both satisfy it."""

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]: ...

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...

    async def patch(
        self, obj: dict[str, Any], patch: Any, patch_type: PatchType = ...
    ) -> dict[str, Any]: ...

    async def delete(
        self,
        obj: dict[str, Any],
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
    ) -> dict[str, Any] | None: ...


class BootstrapResources(Protocol):
    """The owner's rendered bootstrap objects (spec 12.3), controller reference included or
    added by the task. Either method raises ValueError when the owner cannot have one."""

    def bootstrap_job(self) -> dict[str, Any]: ...

    def bootstrap_service(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TaskContext:
    """What tasks may use during one step (rebuilt every reconcile).

    ``sidecar`` builds the client of the owner's sidecar (for a SeiNodeDeployment, its assembler
    node's); it may raise :class:`controllers.sidecar.api.SidecarError`. ``platform`` is the
    manager's platform settings, read by attribute (``genesis_bucket``, ...). ``resources`` is
    only set for owners that have bootstrap objects (SeiNode).
    """

    owner: Resource
    kind: str
    namespace: str
    name: str
    client: KubeClient
    sidecar: Callable[[], SidecarClient]
    platform: Any = None
    resources: BootstrapResources | None = None
    now: Callable[[], datetime] = field(default=utc_now)
    # Clients of other nodes' sidecars (group tasks address each child's sidecar).
    sidecars: SidecarClientFactory | None = None
    # Reads straight from the API server, for decisions a lagging cache must not make (e.g.
    # "the object is gone"); None: ``client`` is already direct.
    api_reader: KubeClient | None = None

    @classmethod
    def for_owner(
        cls,
        owner: Resource,
        *,
        client: KubeClient,
        sidecar: Callable[[], SidecarClient],
        platform: Any = None,
        resources: BootstrapResources | None = None,
        now: Callable[[], datetime] = utc_now,
        sidecars: SidecarClientFactory | None = None,
        api_reader: KubeClient | None = None,
    ) -> TaskContext:
        """A context whose kind, namespace and name are the owner's."""
        return cls(
            owner=owner,
            kind=owner.kind,
            namespace=owner.metadata.namespace or "",
            name=owner.metadata.name or "",
            client=client,
            sidecar=sidecar,
            platform=platform,
            resources=resources,
            now=now,
            sidecars=sidecars,
            api_reader=api_reader,
        )


# Builds the execution of one stored task: (context, task id, stored params) -> Task. Raises
# InvalidTaskParamsError for params that do not fit the type.
TaskFactory = Callable[[TaskContext, str, Mapping[str, Any]], Task]


class TaskRegistry:
    """Task type name -> factory. One registry per owner kind, built at start-up."""

    def __init__(self) -> None:
        self._factories: dict[str, TaskFactory] = {}

    def register(self, task_type: str, factory: TaskFactory) -> None:
        if task_type in self._factories:
            raise ValueError(f"task type {task_type!r} is already registered")
        self._factories[task_type] = factory

    def types(self) -> frozenset[str]:
        return frozenset(self._factories)

    def __contains__(self, task_type: object) -> bool:
        return task_type in self._factories

    def build(
        self, ctx: TaskContext, task_type: str, task_id: str, params: Mapping[str, Any] | None
    ) -> Task:
        """The execution of a stored task. Raises :class:`UnknownTaskTypeError` or
        :class:`controllers.plan.params.InvalidTaskParamsError`."""
        factory = self._factories.get(task_type)
        if factory is None:
            raise UnknownTaskTypeError(f'unknown task type "{task_type}"')
        return factory(ctx, task_id, params or {})


@dataclass(frozen=True)
class StepResult:
    """``persist``: the plan changed in memory and the caller must write the owner's status
    (optimistic lock) before honouring ``requeue_after`` (seconds; None = no requeue)."""

    persist: bool
    requeue_after: float | None
    # Why the current task could not advance this step: a transient failure of submitting or
    # of polling it (None when it advanced or simply still runs). Owners surface it.
    stalled: str | None = None


def _stalled(task: PlannedTask, why: str | None, *, persist: bool) -> StepResult:
    stalled = f"task {task.type}: {why}" if why is not None else None
    return StepResult(persist=persist, requeue_after=TASK_POLL_INTERVAL, stalled=stalled)


class PlanExecutor:
    """Spec 6.4: one step of a plan per call."""

    def __init__(self, registry: TaskRegistry, metrics: PlanMetrics) -> None:
        self.registry = registry
        self.metrics = metrics

    async def step(
        self, plan: TaskPlan | None, ctx: TaskContext, controller: str | None = None
    ) -> StepResult:
        """Advance ``plan`` by one step. ``controller`` is the metric label (default: derived
        from ``ctx.kind``). Raises :class:`PlanError` when there is no plan."""
        if plan is None:
            raise PlanError(f"no plan to execute for {ctx.kind} {ctx.namespace}/{ctx.name}")
        if plan.phase in (TaskPlanPhase.COMPLETE, TaskPlanPhase.FAILED):
            return StepResult(persist=False, requeue_after=None)
        controller = controller or controller_label(ctx.kind)
        self.metrics.plan_active.labels(controller, ctx.namespace, ctx.name).set(1)

        current = next((t for t in plan.tasks if t.status != TaskStatus.COMPLETE), None)
        if current is None:
            plan.phase = TaskPlanPhase.COMPLETE
            self.metrics.plan_active.labels(controller, ctx.namespace, ctx.name).set(0)
            return StepResult(persist=True, requeue_after=IMMEDIATE_REQUEUE)

        logger = log.bind(plan=plan.id, task=current.id, task_type=current.type)
        try:
            task = self.registry.build(ctx, current.type, current.id, current.params)
        except (UnknownTaskTypeError, InvalidTaskParamsError) as exc:
            return self._fail(plan, current, str(exc), ctx, controller)

        submitted = False
        if current.status == TaskStatus.PENDING and current.submitted_at is None:
            try:
                await task.execute()
            except TerminalTaskError as exc:
                return self._fail(plan, current, str(exc), ctx, controller)
            except TransientTaskError as exc:
                logger.info("task not submitted yet, retrying", error=str(exc))
                why = None if exc.quiet else f"submitting it failed: {exc}"
                return _stalled(current, why, persist=False)
            except Exception as exc:
                # Any other failure of Execute is transient, as in the reference; it is a bug
                # in a task, so it is logged with its traceback.
                logger.exception("task execute raised unexpectedly", error=str(exc))
                return _stalled(current, f"submitting it failed: {exc!r}", persist=False)
            current.submitted_at = ctx.now()
            submitted = True

        try:
            state = await task.status()
        except TransientTaskError as exc:
            logger.info("task state unknown, polling again", error=str(exc))
            why = None if exc.quiet else f"polling it failed: {exc}"
            return _stalled(current, why, persist=submitted)
        except Exception as exc:
            logger.exception("task status raised unexpectedly", error=str(exc))
            return _stalled(current, f"polling it failed: {exc!r}", persist=submitted)

        if state == TaskState.COMPLETE:
            current.status = TaskStatus.COMPLETE
            return StepResult(persist=True, requeue_after=IMMEDIATE_REQUEUE)
        if state == TaskState.FAILED:
            message = task.error() or "unknown error"
            retries, budget = current.retry_count or 0, current.max_retries or 0
            if budget > 0 and retries < budget:
                self.metrics.task_retries.labels(controller, ctx.namespace, current.type).inc()
                current.retry_count = retries + 1
                current.status = TaskStatus.PENDING
                current.error = None
                current.submitted_at = None
                logger.info("task failed, retrying", error=message, retry=retries + 1, of=budget)
                return StepResult(persist=True, requeue_after=retry_backoff(retries + 1))
            return self._fail(plan, current, message, ctx, controller)
        # Running: the attempt's submission is persisted once, so it is not executed again.
        return StepResult(persist=submitted, requeue_after=TASK_POLL_INTERVAL)

    def _fail(
        self, plan: TaskPlan, task: PlannedTask, message: str, ctx: TaskContext, controller: str
    ) -> StepResult:
        """failTask: the task and the plan are Failed, with the detail of the failing task."""
        log.warning(
            "task failed, plan failed",
            plan=plan.id,
            task=task.id,
            task_type=task.type,
            error=message,
        )
        self.metrics.task_failures.labels(controller, ctx.namespace, task.type).inc()
        task.status = TaskStatus.FAILED
        task.error = message
        plan.phase = TaskPlanPhase.FAILED
        plan.failed_task_index = next(i for i, t in enumerate(plan.tasks) if t.id == task.id)
        plan.failed_task_detail = FailedTaskDetail(
            type=task.type,
            id=task.id,
            error=message,
            retry_count=task.retry_count or 0,
            max_retries=task.max_retries or 0,
        )
        self.metrics.plan_active.labels(controller, ctx.namespace, ctx.name).set(0)
        return StepResult(persist=True, requeue_after=None)
