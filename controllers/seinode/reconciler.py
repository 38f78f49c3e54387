"""The SeiNode reconciler (spec 3.7, with decisions F1 and F2): observe, decide, act.

One pass: read the node (cache, or our own newer write), then by phase: build the init plan
(Pending), run one plan step and keep the node's objects applied (Initializing), keep the
objects applied, report the rolled-out image, heal the sidecar and run monitor tasks (Running).

Invariants:
- This controller is the only writer of SeiNode status, and it always computes a status patch
  against the newest status it knows (the cache, or the answer to its own last write, whichever
  is newer). Status patches therefore carry no resourceVersion precondition: they cannot lose a
  concurrent write (there is none) and never draw a 409 from the group controller's spec writes.
- At most one plan task changes persisted state per pass, and every change reaches the API
  server before the pass asks for a requeue: a restart resumes from status alone.
- Metadata writes (finalizer) are optimistic-locked merge patches: other parties edit metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import structlog

from api.v1alpha1 import ConditionStatus, SeiNode, SeiNodePhase, TaskPlanPhase, TaskStatus
from controller_runtime import labels
from controller_runtime.cache import ResourceNotCachedError
from controller_runtime.client import (
    Object,
    Preconditions,
    PropagationPolicy,
)
from controller_runtime.client.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    NotFoundError,
)
from controller_runtime.controller import Request, Result, TerminalError
from controller_runtime.events import EventRecorder
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites
from controllers.objects import OwnedKind, event_ref
from controllers.plan.engine import PlanExecutor, TaskContext
from controllers.platform import Platform
from controllers.seinode import planners, render
from controllers.seinode.metrics import SeiNodeMetrics
from controllers.seinode.node import sidecar_port
from controllers.seinode.peers import label_sources, resolve_peers
from controllers.seinode.running import RunningNode
from controllers.seinode.status import (
    FINALIZER,
    REASON_TASK_STALLED,
    Transition,
    blocks_rollout,
    note_stall,
    phase_of,
    transition,
)
from controllers.sidecar.api import SidecarClient, SidecarClientFactory

log = structlog.get_logger("seinode")

API_VERSION = "sei.io/v1alpha1"
KIND = "SeiNode"
CONTROLLER_NAME = "seinode"
FIELD_MANAGER = "seinode-controller"
IMMEDIATE = 0.001
STEADY_STATE_REQUEUE = 30.0
SPEC_VALID = "SpecValid"
REASON_INVALID_SPEC = "InvalidSpec"


@dataclass
class SeiNodeDeps:
    """Everything the reconciler talks to; built once by :func:`controllers.seinode.setup`."""

    client: CachedClient
    recorder: EventRecorder
    platform: Platform
    sidecars: SidecarClientFactory
    executor: PlanExecutor
    metrics: SeiNodeMetrics
    now: Callable[[], datetime]
    own_writes: OwnWrites


class _NodeResources:
    """The rendered bootstrap objects the plan's controller tasks create."""

    def __init__(self, node: SeiNode, platform: Platform) -> None:
        self._node, self._platform = node, platform

    def bootstrap_job(self) -> dict[str, Any]:
        return render.render_bootstrap_job(self._node, self._platform)

    def bootstrap_service(self) -> dict[str, Any]:
        return render.render_bootstrap_service(self._node, self._platform)


