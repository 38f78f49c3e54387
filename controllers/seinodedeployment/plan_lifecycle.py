"""The group plan's lifecycle: start, drive, finalize (spec 6.5, 6.6; decisions F7, F11, F12).

One pass of the reconciler calls ``PlanLifecycle.reconcile`` once, after rollout and genesis
detection and before children are synced; it changes the group's status in memory only and the
pass's one status write persists it.

Invariants:
- The group runs at most one plan (``status.plan``), and ``PlanInProgress`` is True exactly
  from the pass that starts a plan to the pass that finalizes it.
- A persisted Complete or Failed plan is finalized by the next pass (F7): finalizing only
  edits the status in memory (and, for a failed BlueGreen/HardFork plan, detaches nodes, which
  is idempotent), so a crash before the status write repeats it with the same outcome.
- A genesis/fork ceremony plan starts before a rollout's plan and never closes a rollout: a
  rollout recorded while a ceremony runs gets its own plan afterwards.
- A switch-over (BlueGreen/HardFork) ends the pass's plan steps: it is persisted and the
  Service re-pointed before the next task (teardown) runs, in a later pass.
- A task's retry backoff is waited out even when events of the group run passes sooner
  (backoff.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from api.v1alpha1 import (
    ConditionStatus,
    SeiNodeDeployment,
    SeiNodeDeploymentPhase,
    TaskPlan,
    TaskPlanPhase,
    UpdateStrategyType,
)
from controller_runtime.client import Object
from controller_runtime.manager import CachedClient
from controllers.plan.engine import IMMEDIATE_REQUEUE, PlanExecutor, TaskContext
from controllers.seinodedeployment import children as ch
from controllers.seinodedeployment import generations as gen
from controllers.seinodedeployment.backoff import RetryGate
from controllers.seinodedeployment.genesis import (
    assembler,
    build_genesis_plan,
    ceremony_due,
    ceremony_retry_delay,
    complete_ceremony,
    is_ceremony_plan,
)
from controllers.seinodedeployment.leftovers import Leftovers
from controllers.seinodedeployment.metrics import CONTROLLER
from controllers.seinodedeployment.plans import build_inplace_plan, build_swap_plan
from controllers.seinodedeployment.rollout import Event
from controllers.seinodedeployment.status import PLAN_IN_PROGRESS, ROLLOUT_IN_PROGRESS
from controllers.sidecar.api import (
    DEFAULT_SIDECAR_PORT,
    SidecarClient,
    SidecarClientFactory,
    SidecarError,
)

__all__ = ["PlanLifecycle"]


class PlanLifecycle:
    def __init__(
        self,
        *,
        client: CachedClient,
        sidecars: SidecarClientFactory,
        executor: PlanExecutor,
        platform: Any,
        now: Callable[[], datetime],
        emit: Callable[[SeiNodeDeployment, Event], None],
        leftovers: Leftovers,
        list_children: Callable[[SeiNodeDeployment], Awaitable[list[Object]]],
    ) -> None:
        self.client = client
        self.sidecars = sidecars
        self.executor = executor
        self.platform = platform
        self.now = now
        self.emit = emit
        self.leftovers = leftovers
        self.list_children = list_children
        self.retry_gate = RetryGate()

    async def reconcile(
        self,
        group: SeiNodeDeployment,
        children: list[Object],
        written: dict[str, Object | None],
    ) -> float:
        """Drives, finalizes or starts the group plan; returns the requeue delay (0: none).
        ``written``: the children this pass deleted (None) or rewrote, which a re-listing
        from the cache may not show yet; detached nodes are added to it."""
        status = group.status
        plan = status.plan
        if plan is not None and plan.phase == TaskPlanPhase.ACTIVE:
            # Steps that ask to go on at once (a task completed) are taken in this pass; the
            # pass's one status write persists them all. Every step is idempotent, so a crash
            # before that write repeats them and changes nothing.
            owner = group.metadata.uid or ""
            wait = self.retry_gate.wait(owner, plan)
            if wait > 0:
                return wait  # a task's retry backoff, which events must not cut short
            context = self._context(group, children)
            for _ in range(len(plan.tasks) + 1):
                was_switched = gen.switched(status.rollout)
                retries = self.retry_gate.retries(plan)
                step = await self.executor.step(plan, context, CONTROLLER)
                self.retry_gate.record(owner, plan, retries, step.requeue_after)
                if plan.phase != TaskPlanPhase.ACTIVE or step.requeue_after != IMMEDIATE_REQUEUE:
                    break
                if gen.switched(status.rollout) != was_switched:
                    # Traffic moves to the entrants: persist it and re-point the Service
                    # (this pass) before the next task (teardown) runs (next pass).
                    return IMMEDIATE_REQUEUE
            if plan.phase == TaskPlanPhase.ACTIVE:
                return step.requeue_after or 0.0
        if plan is not None and plan.phase == TaskPlanPhase.COMPLETE:
            self._complete(group)
            return IMMEDIATE_REQUEUE
        if plan is not None and plan.phase == TaskPlanPhase.FAILED:
            children = ch.overlay(await self.list_children(group), written)
            await self.leftovers.detach(group, children, written)
            self._fail(group)
            return IMMEDIATE_REQUEUE
        if ceremony_due(group):
            wait = ceremony_retry_delay(group, self.now())
            if wait > 0:
                return wait
            self._start(group, build_genesis_plan(group))
            return IMMEDIATE_REQUEUE
        if plan is None and status.rollout is not None:
            if status.rollout.strategy == UpdateStrategyType.IN_PLACE:
                self._start(group, build_inplace_plan(group))
            else:
                status.rollout.entrant_nodes = gen.entrant_names(group)
                self._start(group, build_swap_plan(group))
            return IMMEDIATE_REQUEUE
        return 0.0

    def forget(self, group: SeiNodeDeployment) -> None:
        """The group is gone: drop its retry backoff and its plan-active series."""
        self.retry_gate.forget(group.metadata.uid or "")
        self.executor.metrics.delete_plan_active(
            CONTROLLER, group.metadata.namespace or "", group.metadata.name or ""
        )

    # --- tasks' view of the group ------------------------------------------------------------

    def _context(self, group: SeiNodeDeployment, children: list[Object]) -> TaskContext:
        return TaskContext.for_owner(
            group,
            client=self.client,
            sidecar=lambda: self._assembler_sidecar(group, children),
            sidecars=self.sidecars,
            platform=self.platform,
            now=self.now,
            api_reader=self.client.direct,
        )

    def _assembler_sidecar(self, group: SeiNodeDeployment, children: list[Object]) -> SidecarClient:
        """The sidecar of the group's assembler node (6.4), for group-level sidecar tasks."""
        node = assembler(children)
        if node is None:
            raise SidecarError(f"no assembler node found for group {group.metadata.name}")
        port = int(((node.get("spec") or {}).get("sidecar") or {}).get("port") or 0)
        return self.sidecars(
            node["metadata"]["name"], node["metadata"]["namespace"], port or DEFAULT_SIDECAR_PORT
        )

    # --- transitions (status in memory, events) ----------------------------------------------

    def _start(self, group: SeiNodeDeployment, plan: TaskPlan) -> None:
        group.status.plan = plan
        group.status.set_condition(
            PLAN_IN_PROGRESS,
            ConditionStatus.TRUE,
            "PlanStarted",
            "Plan execution started",
            group.metadata.generation,
        )
        self.emit(group, Event("Normal", "PlanStarted", "Plan execution started"))

    def _complete(self, group: SeiNodeDeployment) -> None:
        status, generation = group.status, group.metadata.generation
        if is_ceremony_plan(status.plan):
            # Not a deployment plan even if a rollout was recorded meanwhile: that rollout
            # gets its own plan next.
            complete_ceremony(group)
        elif status.rollout is not None:
            status.observed_generation = generation
            status.rollout = None
            status.set_condition(
                ROLLOUT_IN_PROGRESS,
                ConditionStatus.FALSE,
                "RolloutComplete",
                "Deployment completed successfully",
                generation,
            )
            self.emit(
                group,
                Event("Normal", "RolloutComplete", "Deployment rollout completed successfully"),
            )
        status.plan = None
        status.set_condition(
            PLAN_IN_PROGRESS,
            ConditionStatus.FALSE,
            "PlanComplete",
            "Plan completed successfully",
            generation,
        )
        self.emit(group, Event("Normal", "PlanComplete", "Plan completed successfully"))
        self.executor.metrics.plan_active.labels(
            CONTROLLER, group.metadata.namespace, group.metadata.name
        ).set(0)

    def _fail(self, group: SeiNodeDeployment) -> None:
        status, generation = group.status, group.metadata.generation
        status.phase = SeiNodeDeploymentPhase.DEGRADED
        status.plan = None
        if status.rollout is not None:
            status.rollout = None
            status.set_condition(
                ROLLOUT_IN_PROGRESS,
                ConditionStatus.FALSE,
                "RolloutFailed",
                "Deployment plan failed",
                generation,
            )
        status.set_condition(
            PLAN_IN_PROGRESS, ConditionStatus.FALSE, "PlanFailed", "Plan failed", generation
        )
        self.emit(group, Event("Warning", "PlanFailed", "Plan failed"))
