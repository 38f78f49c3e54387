"""The BlueGreen and HardFork deployment plans (spec 6.6, 6.2; decisions F12)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.v1alpha1 import RolloutStatus, SeiNodeDeployment, TaskPlanPhase, UpdateStrategyType
from controllers.plan.ids import task_id
from controllers.seinodedeployment.plans import build_swap_plan

from .fixtures import group

INCUMBENTS = ["wave-0", "wave-1", "wave-2"]
ENTRANTS = ["wave-g2-0", "wave-g2-1", "wave-g2-2"]


def _group(strategy: UpdateStrategyType, incumbents: list[str] | None = None) -> SeiNodeDeployment:
    update = {"type": strategy.value}
    if strategy == UpdateStrategyType.HARD_FORK:
        update["hardFork"] = {"haltHeight": 5000}  # type: ignore[assignment]
    grp = group(metadata__name="wave", metadata__generation=2, spec__updateStrategy=update)
    grp.status.rollout = RolloutStatus(
        strategy=strategy,
        target_hash="347bc046dd25de17",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        incumbent_nodes=INCUMBENTS if incumbents is None else incumbents,
        incumbent_revision="1",
        entrant_revision="2",
    )
    return grp


def test_blue_green_plan_has_the_five_tasks_with_the_reference_params() -> None:
    plan = build_swap_plan(_group(UpdateStrategyType.BLUE_GREEN))
    assert [(t.type, t.params) for t in plan.tasks] == [
        (
            "create-entrant-nodes",
            {
                "groupName": "wave",
                "namespace": "sei",
                "entrantRevision": "2",
                "nodeNames": ENTRANTS,
            },
        ),
        (
            "await-nodes-running",
            {"groupName": "wave", "namespace": "sei", "expected": 3, "nodeNames": ENTRANTS},
        ),
        ("await-nodes-caught-up", {"namespace": "sei", "nodeNames": ENTRANTS}),
        ("switch-traffic", {"groupName": "wave", "namespace": "sei", "entrantRevision": "2"}),
        ("teardown-nodes", {"namespace": "sei", "nodeNames": INCUMBENTS}),
    ]


def test_hard_fork_plan_halts_incumbents_and_awaits_entrants_at_the_halt_height() -> None:
    plan = build_swap_plan(_group(UpdateStrategyType.HARD_FORK))
    assert [(t.type, t.params) for t in plan.tasks][2:4] == [
        ("submit-halt-signal", {"namespace": "sei", "nodeNames": INCUMBENTS, "haltHeight": 5000}),
        (
            "await-nodes-at-height",
            {"namespace": "sei", "nodeNames": ENTRANTS, "targetHeight": 5000},
        ),
    ]
    assert [t.type for t in plan.tasks] == [
        "create-entrant-nodes",
        "await-nodes-running",
        "submit-halt-signal",
        "await-nodes-at-height",
        "switch-traffic",
        "teardown-nodes",
    ]


def test_swap_plan_ids_are_derived_from_plan_type_and_index() -> None:
    plan = build_swap_plan(_group(UpdateStrategyType.HARD_FORK), plan_id="p-1")
    assert plan.id == "p-1"
    assert plan.phase == TaskPlanPhase.ACTIVE
    assert [t.id for t in plan.tasks] == [
        task_id("p-1", t.type, i) for i, t in enumerate(plan.tasks)
    ]


def test_entrants_are_named_after_the_generation_with_one_per_replica() -> None:
    grp = _group(UpdateStrategyType.BLUE_GREEN)
    grp.metadata.generation = 7
    grp.spec.replicas = 2
    plan = build_swap_plan(grp)
    assert plan.tasks[0].params is not None
    assert plan.tasks[0].params["nodeNames"] == ["wave-g7-0", "wave-g7-1"]
    assert plan.tasks[0].params["entrantRevision"] == "7"


def test_no_incumbents_are_stored_as_null_node_names() -> None:
    plan = build_swap_plan(_group(UpdateStrategyType.BLUE_GREEN, incumbents=[]))
    assert plan.tasks[-1].params == {"namespace": "sei", "nodeNames": None}