class SeiNodeReconciler:
    def __init__(self, deps: SeiNodeDeps) -> None:
        self.d = deps
        self.objects = OwnedKind(deps.client, deps.own_writes, API_VERSION, KIND)

    # --- observe ---------------------------------------------------------------------------

    def sidecar_for(self, node: SeiNode) -> SidecarClient:
        meta = node.metadata
        return self.d.sidecars(meta.name or "", meta.namespace or "", sidecar_port(node))

    # --- act: writes -----------------------------------------------------------------------

    async def write_status(self, base: Object, node: SeiNode) -> Object:
        """Persists every status change of ``node`` relative to ``base``; returns the new base."""
        return await self.objects.write_status(base, node)

    def event(self, node: SeiNode, event_type: str, reason: str, message: str) -> None:
        self.d.recorder.event(event_ref(node), event_type, reason, message)

    def record_transition(self, node: SeiNode, change: Transition) -> None:
        ns, name = node.metadata.namespace or "", node.metadata.name or ""
        self.d.metrics.phase_transitions.labels(
            ns, change.from_phase.value, change.to_phase.value
        ).inc()
        self.d.metrics.set_phase(ns, name, change.to_phase.value)
        self.d.recorder.event(event_ref(node), "Normal", "PhaseTransition", change.message)
        if change.to_phase == SeiNodePhase.RUNNING and node.metadata.creation_timestamp:
            seconds = (self.d.now() - node.metadata.creation_timestamp).total_seconds()
            self.d.metrics.init_duration.labels(ns, node.spec.chain_id).observe(seconds)
            self.d.metrics.last_init_duration.labels(ns, name).set(seconds)

    async def apply_workload(self, base: Object, node: SeiNode) -> Object:
        """Server-side applies the StatefulSet and headless Service; returns the StatefulSet as
        the API server has it after our apply (fresh, as F1 requires). ``base`` is the node as
        last written, for the condition of a rejected child."""
        platform = self.d.platform
        statefulset = await self._apply_child(base, node, render.render_statefulset(node, platform))
        await self._apply_child(base, node, render.render_headless_service(node, platform))
        await self._unblock_rollout(node, statefulset)
        return statefulset

    async def _apply_child(self, base: Object, node: SeiNode, child: Object) -> Object:
        try:
            return await self.d.client.apply(child, field_manager=FIELD_MANAGER, force=True)
        except InvalidError as err:
            await self._reject_child(base, node, err)

    async def _reject_child(self, base: Object, node: SeiNode, err: InvalidError) -> NoReturn:
        """A child rendered from an accepted spec that the API server refuses (422): values
        the SeiNode schema cannot check, e.g. podLabels that are no labels, sidecar requests
        above its limits. The same spec renders the same child: only a spec change can help."""
        await self._reject_spec(base, node, f"the API server rejects a child: {err.message}")

    async def _unblock_rollout(self, node: SeiNode, statefulset: Object) -> None:
        """Deletes the node's pod when it blocks its StatefulSet's roll (see blocks_rollout);
        the pod is read fresh, and only while the StatefulSet is rolling: a pod can only block
        a roll from an old revision, and while the update revision is the current one every
        pod is on it (a pod still coming up on a new node is no roll; reading it on every pass
        was half the API requests of bringing up a fleet)."""
        meta, status = statefulset.get("metadata") or {}, statefulset.get("status") or {}
        if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
            return  # the update revision is not known yet (blocks_rollout says no anyway)
        if status.get("updateRevision") in (None, status.get("currentRevision")):
            return
        pod_name = f"{node.metadata.name}-0"
        try:
            pod = await self.d.client.direct.get("v1", "Pod", pod_name, node.metadata.namespace)
        except NotFoundError:
            return
        if not blocks_rollout(statefulset, pod):
            return
        uid = pod["metadata"].get("uid")
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.d.client.delete(pod, preconditions=Preconditions(uid=uid))
            self.event(
                node,
                "Normal",
                "StuckPodDeleted",
                f"Deleted pod {pod_name}: not Ready on an old revision, it blocked the rollout",
            )

    # --- the pass --------------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        base = await self.objects.read(request.namespace, request.name)
        if base is None:
            # Gone. A node held by another party's finalizer after ours was removed still gets
            # passes (its children's events), and each refreshes its phase gauge: forget the
            # series again now, or they outlive the node; likewise our last write of it.
            self._forget_metrics(ns, name)
            key = {"apiVersion": API_VERSION, "kind": KIND}
            self.d.own_writes.forget({**key, "metadata": {"name": name, "namespace": ns}})
            return Result()
        node = SeiNode.from_dict(base)
        if node.status.phase:
            self.d.metrics.set_phase(ns, name, node.status.phase.value)
        if node.metadata.deletion_timestamp is not None:
            await self._finalize(base, node)
            return Result()
        finalizers = list(node.metadata.finalizers or [])
        if FINALIZER not in finalizers:
            base = await self.objects.patch_finalizers(base, [*finalizers, FINALIZER])
            node = SeiNode.from_dict(base)

        base = await self._check_spec(base, node)
        node = SeiNode.from_dict(base)
        base = await self._reconcile_peers(base, node)
        node = SeiNode.from_dict(base)
        await self._ensure_pvc(base, node)

        phase = phase_of(node)
        if phase == SeiNodePhase.PENDING:
            return await self._reconcile_pending(base, node)
        if phase == SeiNodePhase.INITIALIZING:
            return await self._reconcile_initializing(base, node)
        if phase == SeiNodePhase.RUNNING:
            return await RunningNode(self, base, node).reconcile()
        if phase == SeiNodePhase.FAILED:
            self.d.recorder.event(
                event_ref(node),
                "Warning",
                "NodeFailed",
                "SeiNode is in Failed state. Delete and recreate the resource to retry.",
            )
        return Result()

    async def _check_spec(self, base: Object, node: SeiNode) -> Object:
        """Planner validation (3.9). The schema accepts these nodes but no plan can be built:
        say so in a condition and a Warning event and stop retrying until the spec changes
        (TerminalError: the generation bump of a fix enqueues the node again)."""
        try:
            planners.validate(node)
        except planners.PlannerError as err:
            await self._reject_spec(base, node, str(err))
        found = node.status.condition(SPEC_VALID)
        # A rejection of this very generation that the planner did not make (a child the API
        # server refused, a peer namespace out of scope) stands: only a spec change, which
        # bumps the generation, can lift it. Clearing it here would let every pass clear and
        # set it again, one status write and Warning event each.
        if found is not None and found.observed_generation != node.metadata.generation:
            node.status.conditions = [
                c for c in node.status.conditions or () if c.type != SPEC_VALID
            ] or None
            return await self.write_status(base, node)
        return base

    async def _reject_spec(self, base: Object, node: SeiNode, message: str) -> NoReturn:
        """Says in a condition and a Warning event why no pass can get this node further, and
        raises TerminalError: no retries until the spec changes (its generation bump enqueues
        the node again)."""
        changed = node.status.set_condition(
            SPEC_VALID,
            ConditionStatus.FALSE,
            REASON_INVALID_SPEC,
            message,
            node.metadata.generation,
        )
        if changed:
            await self.write_status(base, node)
        self.d.recorder.event(event_ref(node), "Warning", REASON_INVALID_SPEC, message)
        raise TerminalError(message)

    async def _reconcile_peers(self, base: Object, node: SeiNode) -> Object:
        sources = label_sources(node)
        if not sources:
            return base
        matches: list[Object] = []
        for selector, namespace in sources:
            try:
                # The selector as an object, never as text: a value the label syntax cannot
                # carry (any string is valid in the spec) must match exactly, not be parsed.
                listed = await self.d.client.list(
                    API_VERSION, KIND, namespace, label_selector=labels.from_labels(selector)
                )
            except ResourceNotCachedError:
                # A namespace-scoped operator cannot see SeiNodes elsewhere; no retry can.
                await self._reject_spec(
                    base,
                    node,
                    f"label peer source namespace {namespace!r} is outside the namespaces"
                    " this operator watches",
                )
            matches.extend(listed.get("items") or [])
        resolved = resolve_peers(node, matches)
        if resolved == (node.status.resolved_peers or []):
            return base
        node.status.resolved_peers = resolved
        return await self.write_status(base, node)

    async def _ensure_pvc(self, base: Object, node: SeiNode) -> None:
        pvc = render.render_pvc(node, self.d.platform)
        try:
            await self.d.client.get(
                "v1", "PersistentVolumeClaim", pvc["metadata"]["name"], node.metadata.namespace
            )
        except NotFoundError:
            try:
                await self.d.client.create(pvc)
            except AlreadyExistsError:
                pass
            except InvalidError as err:
                await self._reject_child(base, node, err)

    async def _reconcile_pending(self, base: Object, node: SeiNode) -> Result:
        node.status.plan = planners.build_node_plan(node)
        change = transition(node, SeiNodePhase.INITIALIZING)
        await self.write_status(base, node)
        if change.from_phase != change.to_phase:  # not when an Initializing node lost its plan
            self.record_transition(node, change)
        return Result(requeue_after=IMMEDIATE)

    def task_context(self, node: SeiNode) -> TaskContext:
        return TaskContext.for_owner(
            node,
            client=self.d.client,
            sidecar=lambda: self.sidecar_for(node),
            resources=_NodeResources(node, self.d.platform),
            platform=self.d.platform,
            now=self.d.now,
            api_reader=self.d.client.direct,
        )

    async def _reconcile_initializing(self, base: Object, node: SeiNode) -> Result:
        plan = node.status.plan
        if plan is None:  # an Initializing node always has its plan; rebuild if it was lost
            return await self._reconcile_pending(base, node)
        if not render.needs_bootstrap(node) or _bootstrap_done(node):
            await self.apply_workload(base, node)
        step = await self.d.executor.step(plan, self.task_context(node), CONTROLLER_NAME)
        stall_changed = note_stall(node, step.stalled)
        if stall_changed and step.stalled is not None:
            self.event(node, "Warning", REASON_TASK_STALLED, step.stalled)
        changes: list[Transition] = []
        if plan.phase == TaskPlanPhase.COMPLETE:
            changes.append(transition(node, SeiNodePhase.RUNNING))
        elif plan.phase == TaskPlanPhase.FAILED:
            changes.append(transition(node, SeiNodePhase.FAILED))
        if step.persist or changes or stall_changed:
            await self.write_status(base, node)
        for change in changes:
            self.record_transition(node, change)
        if changes:
            return Result(requeue_after=IMMEDIATE)
        return Result(requeue_after=step.requeue_after or 0.0)

    async def _finalize(self, base: Object, node: SeiNode) -> None:
        finalizers = list(node.metadata.finalizers or [])
        if FINALIZER not in finalizers:
            return
        ns, name = node.metadata.namespace or "", node.metadata.name or ""
        if node.status.phase != SeiNodePhase.TERMINATING:
            node.status.phase = SeiNodePhase.TERMINATING
            base = await self.write_status(base, node)
        pvc = render.render_pvc(node, self.d.platform)
        with contextlib.suppress(NotFoundError):
            await self.d.client.delete(pvc, propagation_policy=PropagationPolicy.BACKGROUND)
        self._forget_metrics(ns, name)
        remaining = [f for f in finalizers if f != FINALIZER]
        written = await self.objects.patch_finalizers(base, remaining)
        if not remaining:
            # Gone with this write. While another finalizer holds the node, the written copy
            # stays the newest we know: the next pass must not build on an older cached one.
            self.d.own_writes.forget(written)

    def _forget_metrics(self, namespace: str, name: str) -> None:
        """Deletes the per-node metric series (spec 3.8); absent series are fine."""
        self.d.metrics.forget_node(namespace, name)
        self.d.executor.metrics.delete_plan_active(CONTROLLER_NAME, namespace, name)


def _bootstrap_done(node: SeiNode) -> bool:
    plan = node.status.plan
    teardown = [t for t in (plan.tasks if plan else []) if t.type == "teardown-bootstrap"]
    return not teardown or teardown[0].status == TaskStatus.COMPLETE
