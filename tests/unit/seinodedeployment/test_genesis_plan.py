"""Genesis detection, the ceremony's start condition and its plans (spec 4.5, 6.5, 6.6, 12.1,
12.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.v1alpha1 import ConditionStatus, SeiNodeDeployment, TaskPlan
from controllers.plan.ids import task_id
from controllers.seinodedeployment.genesis import (
    CEREMONY_RETRY_DELAY,
    FORK_GENESIS_CEREMONY_NEEDED,
    GENESIS_CEREMONY_COMPLETE,
    GENESIS_CEREMONY_NEEDED,
    assembler,
    build_genesis_plan,
    ceremony_due,
    ceremony_retry_delay,
    complete_ceremony,
    detect_genesis,
    is_ceremony_plan,
)
from controllers.seinodedeployment.plans import build_inplace_plan

from .fixtures import child, group

PLAN_ID = "11111111-1111-4111-8111-111111111111"
BALANCE = "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom"
FORK = {"sourceChainId": "pacific-1", "sourceImage": "seid:v5", "exportHeight": 1000}
NODES = ["archive-rpc-0", "archive-rpc-1", "archive-rpc-2"]


def _genesis_group(fork: dict[str, Any] | None = None, **changes: Any) -> SeiNodeDeployment:
    genesis: dict[str, Any] = {"chainId": "new-1"}
    if fork is not None:
        genesis["fork"] = fork
    return group(spec__genesis=genesis, **changes)


def _reason(grp: SeiNodeDeployment, type_: str) -> tuple[str, str, str] | None:
    found = grp.status.condition(type_)
    return None if found is None else (found.status.value, found.reason, found.message)


def _with_children(grp: SeiNodeDeployment, names: list[str] = NODES) -> SeiNodeDeployment:
    grp.status.incumbent_nodes = list(names)
    return grp


def _plan_started(grp: SeiNodeDeployment) -> None:
    grp.status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "x")


# --- detection (12.1 step 1) -------------------------------------------------------------------


def test_a_genesis_group_needs_a_ceremony() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    assert _reason(grp, GENESIS_CEREMONY_NEEDED) == (
        "True",
        "GenesisConfigured",
        "Genesis ceremony configured",
    )
    assert grp.status.condition(FORK_GENESIS_CEREMONY_NEEDED) is None


def test_a_fork_group_needs_a_fork_ceremony() -> None:
    grp = _genesis_group(FORK)
    detect_genesis(grp)
    assert _reason(grp, FORK_GENESIS_CEREMONY_NEEDED) == (
        "True",
        "ForkConfigured",
        "Fork genesis from pacific-1",
    )
    assert grp.status.condition(GENESIS_CEREMONY_NEEDED) is None


def test_adding_a_fork_replaces_the_genesis_needed_condition() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    forked = _genesis_group(FORK)
    forked.status = grp.status
    detect_genesis(forked)
    assert forked.status.condition(GENESIS_CEREMONY_NEEDED) is None
    assert forked.status.is_condition_true(FORK_GENESIS_CEREMONY_NEEDED)


def test_a_completed_ceremony_removes_both_needed_conditions() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    complete_ceremony(grp)
    detect_genesis(grp)
    assert grp.status.condition(GENESIS_CEREMONY_NEEDED) is None
    assert grp.status.condition(FORK_GENESIS_CEREMONY_NEEDED) is None


def test_removing_genesis_removes_the_needed_conditions() -> None:
    grp = _genesis_group(FORK)
    detect_genesis(grp)
    plain = group()
    plain.status = grp.status
    detect_genesis(plain)
    assert plain.status.conditions == []


def test_detection_leaves_conditions_alone_while_a_plan_runs() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    forked = _genesis_group(FORK)
    forked.status = grp.status
    _plan_started(forked)
    detect_genesis(forked)
    assert forked.status.is_condition_true(GENESIS_CEREMONY_NEEDED)
    assert forked.status.condition(FORK_GENESIS_CEREMONY_NEEDED) is None


def test_complete_sets_ceremony_complete() -> None:
    grp = _genesis_group()
    complete_ceremony(grp)
    assert _reason(grp, GENESIS_CEREMONY_COMPLETE) == (
        "True",
        "CeremonyComplete",
        "Genesis ceremony completed",
    )


def test_complete_removes_the_needed_condition_in_the_same_write() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    complete_ceremony(grp)
    assert grp.status.condition(GENESIS_CEREMONY_NEEDED) is None


def test_complete_without_genesis_sets_nothing() -> None:
    grp = group()
    complete_ceremony(grp)
    assert grp.status.condition(GENESIS_CEREMONY_COMPLETE) is None


# --- when a ceremony starts (6.5 case a) -------------------------------------------------------


def test_a_ceremony_is_due_once_every_replica_is_a_child() -> None:
    grp = _genesis_group()
    detect_genesis(grp)
    assert not ceremony_due(_with_children(grp, NODES[:2]))
    assert ceremony_due(_with_children(grp))


def test_no_ceremony_while_a_plan_exists() -> None:
    grp = _with_children(_genesis_group())
    detect_genesis(grp)
    grp.status.plan = build_genesis_plan(grp)
    assert not ceremony_due(grp)


def test_no_ceremony_once_complete() -> None:
    grp = _with_children(_genesis_group())
    detect_genesis(grp)
    complete_ceremony(grp)
    detect_genesis(grp)
    assert not ceremony_due(grp)


def test_no_ceremony_without_genesis() -> None:
    assert not ceremony_due(_with_children(group()))


# --- the plans (6.6) ---------------------------------------------------------------------------


def _tasks(plan: TaskPlan) -> list[tuple[str, str, int | None, dict[str, Any] | None]]:
    return [(t.type, t.id, t.max_retries, t.params) for t in plan.tasks]


def test_the_genesis_plan_assembles_peers_and_waits() -> None:
    grp = _with_children(_genesis_group())
    detect_genesis(grp)
    plan = build_genesis_plan(grp, PLAN_ID)
    nodes = [{"name": n} for n in NODES]
    assert (plan.id, plan.phase.value) == (PLAN_ID, "Active")
    assert _tasks(plan) == [
        (
            "assemble-and-upload-genesis",
            task_id(PLAN_ID, "assemble-and-upload-genesis", 0),
            180,
            {"accountBalance": BALANCE, "namespace": "sei", "nodes": nodes},
        ),
        (
            "collect-and-set-peers",
            task_id(PLAN_ID, "collect-and-set-peers", 1),
            None,
            {"groupName": "archive-rpc", "namespace": "sei", "nodeNames": NODES},
        ),
        (
            "await-nodes-running",
            task_id(PLAN_ID, "await-nodes-running", 2),
            None,
            {"groupName": "archive-rpc", "namespace": "sei", "expected": 3, "nodeNames": NODES},
        ),
    ]
    assert all(t.status.value == "Pending" for t in plan.tasks)


def test_the_fork_plan_exports_tears_down_then_assembles() -> None:
    grp = _with_children(_genesis_group(FORK))
    detect_genesis(grp)
    plan = build_genesis_plan(grp, PLAN_ID)
    exporter = {"exporterName": "archive-rpc-exporter", "namespace": "sei"}
    assert _tasks(plan)[:5] == [
        (
            "create-exporter",
            task_id(PLAN_ID, "create-exporter", 0),
            None,
            {
                "groupName": "archive-rpc",
                "exporterName": "archive-rpc-exporter",
                "namespace": "sei",
                "sourceChainId": "pacific-1",
                "sourceImage": "seid:v5",
                "exportHeight": 1000,
            },
        ),
        ("await-exporter-running", task_id(PLAN_ID, "await-exporter-running", 1), None, exporter),
        (
            "submit-export-state",
            task_id(PLAN_ID, "submit-export-state", 2),
            None,
            exporter | {"exportHeight": 1000, "sourceChainId": "pacific-1"},
        ),
        ("teardown-exporter", task_id(PLAN_ID, "teardown-exporter", 3), None, exporter),
        (
            "assemble-genesis-fork",
            task_id(PLAN_ID, "assemble-genesis-fork", 4),
            180,
            {
                "sourceChainId": "pacific-1",
                "chainId": "new-1",
                "accountBalance": BALANCE,
                "namespace": "sei",
                "nodes": [{"name": n} for n in NODES],
            },
        ),
    ]
    assert [t.type for t in plan.tasks[5:]] == ["collect-and-set-peers", "await-nodes-running"]
    assert [t.id for t in plan.tasks[5:]] == [
        task_id(PLAN_ID, "collect-and-set-peers", 5),
        task_id(PLAN_ID, "await-nodes-running", 6),
    ]


def test_a_fork_without_its_condition_plans_the_standard_ceremony() -> None:
    """Fork configured but ForkGenesisCeremonyNeeded not True (6.6): 3 tasks."""
    grp = _with_children(_genesis_group(FORK))
    grp.status.set_condition(GENESIS_CEREMONY_NEEDED, ConditionStatus.TRUE, "x", "y")
    plan = build_genesis_plan(grp, PLAN_ID)
    assert [t.type for t in plan.tasks] == [
        "assemble-and-upload-genesis",
        "collect-and-set-peers",
        "await-nodes-running",
    ]


def test_rebuilt_plans_get_new_task_ids() -> None:
    grp = _with_children(_genesis_group())
    detect_genesis(grp)
    first, second = build_genesis_plan(grp), build_genesis_plan(grp)
    assert {t.id for t in first.tasks}.isdisjoint(t.id for t in second.tasks)


def test_a_group_without_genesis_has_no_ceremony_plan() -> None:
    with pytest.raises(ValueError, match="no genesis configuration"):
        build_genesis_plan(group())


def test_a_ceremony_plan_is_told_from_a_rollout_plan() -> None:
    grp = _with_children(_genesis_group(FORK))
    detect_genesis(grp)
    assert is_ceremony_plan(build_genesis_plan(grp))
    assert not is_ceremony_plan(build_inplace_plan(group()))
    assert not is_ceremony_plan(None)


# --- the assembler (6.4) -----------------------------------------------------------------------


def test_the_assembler_is_the_first_child_by_name() -> None:
    children = [child("archive-rpc-exporter"), child("archive-rpc-1", 1), child("archive-rpc-0", 0)]
    found = assembler(children)
    assert found is not None
    assert found["metadata"]["name"] == "archive-rpc-0"


def test_no_children_no_assembler() -> None:
    assert assembler([]) is None


# --- retry after a failed ceremony -------------------------------------------------------------


def _failed_at(grp: SeiNodeDeployment) -> datetime:
    grp.status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "x")
    grp.status.set_condition("PlanInProgress", ConditionStatus.FALSE, "PlanFailed", "Plan failed")
    found = grp.status.condition("PlanInProgress")
    assert found is not None
    assert found.last_transition_time is not None
    return found.last_transition_time


def test_a_failed_ceremony_is_retried_after_the_delay() -> None:
    grp = _genesis_group()
    failed = _failed_at(grp)
    assert ceremony_retry_delay(grp, failed + timedelta(seconds=10)) == 20.0
    assert ceremony_retry_delay(grp, failed + timedelta(seconds=CEREMONY_RETRY_DELAY)) == 0.0


def test_a_first_or_completed_ceremony_starts_at_once() -> None:
    grp = _genesis_group()
    assert ceremony_retry_delay(grp, datetime.now(UTC)) == 0.0
    grp.status.set_condition("PlanInProgress", ConditionStatus.FALSE, "PlanComplete", "done")
    assert ceremony_retry_delay(grp, datetime.now(UTC)) == 0.0
