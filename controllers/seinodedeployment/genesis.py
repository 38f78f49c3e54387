"""Genesis ceremonies of a group (spec 4.5, 6.5, 6.6, 12.1, 12.2): detection, the group plan,
completion, and the assembler node.

A group with ``spec.genesis`` creates its validators with ``validator.genesisCeremony``; each
validator's own plan generates its identity and gentx and uploads them, then waits (retrying
``configure-genesis``) for the assembled genesis. Once every validator exists the group runs
the ceremony plan: [fork: export the source chain's state], assemble the genesis on the
assembler's sidecar, peer every validator with every other, and wait until all are Running.

Invariants:
- The Needed conditions change only while no plan runs, and never after the ceremony completed
  (``GenesisCeremonyComplete`` True is final).
- A ceremony plan is started only when no plan exists and every replica is a child (the
  assembly must see every validator's gentx). A failed ceremony leaves Needed True, so a fresh
  plan (new task ids) is started: the ceremony is retried indefinitely, as in the reference, but
  not before CEREMONY_RETRY_DELAY has passed since the failure (the reference restarts at once,
  which turns a validator stuck in Failed into a loop of plans and status writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from api.v1alpha1 import (
    ConditionStatus,
    SeiNodeDeployment,
    TaskPlan,
)
from controllers.plan.build import planned
from controllers.plan.ids import new_plan_id
from controllers.plan.params import (
    AssembleAndUploadGenesisParams,
    AssembleGenesisForkParams,
    GenesisNodeParam,
    TaskParams,
)
from controllers.seinodedeployment.fork import (
    AWAIT_EXPORTER_RUNNING,
    CREATE_EXPORTER,
    SUBMIT_EXPORT_STATE,
    TEARDOWN_EXPORTER,
    CreateExporterParams,
    ExporterParams,
    SubmitExportStateParams,
    exporter_name,
)
from controllers.seinodedeployment.genesis_tasks import (
    COLLECT_AND_SET_PEERS,
    CollectAndSetPeersParams,
)
from controllers.seinodedeployment.node_tasks import AWAIT_NODES_RUNNING, AwaitNodesRunningParams
from controllers.seinodedeployment.status import PLAN_IN_PROGRESS

__all__ = [
    "ASSEMBLE_AND_UPLOAD_GENESIS",
    "ASSEMBLE_GENESIS_FORK",
    "ASSEMBLY_MAX_RETRIES",
    "CEREMONY_RETRY_DELAY",
    "FORK_GENESIS_CEREMONY_NEEDED",
    "GENESIS_CEREMONY_COMPLETE",
    "GENESIS_CEREMONY_NEEDED",
    "assembler",
    "build_genesis_plan",
    "ceremony_due",
    "ceremony_retry_delay",
    "complete_ceremony",
    "detect_genesis",
    "is_ceremony_plan",
]

GENESIS_CEREMONY_NEEDED: Final = "GenesisCeremonyNeeded"
FORK_GENESIS_CEREMONY_NEEDED: Final = "ForkGenesisCeremonyNeeded"
GENESIS_CEREMONY_COMPLETE: Final = "GenesisCeremonyComplete"
ASSEMBLE_AND_UPLOAD_GENESIS: Final = "assemble-and-upload-genesis"
ASSEMBLE_GENESIS_FORK: Final = "assemble-genesis-fork"
# The assembly waits for every validator's gentx upload; its retries back off up to 30 s.
ASSEMBLY_MAX_RETRIES: Final = 180
# Seconds between a failed ceremony plan and the next one.
CEREMONY_RETRY_DELAY: Final = 30.0

Object = dict[str, Any]


def detect_genesis(group: SeiNodeDeployment) -> None:
    """Genesis detection (12.1 step 1), in memory."""
    status, genesis = group.status, group.spec.genesis
    if genesis is None or status.is_condition_true(GENESIS_CEREMONY_COMPLETE):
        status.remove_condition(GENESIS_CEREMONY_NEEDED)
        status.remove_condition(FORK_GENESIS_CEREMONY_NEEDED)
        return
    if status.is_condition_true(PLAN_IN_PROGRESS):
        return
    generation = group.metadata.generation
    if genesis.fork is not None:
        status.remove_condition(GENESIS_CEREMONY_NEEDED)
        status.set_condition(
            FORK_GENESIS_CEREMONY_NEEDED,
            ConditionStatus.TRUE,
            "ForkConfigured",
            f"Fork genesis from {genesis.fork.source_chain_id}",
            generation,
        )
    else:
        status.remove_condition(FORK_GENESIS_CEREMONY_NEEDED)
        status.set_condition(
            GENESIS_CEREMONY_NEEDED,
            ConditionStatus.TRUE,
            "GenesisConfigured",
            "Genesis ceremony configured",
            generation,
        )


def ceremony_due(group: SeiNodeDeployment) -> bool:
    """ForGroup case a (6.5): genesis configured and needed, no plan, every replica a child.
    It comes before a recorded rollout: a rollout of validators that have no genesis yet
    could not complete, so the rollout is planned after the ceremony."""
    status = group.status
    needed = status.is_condition_true(GENESIS_CEREMONY_NEEDED) or status.is_condition_true(
        FORK_GENESIS_CEREMONY_NEEDED
    )
    return (
        group.spec.genesis is not None
        and status.plan is None
        and needed
        and len(status.incumbent_nodes or ()) >= group.spec.replicas
    )


def ceremony_retry_delay(group: SeiNodeDeployment, now: datetime) -> float:
    """Seconds to wait before starting a ceremony plan after the last plan failed (0: go)."""
    last = group.status.condition(PLAN_IN_PROGRESS)
    if last is None or last.reason != "PlanFailed" or last.last_transition_time is None:
        return 0.0
    waited = (now - last.last_transition_time).total_seconds()
    # Clamped: a clock behind the condition's time never delays more than one interval.
    return min(max(CEREMONY_RETRY_DELAY - waited, 0.0), CEREMONY_RETRY_DELAY)


def is_ceremony_plan(plan: TaskPlan | None) -> bool:
    """A plan built by :func:`build_genesis_plan` (told by its assembly task, so that a
    rollout recorded while the ceremony ran does not make it a deployment plan)."""
    return plan is not None and any(
        t.type in (ASSEMBLE_AND_UPLOAD_GENESIS, ASSEMBLE_GENESIS_FORK) for t in plan.tasks
    )


def complete_ceremony(group: SeiNodeDeployment) -> None:
    """completePlan of a non-deployment plan of a genesis group (6.5 step 4). The Needed
    conditions go in the same write (the reference leaves them to the next detection, so a
    reader could see a ceremony both needed and complete)."""
    if group.spec.genesis is None:
        return
    group.status.remove_condition(GENESIS_CEREMONY_NEEDED)
    group.status.remove_condition(FORK_GENESIS_CEREMONY_NEEDED)
    group.status.set_condition(
        GENESIS_CEREMONY_COMPLETE,
        ConditionStatus.TRUE,
        "CeremonyComplete",
        "Genesis ceremony completed",
        group.metadata.generation,
    )


def build_genesis_plan(group: SeiNodeDeployment, plan_id: str | None = None) -> TaskPlan:
    """The ceremony plan of 6.6 over ``status.incumbentNodes``: 3 tasks, or 7 with the fork
    prefix (fork configured and ``ForkGenesisCeremonyNeeded`` True)."""
    genesis = group.spec.genesis
    if genesis is None:
        raise ValueError(f"group {group.metadata.name} has no genesis configuration")
    namespace, name = group.metadata.namespace or "", group.metadata.name or ""
    nodes = list(group.status.incumbent_nodes or ())
    node_params = [GenesisNodeParam(name=n) for n in nodes] or None
    fork = genesis.fork
    forking = fork is not None and group.status.is_condition_true(FORK_GENESIS_CEREMONY_NEEDED)
    steps: list[tuple[str, TaskParams, int]] = []
    if forking:
        assert fork is not None
        exporter = exporter_name(name)
        steps += [
            (
                CREATE_EXPORTER,
                CreateExporterParams(
                    group_name=name,
                    exporter_name=exporter,
                    namespace=namespace,
                    source_chain_id=fork.source_chain_id,
                    source_image=fork.source_image,
                    export_height=fork.export_height,
                ),
                0,
            ),
            (
                AWAIT_EXPORTER_RUNNING,
                ExporterParams(exporter_name=exporter, namespace=namespace),
                0,
            ),
            (
                SUBMIT_EXPORT_STATE,
                SubmitExportStateParams(
                    exporter_name=exporter,
                    namespace=namespace,
                    export_height=fork.export_height,
                    source_chain_id=fork.source_chain_id,
                ),
                0,
            ),
            (TEARDOWN_EXPORTER, ExporterParams(exporter_name=exporter, namespace=namespace), 0),
            (
                ASSEMBLE_GENESIS_FORK,
                AssembleGenesisForkParams(
                    source_chain_id=fork.source_chain_id,
                    chain_id=genesis.chain_id,
                    account_balance=genesis.account_balance,
                    namespace=namespace,
                    nodes=node_params,
                ),
                ASSEMBLY_MAX_RETRIES,
            ),
        ]
    else:
        steps.append(
            (
                ASSEMBLE_AND_UPLOAD_GENESIS,
                AssembleAndUploadGenesisParams(
                    account_balance=genesis.account_balance, namespace=namespace, nodes=node_params
                ),
                ASSEMBLY_MAX_RETRIES,
            )
        )
    steps += [
        (
            COLLECT_AND_SET_PEERS,
            CollectAndSetPeersParams(
                group_name=name, namespace=namespace, node_names=nodes or None
            ),
            0,
        ),
        (
            AWAIT_NODES_RUNNING,
            AwaitNodesRunningParams(
                group_name=name, namespace=namespace, expected=len(nodes), node_names=nodes or None
            ),
            0,
        ),
    ]
    plan_id = plan_id or new_plan_id()
    return planned(plan_id, steps)


def assembler(children: Sequence[Object]) -> Object | None:
    """The assembler node (6.4): the group's first child by name, the exporter included (it
    never sorts first: ``<group>-<digit>`` < ``<group>-exporter``)."""
    ordered = sorted(children, key=lambda c: c["metadata"]["name"])
    return ordered[0] if ordered else None
