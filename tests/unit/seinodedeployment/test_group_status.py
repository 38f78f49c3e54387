"""Group phase and NodesReady (spec 4.4, 4.5; 11.4 TestComputeGroupPhase_*)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.v1alpha1 import ConditionStatus, RolloutStatus, UpdateStrategyType
from controllers.seinodedeployment.status import compute_status, group_phase

from .fixtures import child, group


def _nodes(*phases: str | None) -> list[dict]:  # type: ignore[type-arg]
    return [child(f"archive-rpc-{i}", i, phase=p) for i, p in enumerate(phases)]


def test_no_nodes_is_pending() -> None:
    assert group_phase(group(), []) == "Pending"


def test_all_ready() -> None:
    assert group_phase(group(), _nodes("Running", "Running", "Running")) == "Ready"


def test_initializing() -> None:
    assert group_phase(group(), _nodes("Running", "Initializing", "Pending")) == "Initializing"


def test_degraded() -> None:
    assert group_phase(group(), _nodes("Running", "Running", "Failed")) == "Degraded"


def test_some_failed_some_initializing_is_initializing() -> None:
    assert group_phase(group(), _nodes("Failed", "Initializing", "Pending")) == "Initializing"


def test_all_failed() -> None:
    assert group_phase(group(), _nodes("Failed", "Failed", "Failed")) == "Failed"


def test_rollout_in_progress_is_upgrading() -> None:
    grp = group()
    grp.status.set_condition("RolloutInProgress", ConditionStatus.TRUE, "TemplateChanged", "x")
    assert group_phase(grp, _nodes("Running", "Running", "Running")) == "Upgrading"


def test_plan_with_rollout_is_upgrading() -> None:
    grp = group()
    grp.status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "x")
    grp.status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.BLUE_GREEN,
        target_hash="h",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert group_phase(grp, _nodes("Running")) == "Upgrading"


def test_plan_in_progress_genesis_is_initializing() -> None:
    grp = group()
    grp.status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "x")
    assert group_phase(grp, _nodes("Running")) == "Initializing"


def test_more_ready_than_desired_is_initializing() -> None:
    assert group_phase(group(spec__replicas=2), _nodes(*["Running"] * 3)) == "Initializing"


def test_status_counts_and_lists_children() -> None:
    grp = group()
    compute_status(grp, _nodes("Running", "Initializing", None))
    assert grp.status.ready_replicas == 1
    assert grp.status.replicas == 3
    assert grp.status.nodes is not None
    assert [(n.name, n.phase) for n in grp.status.nodes] == [
        ("archive-rpc-0", "Running"),
        ("archive-rpc-1", "Initializing"),
        ("archive-rpc-2", None),
    ]
    cond = grp.status.condition("NodesReady")
    assert cond is not None
    assert (cond.reason, cond.message) == ("NodesInitializing", "1/3 nodes ready (1 initializing)")


def test_nodes_failed_message() -> None:
    grp = group()
    compute_status(grp, _nodes("Running", "Failed", "Pending"))
    cond = grp.status.condition("NodesReady")
    assert cond is not None
    assert cond.message == "1/3 nodes ready (1 failed, 1 initializing)"


def test_all_nodes_ready_condition() -> None:
    grp = group()
    compute_status(grp, _nodes("Running", "Running", "Running"))
    cond = grp.status.condition("NodesReady")
    assert cond is not None
    assert (cond.status, cond.reason) == ("True", "AllNodesReady")


def test_hash_and_generation_advance_only_without_plan_or_rollout() -> None:
    grp = group(metadata__generation=5)
    grp.status.set_condition("RolloutInProgress", ConditionStatus.TRUE, "TemplateChanged", "x")
    compute_status(grp, _nodes("Running"))
    assert grp.status.observed_generation is None
    assert grp.status.template_hash is None
    grp.status.set_condition("RolloutInProgress", ConditionStatus.FALSE, "RolloutComplete", "x")
    compute_status(grp, _nodes("Running"))
    assert grp.status.observed_generation == 5
    assert grp.status.template_hash
