"""Group plans built by the SeiNodeDeployment controller (spec 6.6)."""

from __future__ import annotations

from api.v1alpha1 import (
    SeiNodeDeployment,
    TaskPlan,
    UpdateStrategyType,
)
from controllers.plan.build import planned
from controllers.plan.ids import new_plan_id
from controllers.plan.params import TaskParams
from controllers.seinodedeployment.bluegreen_tasks import (
    AWAIT_NODES_CAUGHT_UP,
    CREATE_ENTRANT_NODES,
    SWITCH_TRAFFIC,
    TEARDOWN_NODES,
    CreateEntrantNodesParams,
    SwitchTrafficParams,
)
from controllers.seinodedeployment.generations import entrant_names
from controllers.seinodedeployment.hardfork_tasks import (
    AWAIT_NODES_AT_HEIGHT,
    SUBMIT_HALT_SIGNAL,
    AwaitNodesAtHeightParams,
    SubmitHaltSignalParams,
)
from controllers.seinodedeployment.inplace_tasks import (
    AWAIT_SPEC_UPDATE,
    MARK_NODES_READY,
    UPDATE_NODE_SPECS,
    AwaitNodesParams,
    UpdateNodeSpecsParams,
)
from controllers.seinodedeployment.node_tasks import AWAIT_NODES_RUNNING, AwaitNodesRunningParams


def build_inplace_plan(group: SeiNodeDeployment, plan_id: str | None = None) -> TaskPlan:
    """``update-node-specs`` -> ``await-spec-update`` -> ``mark-nodes-ready`` over the
    rollout's target nodes (the group's real children at detection, F9)."""
    rollout = group.status.rollout
    nodes = list(rollout.incumbent_nodes or []) if rollout is not None else []
    namespace, name = group.metadata.namespace or "", group.metadata.name or ""
    plan_id = plan_id or new_plan_id()
    steps: list[tuple[str, TaskParams]] = [
        (
            UPDATE_NODE_SPECS,
            UpdateNodeSpecsParams(group_name=name, namespace=namespace, node_names=nodes or None),
        ),
        (AWAIT_SPEC_UPDATE, AwaitNodesParams(namespace=namespace, node_names=nodes or None)),
        (MARK_NODES_READY, AwaitNodesParams(namespace=namespace, node_names=nodes or None)),
    ]
    return planned(plan_id, steps)


def build_swap_plan(group: SeiNodeDeployment, plan_id: str | None = None) -> TaskPlan:
    """The BlueGreen plan, or the HardFork plan when the rollout's strategy is HardFork (spec
    6.6): entrants ``<group>-g<generation>-<i>`` are created and awaited, traffic switches to
    them, the incumbents (the serving children at detection) are torn down."""
    rollout = group.status.rollout
    incumbents = list(rollout.incumbent_nodes or []) if rollout is not None else []
    entrants = entrant_names(group)
    namespace, name = group.metadata.namespace or "", group.metadata.name or ""
    revision = str(group.metadata.generation or 0)
    steps: list[tuple[str, TaskParams]] = [
        (
            CREATE_ENTRANT_NODES,
            CreateEntrantNodesParams(
                group_name=name,
                namespace=namespace,
                entrant_revision=revision,
                node_names=entrants or None,
            ),
        ),
        (
            AWAIT_NODES_RUNNING,
            AwaitNodesRunningParams(
                group_name=name,
                namespace=namespace,
                expected=len(entrants),
                node_names=entrants or None,
            ),
        ),
    ]
    hard_fork = rollout is not None and rollout.strategy == UpdateStrategyType.HARD_FORK
    if hard_fork:
        strategy = group.spec.update_strategy
        height = strategy.hard_fork.halt_height if strategy and strategy.hard_fork else 0
        steps += [
            (
                SUBMIT_HALT_SIGNAL,
                SubmitHaltSignalParams(
                    namespace=namespace, node_names=incumbents or None, halt_height=height
                ),
            ),
            (
                AWAIT_NODES_AT_HEIGHT,
                AwaitNodesAtHeightParams(
                    namespace=namespace, node_names=entrants or None, target_height=height
                ),
            ),
        ]
    else:
        steps.append(
            (
                AWAIT_NODES_CAUGHT_UP,
                AwaitNodesParams(namespace=namespace, node_names=entrants or None),
            )
        )
    steps += [
        (
            SWITCH_TRAFFIC,
            SwitchTrafficParams(group_name=name, namespace=namespace, entrant_revision=revision),
        ),
        (TEARDOWN_NODES, AwaitNodesParams(namespace=namespace, node_names=incumbents or None)),
    ]
    return planned(plan_id or new_plan_id(), steps)
