"""The SeiNodeDeployment reconciler (spec 4.7, 6.5, 8; decisions F3-F12, F16, D1, D2).

One pass: read the group (cache, or our own newer write) and its real children; point the
networking at the serving children; detect a rollout (and a genesis/fork ceremony) before
anything touches a child, so a template change is never pushed outside its plan; start, drive
or finalize the group plan (plan_lifecycle.py); keep children in line with the template and
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
- Children the pass itself deleted or rewrote (``written``) are seen as written for the rest
  of the pass (children.overlay), whatever the cache shows: a node deleted or detached by this
  pass is never taken for a serving one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.v1alpha1 import SeiNodeDeployment, SeiNodeDeploymentPhase
from controller_runtime.client import Object, PatchType
from controller_runtime.client.errors import AlreadyExistsError, InvalidError, NotFoundError
from controller_runtime.controller import Request, Result
from controller_runtime.events import EventRecorder
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites
from controllers.objects import OwnedKind, event_ref
from controllers.plan.engine import PlanExecutor
from controllers.seinodedeployment import children as ch
from controllers.seinodedeployment import generations as gen
from controllers.seinodedeployment.exposure import GroupExposure
from controllers.seinodedeployment.genesis import detect_genesis
from controllers.seinodedeployment.leftovers import Leftovers
from controllers.seinodedeployment.metrics import CONTROLLER, GroupMetrics, ReconcileErrors
from controllers.seinodedeployment.plan_lifecycle import PlanLifecycle
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
from controllers.sidecar.api import SidecarClientFactory

API_VERSION = "sei.io/v1alpha1"
KIND = "SeiNodeDeployment"
FINALIZER = "sei.io/seinodedeployment-finalizer"
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
        self.plans = PlanLifecycle(
            client=deps.client,
            sidecars=deps.sidecars,
            executor=deps.executor,
            platform=deps.platform,
            now=deps.now,
            emit=self._event,
            leftovers=self.leftovers,
            list_children=self._children,
        )

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

        requeue = await self.plans.reconcile(group, ch.overlay(children, written), written)
        children = ch.overlay(await self._children(group), written)
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
        self.plans.forget(group)
        self.d.errors.forget(CONTROLLER, ns, name)
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
