"""Group plans built by the SeiNodeDeployment controller (spec 6.6)."""

from __future__ import annotations

from api.v1alpha1 import PlannedTask, SeiNodeDeployment, TaskPlan, TaskPlanPhase, TaskStatus
from controllers.plan.ids import new_plan_id, task_id
from controllers.seinodedeployment.inplace_tasks import (
    AWAIT_SPEC_UPDATE,
    MARK_NODES_READY,
    UPDATE_NODE_SPECS,
    AwaitNodesParams,
    UpdateNodeSpecsParams,
)


def build_inplace_plan(group: SeiNodeDeployment, plan_id: str | None = None) -> TaskPlan:
    """``update-node-specs`` -> ``await-spec-update`` -> ``mark-nodes-ready`` over the
    rollout's target nodes (the group's real children at detection, F9)."""
    rollout = group.status.rollout
    nodes = list(rollout.incumbent_nodes or []) if rollout is not None else []
    namespace, name = group.metadata.namespace or "", group.metadata.name or ""
    plan_id = plan_id or new_plan_id()
    steps = [
        (
            UPDATE_NODE_SPECS,
            UpdateNodeSpecsParams(group_name=name, namespace=namespace, node_names=nodes or None),
        ),
        (AWAIT_SPEC_UPDATE, AwaitNodesParams(namespace=namespace, node_names=nodes or None)),
        (MARK_NODES_READY, AwaitNodesParams(namespace=namespace, node_names=nodes or None)),
    ]
    return TaskPlan(
        id=plan_id,
        phase=TaskPlanPhase.ACTIVE,
        tasks=[
            PlannedTask(
                type=task_type,
                id=task_id(plan_id, task_type, index),
                status=TaskStatus.PENDING,
                params=params.stored(),
            )
            for index, (task_type, params) in enumerate(steps)
        ],
    )
