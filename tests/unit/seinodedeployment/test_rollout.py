"""Rollout detection, progress and stalls (spec 8.1, 11.1 TestDetectDeploymentNeeded_*;
decisions F9, F10, F11, F13, D1, D2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.v1alpha1 import (
    ConditionStatus,
    RolloutNodeStatus,
    RolloutStatus,
    SeiNodePhase,
    TaskPlan,
    TaskPlanPhase,
    UpdateStrategyType,
)
from api.v1alpha1.template_hash import template_hash
from controllers.seinodedeployment.rollout import (
    DEFAULT_SIDECAR_IMAGE,
    detect_rollout,
    escalate_stall,
    go_duration,
    node_progress,
    rolled_out,
    seconds_until_stall,
)

from .fixtures import OLD_HASH, group

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NODES = ["archive-rpc-0", "archive-rpc-1", "archive-rpc-2"]


def _changed_group(**changes: Any):  # type: ignore[no-untyped-def]
    grp = group(metadata__generation=2, **changes)
    grp.status.template_hash = OLD_HASH
    grp.status.observed_generation = 1
    return grp


def test_sets_rollout_in_progress() -> None:
    grp = _changed_group()
    out = detect_rollout(grp, NODES, "1", NOW)
    cond = grp.status.condition("RolloutInProgress")
    assert cond is not None
    assert cond.status == ConditionStatus.TRUE
    assert cond.reason == "TemplateChanged"
    assert grp.status.rollout is not None
    assert grp.status.rollout.strategy == "InPlace"
    assert grp.status.rollout.target_hash == template_hash(grp.spec.template.spec)
    assert grp.status.rollout.incumbent_nodes == NODES
    assert out.started


def test_revisions_are_the_childrens_and_the_generation() -> None:
    grp = _changed_group()
    detect_rollout(grp, NODES, "1", NOW)
    assert grp.status.rollout is not None
    assert (grp.status.rollout.incumbent_revision, grp.status.rollout.entrant_revision) == (
        "1",
        "2",
    )


def test_already_active_same_target_changes_nothing() -> None:
    grp = _changed_group()
    detect_rollout(grp, NODES, "1", NOW)
    before = grp.status.rollout
    out = detect_rollout(grp, NODES, "1", NOW + timedelta(seconds=5))
    assert grp.status.rollout is before
    assert not out.started
    assert not out.events


def test_supersedes_stale_rollout() -> None:
    grp = _changed_group()
    detect_rollout(grp, NODES, "1", NOW)
    assert grp.status.rollout is not None
    grp.status.rollout.target_hash = "stale-hash"
    grp.status.plan = TaskPlan(phase=TaskPlanPhase.ACTIVE, tasks=[])
    out = detect_rollout(grp, NODES, "1", NOW)
    assert grp.status.plan is None
    assert grp.status.rollout.target_hash == template_hash(grp.spec.template.spec)
    assert out.superseded
    assert out.events[0].reason == "RolloutSuperseded"
    assert out.events[0].message.endswith("(old target: stale-hash)")


def test_supersession_keeps_the_incumbent_revision() -> None:
    grp = _changed_group()
    detect_rollout(grp, NODES, "1", NOW)
    assert grp.status.rollout is not None
    grp.status.rollout.target_hash = "stale-hash"
    detect_rollout(grp, NODES, "9", NOW)
    assert grp.status.rollout.incumbent_revision == "1"


def test_empty_type_is_treated_as_in_place_with_a_warning() -> None:
    grp = _changed_group()
    grp.spec.update_strategy = None
    out = detect_rollout(grp, NODES, "1", NOW)
    assert grp.status.rollout is not None
    assert grp.status.rollout.strategy == "InPlace"
    assert grp.status.is_condition_true("RolloutInProgress")
    assert [e.type for e in out.events if e.reason == "UpdateStrategyMissing"] == ["Warning"]


def test_rollout_started_message_names_the_strategy() -> None:
    grp = _changed_group(spec__updateStrategy={"type": "BlueGreen"})
    out = detect_rollout(grp, NODES, "1", NOW)
    started = next(e for e in out.events if e.reason == "RolloutStarted")
    target = template_hash(grp.spec.template.spec)[:8]
    assert started.message == f"BlueGreen rollout started (strategy: BlueGreen, target: {target})"


def test_no_children_no_rollout() -> None:
    grp = _changed_group()
    out = detect_rollout(grp, [], "1", NOW)
    assert grp.status.rollout is None
    assert not out.started


def test_first_reconcile_has_no_baseline() -> None:
    grp = group()
    assert not detect_rollout(grp, NODES, "1", NOW).started


def test_a_running_genesis_plan_defers_detection() -> None:
    grp = _changed_group()
    grp.status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "x")
    assert not detect_rollout(grp, NODES, "1", NOW).started


def _sts(
    image: str,
    sidecar: str,
    generation: int = 2,
    observed: int = 2,
    updated: int = 1,
    ready: int = 1,
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [{"name": "seid", "image": image}],
                    "initContainers": [
                        {"name": "seid-init", "image": image},
                        {"name": "sei-sidecar", "image": sidecar},
                    ],
                }
            },
        },
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "readyReplicas": ready,
        },
    }


def _node(image: str, current: str | None) -> dict[str, Any]:
    return {"spec": {"image": image}, "status": {"phase": "Running", "currentImage": current}}


IMAGE = "ghcr.io/sei-protocol/seid:v1.0.0"


def test_rolled_out_on_the_target_template() -> None:
    assert rolled_out(group(), _node(IMAGE, IMAGE), _sts(IMAGE, DEFAULT_SIDECAR_IMAGE))


def test_not_rolled_out_while_the_old_sidecar_runs() -> None:
    grp = group(spec__template__spec__sidecar={"image": "seictl:v2", "port": 7777})
    assert not rolled_out(grp, _node(IMAGE, IMAGE), _sts(IMAGE, DEFAULT_SIDECAR_IMAGE))


def test_not_rolled_out_before_the_statefulset_controller_saw_it() -> None:
    sts = _sts(IMAGE, DEFAULT_SIDECAR_IMAGE, generation=3, observed=2)
    assert not rolled_out(group(), _node(IMAGE, IMAGE), sts)


def test_not_rolled_out_before_current_image_is_reported() -> None:
    assert not rolled_out(group(), _node(IMAGE, "old"), _sts(IMAGE, DEFAULT_SIDECAR_IMAGE))


def test_progress_marks_ready_nodes() -> None:
    grp = _changed_group()
    detect_rollout(grp, ["a", "b"], "1", NOW)
    nodes = {"a": _node(IMAGE, IMAGE), "b": _node(IMAGE, IMAGE)}
    stses = {
        "a": _sts(IMAGE, DEFAULT_SIDECAR_IMAGE),
        "b": _sts(IMAGE, DEFAULT_SIDECAR_IMAGE, ready=0),
    }
    progress = node_progress(grp, nodes, stses)
    assert [(p.name, p.ready) for p in progress] == [("a", True), ("b", False)]


def _stalling_group(ready: bool) -> Any:
    grp = _changed_group()
    detect_rollout(grp, ["a"], "1", NOW)
    assert grp.status.rollout is not None
    grp.status.rollout.nodes = [
        RolloutNodeStatus(name="a", ready=ready, phase=SeiNodePhase.RUNNING)
    ]
    return grp


def test_stall_after_the_threshold_with_one_warning() -> None:
    grp = _stalling_group(ready=False)
    first = escalate_stall(grp, 600, NOW + timedelta(minutes=11))
    second = escalate_stall(grp, 600, NOW + timedelta(minutes=12))
    cond = grp.status.condition("RolloutInProgress")
    assert cond is not None
    assert cond.reason == "Stalled"
    assert cond.message == "rollout stalled: not all nodes ready after 10m0s"
    assert first is not None
    assert first.reason == "RolloutStalled"
    assert first.type == "Warning"
    assert second is None


def test_no_stall_before_the_threshold() -> None:
    grp = _stalling_group(ready=False)
    assert escalate_stall(grp, 600, NOW + timedelta(minutes=9)) is None
    cond = grp.status.condition("RolloutInProgress")
    assert cond is not None
    assert cond.reason == "TemplateChanged"


def test_no_stall_when_every_node_is_ready() -> None:
    grp = _stalling_group(ready=True)
    assert escalate_stall(grp, 600, NOW + timedelta(hours=1)) is None


def test_supersession_clears_a_stall() -> None:
    grp = _stalling_group(ready=False)
    escalate_stall(grp, 600, NOW + timedelta(minutes=11))
    assert grp.status.rollout is not None
    grp.status.rollout.target_hash = "stale"
    detect_rollout(grp, ["a"], "1", NOW + timedelta(minutes=12))
    cond = grp.status.condition("RolloutInProgress")
    assert cond is not None
    assert cond.reason == "TemplateChanged"


def test_go_duration_matches_go() -> None:
    assert [go_duration(s) for s in (600, 30, 3600, 1.5, 90, 0)] == [
        "10m0s",
        "30s",
        "1h0m0s",
        "1.5s",
        "1m30s",
        "0s",
    ]


def test_rollout_status_model_accepts_progress() -> None:
    status = RolloutStatus(strategy=UpdateStrategyType.IN_PLACE, target_hash="h", started_at=NOW)
    status.nodes = [RolloutNodeStatus(name="a", ready=False)]
    assert status.to_dict()["nodes"] == [{"name": "a", "ready": False}]


def test_reverting_to_the_baseline_supersedes_the_rollout() -> None:
    grp = _changed_group()
    detect_rollout(grp, NODES, "1", NOW)
    grp.status.template_hash = template_hash(grp.spec.template.spec)  # the spec is the baseline
    assert grp.status.rollout is not None
    grp.status.rollout.target_hash = "abandoned"
    out = detect_rollout(grp, NODES, "1", NOW)
    assert out.superseded
    assert grp.status.rollout.target_hash == grp.status.template_hash


def test_no_early_wake_up_once_the_threshold_has_passed() -> None:
    grp = _stalling_group(ready=False)
    assert seconds_until_stall(grp, 600, NOW + timedelta(minutes=9)) == 60
    assert seconds_until_stall(grp, 600, NOW + timedelta(minutes=11)) is None
