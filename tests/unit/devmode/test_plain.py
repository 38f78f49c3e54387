"""The plain renderer: one timestamped line per change, no redraws."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from controllers.devmode.model import DevView, GroupView, NodeView, StepState, changes
from controllers.devmode.plain import PlainRenderer, timestamp

NOW = datetime(2026, 11, 29, 8, 50, 1, 123456, tzinfo=UTC)
GROUP = GroupView("default", "rpc", "Upgrading", 3, 3, "sei:v2", 2, 2, "True/TemplateChanged", True)


def test_timestamp_is_rfc3339_utc_with_milliseconds() -> None:
    assert timestamp(NOW) == "2026-11-29T08:50:01.123Z"


def test_equal_views_print_nothing() -> None:
    view = DevView().with_group(GROUP).with_notice("n")
    assert changes(view, view) == []


def test_a_step_prints_when_its_state_or_detail_changes() -> None:
    running = DevView().with_step("control plane", StepState.RUNNING, "starting", 0.0)
    assert changes(DevView(), running) == ["[..] control plane: starting"]
    done = running.with_step("control plane", StepState.DONE, "ready", 1.0)
    assert changes(running, done) == ["[ok] control plane: ready"]
    failed = running.with_step("control plane", StepState.FAILED, "etcd exited", 1.0)
    assert changes(running, failed) == ["[FAILED] control plane: etcd exited"]


def test_the_group_line_shows_phase_readiness_and_rollout_progress() -> None:
    view = DevView().with_group(GROUP).with_node(NodeView("rpc-0", "Running", "sei:v2", "sei:v2"))
    assert changes(DevView(), view)[0] == (
        "deployment default/rpc: Upgrading, 3/3 ready, 1/3 nodes on sei:v2, "
        "rollout True/TemplateChanged"
    )


def test_a_node_prints_when_its_phase_or_running_image_changes() -> None:
    before = DevView().with_node(NodeView("rpc-0", "Running", "sei:v2", "sei:v1"))
    after = before.with_node(NodeView("rpc-0", "Running", "sei:v2", "sei:v2"))
    assert changes(before, after) == ["node rpc-0: Running, sei:v2"]


def test_a_node_without_a_rolled_out_image_says_so() -> None:
    view = DevView().with_node(NodeView("rpc-0", "Pending", "sei:v1", ""))
    assert changes(DevView(), view) == ["node rpc-0: Pending, (no image rolled out yet)"]


def test_a_deleted_node_prints_once() -> None:
    before = DevView().with_node(NodeView("rpc-0", "Running", "a", "a"))
    assert changes(before, before.without_node("rpc-0")) == ["node rpc-0: deleted"]


def test_renderer_stamps_every_line_of_a_change_with_one_time() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, now=lambda: NOW)
    view = DevView().with_step("a", StepState.RUNNING, "x", 0.0).with_notice("KUBECONFIG=/k")
    renderer.start(view)
    renderer.show(view, view)
    assert out.getvalue() == (
        "2026-11-29T08:50:01.123Z  [..] a: x\n2026-11-29T08:50:01.123Z  KUBECONFIG=/k\n"
    )
