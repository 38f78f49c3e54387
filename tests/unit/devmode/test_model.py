"""The dev mode's view model: built from API objects, updated immutably, and the predicates the
dev mode waits on."""

from __future__ import annotations

from typing import Any

from controllers.devmode.model import (
    MAX_EVENTS,
    DevView,
    StepState,
    event_view,
    group_ready,
    group_view,
    node_view,
    rollout_progress,
    upgrade_complete,
)

OLD, NEW = "sei:v1", "sei:v2"


def group(
    image: str = OLD,
    phase: str = "Ready",
    ready: int = 3,
    generation: int = 1,
    observed: int = 1,
    rollout: dict[str, Any] | None = None,
    condition: tuple[str, str] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "readyReplicas": ready,
        "observedGeneration": observed,
    }
    if rollout is not None:
        status["rollout"] = rollout
    if condition is not None:
        status["conditions"] = [
            {"type": "RolloutInProgress", "status": condition[0], "reason": condition[1]}
        ]
    return {
        "metadata": {"name": "rpc", "namespace": "default", "generation": generation},
        "spec": {"replicas": 3, "template": {"spec": {"image": image}}},
        "status": status,
    }


def node(name: str, phase: str = "Running", image: str = OLD, current: str | None = OLD) -> Any:
    status: dict[str, Any] = {"phase": phase}
    if current is not None:
        status["currentImage"] = current
    return {"metadata": {"name": name}, "spec": {"image": image}, "status": status}


def fleet(image: str, current: str, **group_fields: Any) -> DevView:
    view = DevView().with_group(group_view(group(image=image, **group_fields)))
    for i in range(3):
        view = view.with_node(node_view(node(f"rpc-{i}", image=image, current=current)))
    return view


def test_group_view_reads_spec_status_and_rollout_condition() -> None:
    seen = group_view(group(condition=("False", "RolloutComplete"), rollout={"targetHash": "a"}))
    assert (seen.namespace, seen.name, seen.phase, seen.replicas, seen.ready_replicas) == (
        "default",
        "rpc",
        "Ready",
        3,
        3,
    )
    assert (seen.image, seen.rollout, seen.rollout_active) == (OLD, "False/RolloutComplete", True)


def test_objects_without_status_read_as_pending() -> None:
    bare = {"metadata": {"name": "rpc-0"}, "spec": {"image": OLD}}
    assert node_view(bare).phase == "Pending"
    assert node_view(bare).current_image == ""
    assert group_view({"metadata": {"name": "rpc"}, "spec": {}}).phase == "Pending"


def test_nodes_are_kept_in_ordinal_order() -> None:
    view = DevView()
    for name in ("rpc-10", "rpc-2", "rpc-0"):
        view = view.with_node(node_view(node(name)))
    assert [n.name for n in view.nodes] == ["rpc-0", "rpc-2", "rpc-10"]


def test_a_node_seen_again_replaces_its_row() -> None:
    view = DevView().with_node(node_view(node("rpc-0", phase="Initializing")))
    view = view.with_node(node_view(node("rpc-0", phase="Running")))
    assert [(n.name, n.phase) for n in view.nodes] == [("rpc-0", "Running")]


def test_a_deleted_node_leaves_the_view() -> None:
    view = DevView().with_node(node_view(node("rpc-0"))).without_node("rpc-0")
    assert view.nodes == ()


def test_only_the_newest_events_are_kept_oldest_first() -> None:
    view = DevView()
    for i in range(MAX_EVENTS + 3):
        obj = {
            "metadata": {"name": f"e{i}"},
            "lastTimestamp": f"2026-11-29T08:00:{i:02d}Z",
            "involvedObject": {"kind": "SeiNode", "name": "rpc-0"},
            "reason": "R",
            "message": "m",
        }
        view = view.with_event(event_view(obj))
    assert [e.key for e in view.events] == [f"e{i}#1" for i in range(3, MAX_EVENTS + 3)]


def test_an_event_seen_twice_is_kept_once_until_its_count_moves() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "e"}, "count": 1, "lastTimestamp": "t1"}
    view = DevView().with_event(event_view(obj)).with_event(event_view(obj))
    assert len(view.events) == 1
    view = view.with_event(event_view({**obj, "count": 2, "lastTimestamp": "t2"}))
    assert [e.key for e in view.events] == ["e#1", "e#2"]


def test_a_step_keeps_its_place_and_its_start_while_running() -> None:
    view = DevView().with_step("a", StepState.RUNNING, "x", now=1.0)
    view = view.with_step("b", StepState.RUNNING, "y", now=2.0)
    view = view.with_step("a", StepState.RUNNING, "x again", now=3.0)
    assert [(s.name, s.detail, s.since) for s in view.steps] == [
        ("a", "x again", 1.0),
        ("b", "y", 2.0),
    ]
    done = view.with_step("a", StepState.DONE, "ok", now=4.0)
    assert done.steps[0].since == 4.0


def test_rollout_progress_counts_nodes_running_the_template_image() -> None:
    view = fleet(NEW, OLD).with_node(node_view(node("rpc-1", image=NEW, current=NEW)))
    assert rollout_progress(view) == (1, 3)


def test_group_is_ready_when_every_node_runs_the_image() -> None:
    assert group_ready(fleet(OLD, OLD), OLD)


def test_group_is_not_ready_before_every_node_is_seen() -> None:
    view = fleet(OLD, OLD).without_node("rpc-2")
    assert not group_ready(view, OLD)


def test_group_is_not_ready_while_its_status_lags_its_spec() -> None:
    assert not group_ready(fleet(OLD, OLD, generation=2, observed=1), OLD)


def test_upgrade_is_not_complete_while_a_node_runs_the_old_image() -> None:
    view = fleet(NEW, NEW, condition=("False", "RolloutComplete")).with_node(
        node_view(node("rpc-0", image=NEW, current=OLD))
    )
    assert not upgrade_complete(view, NEW)


def test_upgrade_is_not_complete_while_the_rollout_is_recorded() -> None:
    view = fleet(NEW, NEW, rollout={"targetHash": "h"}, condition=("True", "TemplateChanged"))
    assert not upgrade_complete(view, NEW)


def test_upgrade_is_complete_once_the_rollout_completed_on_every_node() -> None:
    assert upgrade_complete(fleet(NEW, NEW, condition=("False", "RolloutComplete")), NEW)


def test_upgrade_to_another_image_is_not_complete() -> None:
    assert not upgrade_complete(fleet(NEW, NEW, condition=("False", "RolloutComplete")), "x:v3")
