"""The SeiNodeDeployment reconciler (spec 4.7, 6.5, 8; decisions F3-F11, F16, D1, D2).

One pass: read the group (cache, or our own newer write) and its real children; detect a
rollout before anything touches a child (so a template change is never pushed outside its
plan); start, drive or finalize the group plan; keep children in line with the template and
scale them while no plan runs; compute status from the real children; write status once.

Invariants:
- This controller is the only writer of the group's status and computes one status patch per
  pass against the newest status it knows (OwnWrites), so status patches carry no
  resourceVersion precondition and draw no 409 (F6). Child writes are key-wise merge patches of
  the fields we own, also without precondition.
- A template change is never lost (F8): detection runs before the status computation and the
  computation never advances templateHash while a rollout or plan is in progress.
- A persisted Complete/Failed plan is finalized by the next pass (F7).
- During an InPlace rollout the group keeps seeing and counting every child (F3): children are
  found by group label and controller reference, never by revision.
- BlueGreen/HardFork (F12): incumbents are not touched before teardown; the group counts,
  syncs, scales and serves its serving children only (generations.py), and a switch-over is
  applied to the external Service and persisted before any later task (teardown) runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from api.v1alpha1 import (
    ConditionStatus,
    SeiNodeDeployment,
    SeiNodeDeploymentPhase,
    TaskPlan,
    TaskPlanPhase,
    UpdateStrategyType,
)
from controller_runtime.client import Object, PatchType
from controller_runtime.client.errors import AlreadyExistsError, InvalidError, NotFoundError
from controller_runtime.controller import Request, Result
from controller_runtime.events import EventRecorder
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites
from controllers.objects import OwnedKind, event_ref
from controllers.plan.engine import IMMEDIATE_REQUEUE, PlanExecutor, TaskContext
from controllers.seinodedeployment import children as ch
from controllers.seinodedeployment import generations as gen
from controllers.seinodedeployment.backoff import RetryGate
from controllers.seinodedeployment.exposure import GroupExposure
from controllers.seinodedeployment.genesis import (
    assembler,
    build_genesis_plan,
    ceremony_due,
    ceremony_retry_delay,
    complete_ceremony,
    detect_genesis,
    is_ceremony_plan,
)
from controllers.seinodedeployment.leftovers import Leftovers
from controllers.seinodedeployment.metrics import CONTROLLER, GroupMetrics, ReconcileErrors
from controllers.seinodedeployment.plans import build_inplace_plan, build_swap_plan
from controllers.seinodedeployment.rollout import (
    Event,
    detect_rollout,
    escalate_stall,
    node_progress,
    seconds_until_stall,
    tracked_nodes,
)
from controllers.seinodedeployment.status import (
    PLAN_IN_PROGRESS,
    ROLLOUT_IN_PROGRESS,
    compute_status,
)
from controllers.sidecar.api import (
    DEFAULT_SIDECAR_PORT,
    SidecarClient,
    SidecarClientFactory,
    SidecarError,
)

log = structlog.get_logger("seinodedeployment")

API_VERSION = "sei.io/v1alpha1"
KIND = "SeiNodeDeployment"
FINALIZER = "sei.io/seinodedeployment-finalizer"
IMMEDIATE = IMMEDIATE_REQUEUE
STEADY_STATE_REQUEUE = 30.0
DEFAULT_STALL_THRESHOLD = 600.0


@dataclass
class GroupDeps:
    client: CachedClient
    recorder: EventRecorder
    sidecars: SidecarClientFactory
    executor: PlanExecutor
    metrics: GroupMetrics
    errors: ReconcileErrors
    now: Callable[[], datetime]
    own_writes: OwnWrites
    platform: Any = None
    stall_threshold: float = DEFAULT_STALL_THRESHOLD


class SeiNodeDeploymentReconciler:
    def __init__(self, deps: GroupDeps) -> None:
        self.d = deps
        self.objects = OwnedKind(deps.client, deps.own_writes, API_VERSION, KIND)
        self.exposure = GroupExposure(deps.client, deps.platform, self._event)
        self.leftovers = Leftovers(deps.client, self._event)
        self.retry_gate = RetryGate()

    # --- observe ---------------------------------------------------------------------------

    async def _children(self, group: SeiNodeDeployment) -> list[Object]:
        listed = await self.d.client.list(
            API_VERSION,
            "SeiNode",
            group.metadata.namespace,
            label_selector=f"{ch.GROUP_LABEL}={group.metadata.name}",
        )
        return ch.owned_children(group, listed.get("items") or [])

    async def _statefulsets(self, names: list[str], namespace: str) -> dict[str, Object]:
        found: dict[str, Object] = {}
        for name in names:
            try:
                found[name] = await self.d.client.get("apps/v1", "StatefulSet", name, namespace)
            except NotFoundError:
                continue
        return found

    # --- act -------------------------------------------------------------------------------

    def _event(self, group: SeiNodeDeployment, event: Event) -> None:
        self.d.recorder.event(event_ref(group), event.type, event.reason, event.message)

    # --- the pass --------------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        base = await self.objects.read(request.namespace, request.name)
        if base is None:
            return Result()
        group = SeiNodeDeployment.from_dict(base)
        if group.metadata.deletion_timestamp is not None:
            await self._finalize(base, group)
            return Result()
        finalizers = list(group.metadata.finalizers or [])
        if FINALIZER not in finalizers:
            base = await self.objects.patch_finalizers(base, [*finalizers, FINALIZER])
            group = SeiNodeDeployment.from_dict(base)
        try:
            return await self._reconcile(base, group)
        except Exception:
            self.d.errors.inc(CONTROLLER, request.namespace or "", request.name)
            raise

    async def _reconcile(self, base: Object, group: SeiNodeDeployment) -> Result:
        now = self.d.now()
        children = await self._children(group)
        # Networking first (4.7 step 5), selecting the serving pods. No DNS gate: the pass
        # never stops before detection (F8).
        revision = gen.service_revision(group, children)
        await self._timed(
            "reconcileNetworking", self.exposure.reconcile_networking(group, revision)
        )
        started = time.monotonic()
        members = gen.serving(group, children)
        names = [c["metadata"]["name"] for c in members if not ch.is_exporter(c)]
        group.status.incumbent_nodes = names or None
        previous = group.status.rollout
        detection = detect_rollout(group, names, ch.current_revision(group, members), now)
        for event in detection.events:
            self._event(group, event)
        # Children this pass deleted (None) or rewrote, which a re-listing from the cache may
        # not show yet.
        written: dict[str, Object | None] = {}
        if detection.started:
            await self.leftovers.prune(group, children, previous, names, written)

        detect_genesis(group)

        requeue = await self._reconcile_plan(group, _overlay(children, written), written)
        children = _overlay(await self._children(group), written)
        members = gen.serving(group, children)
        if gen.service_revision(group, children) != revision:
            # A switch-over (or its end): the Service follows before anything else happens.
            await self._timed(
                "reconcileNetworking",
                self.exposure.reconcile_networking(group, gen.service_revision(group, children)),
            )
        # While a plan runs or a rollout is recorded, children change only through the plan:
        # a template change reaches them in one patch per node, with its release (F12's rule
        # for every strategy: nothing is mutated in place ahead of the plan).
        if not (
            group.status.is_condition_true(PLAN_IN_PROGRESS)
            or group.status.is_condition_true(ROLLOUT_IN_PROGRESS)
        ):
            members = await self._ensure_children(group, members)
        self.d.metrics.substep_duration.labels(CONTROLLER, "reconcileSeiNodes").observe(
            time.monotonic() - started
        )

        if group.status.rollout is not None:
            by_name = {c["metadata"]["name"]: c for c in children}
            targets = tracked_nodes(group)
            stses = await self._statefulsets(targets, group.metadata.namespace or "")
            group.status.rollout.nodes = node_progress(group, by_name, stses) or None
            stalled = escalate_stall(group, self.d.stall_threshold, now)
            if stalled is not None:
                self._event(group, stalled)
            until_stall = seconds_until_stall(group, self.d.stall_threshold, now)
            if until_stall is not None and group.status.condition(ROLLOUT_IN_PROGRESS):
                requeue = min(requeue, until_stall) if requeue else until_stall
        await self._timed("reconcileMonitoring", self.exposure.reconcile_monitoring(group))
        compute_status(group, members)
        await self.objects.write_status(base, group)
        self.d.metrics.record(group)
        return Result(requeue_after=requeue or STEADY_STATE_REQUEUE)

    async def _timed(self, substep: str, step: Awaitable[None]) -> None:
        """Runs a substep, recording its duration (also when it fails)."""
        started = time.monotonic()
        try:
            await step
        finally:
            self.d.metrics.substep_duration.labels(CONTROLLER, substep).observe(
                time.monotonic() - started
            )

    # --- plans (6.5, F7, F11) ----------------------------------------------------------------

    def _context(self, group: SeiNodeDeployment, children: list[Object]) -> TaskContext:
        return TaskContext.for_owner(
            group,
            client=self.d.client,
            sidecar=lambda: self._assembler_sidecar(group, children),
            sidecars=self.d.sidecars,
            platform=self.d.platform,
            now=self.d.now,
            api_reader=self.d.client.direct,
        )

    def _assembler_sidecar(self, group: SeiNodeDeployment, children: list[Object]) -> SidecarClient:
        """The sidecar of the group's assembler node (6.4), for group-level sidecar tasks."""
        node = assembler(children)
        if node is None:
            raise SidecarError(f"no assembler node found for group {group.metadata.name}")
        port = int(((node.get("spec") or {}).get("sidecar") or {}).get("port") or 0)
        return self.d.sidecars(
            node["metadata"]["name"], node["metadata"]["namespace"], port or DEFAULT_SIDECAR_PORT
        )

    async def _reconcile_plan(
        self,
        group: SeiNodeDeployment,
        children: list[Object],
        written: dict[str, Object | None],
    ) -> float:
        """Drives, finalizes or starts the group plan; returns the requeue delay (0: none)."""
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
                step = await self.d.executor.step(plan, context, CONTROLLER)
                self.retry_gate.record(owner, plan, retries, step.requeue_after)
                if plan.phase != TaskPlanPhase.ACTIVE or step.requeue_after != IMMEDIATE:
                    break
                if gen.switched(status.rollout) != was_switched:
                    # Traffic moves to the entrants: persist it and re-point the Service
                    # (this pass) before the next task (teardown) runs (next pass).
                    return IMMEDIATE
            if plan.phase == TaskPlanPhase.ACTIVE:
                return step.requeue_after or 0.0
        if plan is not None and plan.phase == TaskPlanPhase.COMPLETE:
            self._complete_plan(group)
            return IMMEDIATE
        if plan is not None and plan.phase == TaskPlanPhase.FAILED:
            children = _overlay(await self._children(group), written)
            await self.leftovers.detach(group, children, written)
            self._fail_plan(group)
            return IMMEDIATE
        if ceremony_due(group):
            wait = ceremony_retry_delay(group, self.d.now())
            if wait > 0:
                return wait
            self._start_plan(group, build_genesis_plan(group))
            return IMMEDIATE
        if plan is None and status.rollout is not None:
            if status.rollout.strategy == UpdateStrategyType.IN_PLACE:
                self._start_plan(group, build_inplace_plan(group))
            else:
                status.rollout.entrant_nodes = gen.entrant_names(group)
                self._start_plan(group, build_swap_plan(group))
            return IMMEDIATE
        return 0.0

    def _start_plan(self, group: SeiNodeDeployment, plan: TaskPlan) -> None:
        group.status.plan = plan
        group.status.set_condition(
            PLAN_IN_PROGRESS,
            ConditionStatus.TRUE,
            "PlanStarted",
            "Plan execution started",
            group.metadata.generation,
        )
        self._event(group, Event("Normal", "PlanStarted", "Plan execution started"))

    def _complete_plan(self, group: SeiNodeDeployment) -> None:
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
            self._event(
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
        self._event(group, Event("Normal", "PlanComplete", "Plan completed successfully"))
        self.d.executor.metrics.plan_active.labels(
            CONTROLLER, group.metadata.namespace, group.metadata.name
        ).set(0)

    def _fail_plan(self, group: SeiNodeDeployment) -> None:
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
        self._event(group, Event("Warning", "PlanFailed", "Plan failed"))

    # --- children (4.8, 4.9) ------------------------------------------------------------------

    async def _ensure_children(
        self, group: SeiNodeDeployment, children: list[Object]
    ) -> list[Object]:
        """The serving children in line with the template and ``replicas``. The child of an
        ordinal is found by its ordinal label, whatever generation named it (generations.py)."""
        by_ordinal: dict[int, Object] = {}
        for child in children:
            ordinal_label = ch.ordinal_of(child)
            if ordinal_label is not None and not child["metadata"].get("deletionTimestamp"):
                by_ordinal.setdefault(ordinal_label, child)
        revision = ch.current_revision(group, children)
        stem = gen.child_stem(group.metadata.name or "", children)
        # After a failed rollout its template reaches no child outside a new rollout's plan.
        condition = group.status.condition(ROLLOUT_IN_PROGRESS)
        rollout_fields = condition is None or condition.reason != "RolloutFailed"
        result = list(children)
        for ordinal in range(group.spec.replicas):
            child_name = f"{stem}-{ordinal}"
            existing = by_ordinal.get(ordinal)
            if existing is None:
                desired = ch.desired_child(group, ordinal, revision, name=child_name)
                try:
                    created = await self.d.client.create(desired)
                except AlreadyExistsError:
                    continue  # created by an earlier pass; the cache will show it
                except InvalidError as err:
                    # The template holds what the group schema cannot check (labels that are
                    # no labels, a name too long for its children): say so and carry on with
                    # the rest of the pass; the next pass tries again.
                    self._event(group, Event("Warning", "SeiNodeCreateFailed", err.message))
                    continue
                result.append(created)
                self._event(
                    group, Event("Normal", "SeiNodeCreated", f"Created SeiNode {child_name}")
                )
                continue
            patch = ch.child_sync_patch(group, existing, ordinal, rollout_fields=rollout_fields)
            if patch:
                try:
                    updated = await self.d.client.patch(existing, patch, PatchType.MERGE)
                except InvalidError as err:
                    self._event(group, Event("Warning", "SeiNodeUpdateFailed", err.message))
                    continue
                result[result.index(existing)] = updated
        for victim in ch.scale_down_victims(group, result):
            victim_name = victim["metadata"]["name"]
            with contextlib.suppress(NotFoundError):
                await self.d.client.delete(victim)
            result.remove(victim)
            self._event(
                group, Event("Normal", "SeiNodeDeleted", f"Scaled down SeiNode {victim_name}")
            )
        return sorted(result, key=lambda c: c["metadata"]["name"])

    # --- deletion (4.10) ---------------------------------------------------------------------

    async def _finalize(self, base: Object, group: SeiNodeDeployment) -> None:
        finalizers = list(group.metadata.finalizers or [])
        if FINALIZER not in finalizers:
            return
        ns, name = group.metadata.namespace or "", group.metadata.name or ""
        if group.status.phase != SeiNodeDeploymentPhase.TERMINATING:
            group.status.phase = SeiNodeDeploymentPhase.TERMINATING
            base = await self.objects.write_status(base, group)
        if group.spec.deletion_policy.value == "Retain":
            self._event(
                group,
                Event(
                    "Normal", "RetainResources", "Orphaning child SeiNodes and networking resources"
                ),
            )
            for child in await self._children(group):
                await self._orphan(child, group)
            await self.exposure.orphan_networking(group, lambda obj: self._orphan(obj, group))
        else:
            await self.exposure.delete_networking(group)
        self.d.metrics.forget(ns, name)
        self.retry_gate.forget(group.metadata.uid or "")
        self.d.errors.forget(CONTROLLER, ns, name)
        self.d.executor.metrics.delete_plan_active(CONTROLLER, ns, name)
        await self.objects.patch_finalizers(base, [f for f in finalizers if f != FINALIZER])
        self.d.own_writes.forget(base)

    async def _orphan(self, obj: Object, group: SeiNodeDeployment) -> None:
        meta = obj["metadata"]
        refs = [r for r in meta.get("ownerReferences") or () if r.get("uid") != group.metadata.uid]
        body = {
            "metadata": {
                "ownerReferences": refs or None,
                "resourceVersion": meta["resourceVersion"],
            }
        }
        await self.d.client.patch(obj, body, PatchType.MERGE)


def _overlay(children: list[Object], written: dict[str, Object | None]) -> list[Object]:
    """The listed children with this pass's own writes applied (None: deleted)."""
    by_name = {c["metadata"]["name"]: c for c in children}
    for name, obj in written.items():
        if obj is None:
            by_name.pop(name, None)
        elif name in by_name:
            by_name[name] = obj
    return sorted(by_name.values(), key=lambda c: c["metadata"]["name"])
