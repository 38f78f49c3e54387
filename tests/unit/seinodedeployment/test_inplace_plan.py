"""The InPlace deployment plan (spec 6.6; 11.1 TestInPlacePlan_ThreeTasks)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.v1alpha1 import (
    RolloutStatus,
    SeiNodeDeployment,
    TaskPlan,
    TaskPlanPhase,
    TaskStatus,
    UpdateStrategyType,
)
from controllers.plan.ids import task_id
from controllers.seinodedeployment.plans import build_inplace_plan

from .fixtures import group

WAVE_NODES = ["wave-group-0", "wave-group-1", "wave-group-2"]


def _wave_group() -> SeiNodeDeployment:
    grp = group(metadata__name="wave-group", metadata__namespace="default")
    assert grp.spec.template.spec.chain_id == "pacific-1"
    grp.status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash="347bc046dd25de17",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        incumbent_nodes=list(WAVE_NODES),
    )
    return grp


def _plan() -> TaskPlan:
    return build_inplace_plan(_wave_group())


def test_three_tasks_in_order() -> None:
    plan = _plan()
    assert [t.type for t in plan.tasks] == [
        "update-node-specs",
        "await-spec-update",
        "mark-nodes-ready",
    ]


def test_plan_is_active_and_every_task_pending() -> None:
    plan = _plan()
    assert plan.phase == TaskPlanPhase.ACTIVE
    assert [t.status for t in plan.tasks] == [TaskStatus.PENDING] * 3


def test_ids_are_non_empty_distinct_and_derived_from_the_plan() -> None:
    plan = _plan()
    assert plan.id
    ids = [t.id for t in plan.tasks]
    assert all(ids)
    assert len(set(ids)) == 3
    assert ids == [task_id(plan.id, t.type, i) for i, t in enumerate(plan.tasks)]


def test_every_rebuilt_plan_gets_new_ids() -> None:
    first, second = _plan(), _plan()
    assert first.id != second.id
    assert {t.id for t in first.tasks}.isdisjoint(t.id for t in second.tasks)


def test_params_name_the_group_namespace_and_the_three_nodes() -> None:
    update, await_spec, mark = _plan().tasks
    assert update.params is not None
    assert update.params["groupName"] == "wave-group"
    for task in (update, await_spec, mark):
        assert task.params is not None
        assert task.params["namespace"] == "default"
        assert task.params["nodeNames"] == WAVE_NODES


def test_stored_params_are_the_reference_json_shape() -> None:
    update, await_spec, mark = _plan().tasks
    assert update.params == {
        "groupName": "wave-group",
        "namespace": "default",
        "nodeNames": WAVE_NODES,
    }
    assert await_spec.params == {"namespace": "default", "nodeNames": WAVE_NODES}
    assert mark.params == {"namespace": "default", "nodeNames": WAVE_NODES}


def test_the_plan_persists_as_the_reference_task_plan() -> None:
    stored = _plan().to_dict()
    assert set(stored) == {"id", "phase", "tasks"}
    assert [set(task) for task in stored["tasks"]] == [{"type", "id", "status", "params"}] * 3
    assert TaskPlan.from_dict(stored).to_dict() == stored


def test_the_plan_targets_the_rollouts_nodes_not_the_live_children() -> None:
    grp = _wave_group()
    grp.status.incumbent_nodes = ["wave-group-0"]
    plan = build_inplace_plan(grp)
    assert all(t.params and t.params["nodeNames"] == WAVE_NODES for t in plan.tasks)
