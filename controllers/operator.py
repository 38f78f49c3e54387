"""The Sei operator on a manager: both controllers, their watches, metrics and sidecar client.

``setup_operator`` is what ``sei-controller run``, the dev mode and the e2e tests call; it adds
nothing to the manager that a user of the runtime could not add.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.v1alpha1 import utc_now
from controller_runtime.controller import (
    EnqueueRequestsFromMapFunc,
    Funcs,
    GenerationChanged,
    Request,
    UpdateEvent,
)
from controller_runtime.controller.builder import Builder
from controller_runtime.manager import Manager
from controller_runtime.manager.own_writes import OwnWrites
from controllers.plan.catalog import seinode_task_registry
from controllers.plan.engine import PlanExecutor, TaskRegistry
from controllers.plan.metrics import plan_metrics
from controllers.platform import Platform
from controllers.seinode.metrics import SeiNodeMetrics
from controllers.seinode.reconciler import SeiNodeDeps, SeiNodeReconciler
from controllers.seinodedeployment.bluegreen_tasks import register_bluegreen_tasks
from controllers.seinodedeployment.children import GROUP_LABEL
from controllers.seinodedeployment.fork import register_fork_tasks
from controllers.seinodedeployment.genesis_tasks import register_genesis_tasks
from controllers.seinodedeployment.hardfork_tasks import register_hardfork_tasks
from controllers.seinodedeployment.inplace_tasks import register_inplace_tasks
from controllers.seinodedeployment.metrics import GroupMetrics, ReconcileErrors
from controllers.seinodedeployment.reconciler import (
    DEFAULT_STALL_THRESHOLD,
    GroupDeps,
    SeiNodeDeploymentReconciler,
)
from controllers.sidecar.api import SidecarClientFactory

API_VERSION = "sei.io/v1alpha1"


@dataclass
class OperatorOptions:
    platform: Platform
    sidecars: SidecarClientFactory
    stall_threshold: float = DEFAULT_STALL_THRESHOLD
    now: Callable[[], datetime] = utc_now


@dataclass
class Operator:
    seinode: SeiNodeReconciler
    group: SeiNodeDeploymentReconciler


def _child_progress_changed(event: UpdateEvent) -> bool:
    """Child updates the group acts on: generation or phase (spec 4.12), and the rolled-out
    image a running rollout waits for. Other status churn (task retries) is filtered out."""
    old, new = event.object_old, event.object_new
    if (old.get("metadata") or {}).get("generation") != (new.get("metadata") or {}).get(
        "generation"
    ):
        return True
    old_status, new_status = old.get("status") or {}, new.get("status") or {}
    return old_status.get("phase") != new_status.get("phase") or old_status.get(
        "currentImage"
    ) != new_status.get("currentImage")


def _group_of(obj: Mapping[str, Any]) -> list[Request]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return []
    group = (meta.get("labels") or {}).get(GROUP_LABEL)
    namespace = meta.get("namespace")
    return [Request(name=group, namespace=namespace)] if group and namespace else []


def group_task_registry() -> TaskRegistry:
    registry = TaskRegistry()
    register_inplace_tasks(registry)
    register_bluegreen_tasks(registry)
    register_hardfork_tasks(registry)
    register_genesis_tasks(registry)
    register_fork_tasks(registry)
    return registry


def setup_operator(mgr: Manager, options: OperatorOptions) -> Operator:
    """Registers the ``seinode`` and ``seinodedeployment`` controllers on ``mgr``."""
    plans = plan_metrics(mgr.registry)
    own_writes = OwnWrites()
    node_reconciler = SeiNodeReconciler(
        SeiNodeDeps(
            client=mgr.client,
            recorder=mgr.get_event_recorder("seinode-controller"),
            platform=options.platform,
            sidecars=options.sidecars,
            executor=PlanExecutor(seinode_task_registry(), plans),
            metrics=SeiNodeMetrics(mgr.registry),
            now=options.now,
            own_writes=own_writes,
        )
    )
    (
        Builder(mgr)
        .for_(API_VERSION, "SeiNode", predicates=[GenerationChanged()])
        .owns("apps/v1", "StatefulSet")
        .owns("batch/v1", "Job")
        .owns("v1", "Service")
        .owns("v1", "PersistentVolumeClaim")
        .complete(node_reconciler)
    )
    group_reconciler = SeiNodeDeploymentReconciler(
        GroupDeps(
            client=mgr.client,
            recorder=mgr.get_event_recorder("seinodedeployment-controller"),
            sidecars=options.sidecars,
            executor=PlanExecutor(group_task_registry(), plans),
            metrics=GroupMetrics(mgr.registry),
            errors=ReconcileErrors(mgr.registry),
            now=options.now,
            own_writes=own_writes,
            platform=options.platform,
            stall_threshold=options.stall_threshold,
        )
    )
    (
        Builder(mgr)
        .for_(API_VERSION, "SeiNodeDeployment", predicates=[GenerationChanged()])
        .owns(API_VERSION, "SeiNode", predicates=[Funcs(update_fn=_child_progress_changed)])
        .owns("v1", "Service")
        # A rollout waits for its nodes' StatefulSets (rolled out, pods Ready): they carry the
        # group label through the node's pod labels.
        .watches("apps/v1", "StatefulSet", EnqueueRequestsFromMapFunc(_group_of))
        .complete(group_reconciler)
    )
    return Operator(seinode=node_reconciler, group=group_reconciler)
