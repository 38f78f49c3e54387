"""Pure rules of SeiNodeDeployment status: group phase (spec 4.4), NodesReady (4.5), and the
status computation of 4.7 (decisions F3: computed from the real children)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.v1alpha1 import (
    ConditionStatus,
    GroupNodeStatus,
    SeiNodeDeployment,
    SeiNodeDeploymentPhase,
    SeiNodePhase,
)
from api.v1alpha1.template_hash import template_hash

PLAN_IN_PROGRESS = "PlanInProgress"
ROLLOUT_IN_PROGRESS = "RolloutInProgress"
NODES_READY = "NodesReady"

Object = dict[str, Any]


def node_phase(node: Object) -> str:
    return str((node.get("status") or {}).get("phase") or "")


def _phase_or_none(node: Object) -> SeiNodePhase | None:
    phase = node_phase(node)
    return SeiNodePhase(phase) if phase else None


def group_phase(group: SeiNodeDeployment, nodes: Sequence[Object]) -> SeiNodeDeploymentPhase:
    """computeGroupPhase, rules in order."""
    status = group.status
    if status.is_condition_true(ROLLOUT_IN_PROGRESS):
        return SeiNodeDeploymentPhase.UPGRADING
    if status.is_condition_true(PLAN_IN_PROGRESS):
        if status.rollout is not None:
            return SeiNodeDeploymentPhase.UPGRADING
        return SeiNodeDeploymentPhase.INITIALIZING
    if not nodes:
        return SeiNodeDeploymentPhase.PENDING
    ready = sum(1 for n in nodes if node_phase(n) == SeiNodePhase.RUNNING)
    if ready == group.spec.replicas:
        return SeiNodeDeploymentPhase.READY
    failed = sum(1 for n in nodes if node_phase(n) == SeiNodePhase.FAILED)
    if failed > 0:
        if failed == len(nodes):
            return SeiNodeDeploymentPhase.FAILED
        if ready > 0:
            return SeiNodeDeploymentPhase.DEGRADED
    return SeiNodeDeploymentPhase.INITIALIZING


def set_nodes_ready(group: SeiNodeDeployment, nodes: Sequence[Object]) -> None:
    ready = sum(1 for n in nodes if node_phase(n) == SeiNodePhase.RUNNING)
    desired = group.spec.replicas
    failed = sum(1 for n in nodes if node_phase(n) == SeiNodePhase.FAILED)
    initializing = sum(
        1 for n in nodes if node_phase(n) in (SeiNodePhase.PENDING, SeiNodePhase.INITIALIZING)
    )
    generation = group.metadata.generation
    if ready >= desired:
        group.status.set_condition(
            NODES_READY,
            ConditionStatus.TRUE,
            "AllNodesReady",
            f"{ready}/{desired} nodes ready",
            generation,
        )
    elif failed:
        group.status.set_condition(
            NODES_READY,
            ConditionStatus.FALSE,
            "NodesFailed",
            f"{ready}/{desired} nodes ready ({failed} failed, {initializing} initializing)",
            generation,
        )
    else:
        group.status.set_condition(
            NODES_READY,
            ConditionStatus.FALSE,
            "NodesInitializing",
            f"{ready}/{desired} nodes ready ({initializing} initializing)",
            generation,
        )


def compute_status(group: SeiNodeDeployment, nodes: Sequence[Object]) -> None:
    """The status computation of 4.7, in memory. ``nodes``: the group's real children (F3),
    exporter included. observedGeneration and templateHash advance only while neither a plan
    nor a rollout is in progress, so a detected rollout is never lost."""
    status = group.status
    status.ready_replicas = sum(1 for n in nodes if node_phase(n) == SeiNodePhase.RUNNING)
    status.nodes = [
        GroupNodeStatus(name=n["metadata"]["name"], phase=_phase_or_none(n)) for n in nodes
    ] or None
    if not (
        status.is_condition_true(PLAN_IN_PROGRESS) or status.is_condition_true(ROLLOUT_IN_PROGRESS)
    ):
        status.observed_generation = group.metadata.generation
        status.template_hash = template_hash(group.spec.template.spec)
    status.replicas = group.spec.replicas
    status.phase = group_phase(group, nodes)
    set_nodes_ready(group, nodes)
