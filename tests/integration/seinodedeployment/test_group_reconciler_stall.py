"""Stall escalation and requeues of a rollout, pass by pass on the real API server with a
controlled clock (decisions D1, D2; spec 4.7 step 12, 6.5): a rollout whose nodes are not ready
after the threshold says Stalled once, a pass never sleeps past the threshold, and a new
template clears the stall."""

from __future__ import annotations

from datetime import timedelta

from api.v1alpha1 import utc_now

from .conftest import IMAGE_V2, IMAGE_V3, GroupHarness

THRESHOLD = 600.0  # the default: the harness's reconciler uses it


async def _rolling(harness: GroupHarness) -> None:
    """A rollout to v2 whose children moved but never report the new template (no StatefulSet
    ever rolls out: no SeiNode controller runs)."""
    start = utc_now()
    harness.clock.append(start)
    await harness.steady_group()
    await harness.set_image(IMAGE_V2)
    await harness.reconcile()  # detected, plan started
    await harness.reconcile()  # update-node-specs
    harness.recorder.clear()


def _later(harness: GroupHarness, seconds: float) -> None:
    harness.clock.append(harness.clock[0] + timedelta(seconds=seconds))


async def test_steady_state_requeues_after_thirty_seconds(harness: GroupHarness) -> None:
    await harness.steady_group()
    result = await harness.reconcile()
    assert result.requeue_after == 30.0


async def test_starting_a_plan_requeues_at_once(harness: GroupHarness) -> None:
    await harness.steady_group()
    await harness.set_image(IMAGE_V2)
    result = await harness.reconcile()
    assert 0 < result.requeue_after < 0.1


async def test_a_waiting_rollout_polls(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, 60)
    result = await harness.reconcile()
    assert 0 < result.requeue_after <= 5.0


async def test_a_pass_never_sleeps_past_the_stall_threshold(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD - 1)
    result = await harness.reconcile()
    assert 0 < result.requeue_after <= 1.0


async def test_no_stall_before_the_threshold(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD - 1)
    await harness.reconcile()
    condition = (await harness.group()).status.condition("RolloutInProgress")
    assert condition is not None
    assert condition.reason == "TemplateChanged"
    assert "RolloutStalled" not in harness.reasons()


async def test_stalled_after_the_threshold(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD + 1)
    await harness.reconcile()
    group = await harness.group()
    condition = group.status.condition("RolloutInProgress")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == (
        "True",
        "Stalled",
        "rollout stalled: not all nodes ready after 10m0s",
    )
    assert group.status.phase == "Upgrading"


async def test_the_stall_warning_is_emitted_once(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD + 1)
    await harness.reconcile()
    _later(harness, THRESHOLD + 60)
    await harness.reconcile()
    assert harness.events("RolloutStalled") == [
        "Warning RolloutStalled rollout stalled: not all nodes ready after 10m0s"
    ]


async def test_a_stalled_rollout_names_the_nodes_not_ready(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD + 1)
    await harness.reconcile()
    rollout = (await harness.group()).status.rollout
    assert rollout is not None
    assert [(n.name, n.ready) for n in rollout.nodes or []] == [
        (f"archive-rpc-{i}", False) for i in range(3)
    ]


async def test_a_new_template_clears_the_stall(harness: GroupHarness) -> None:
    await _rolling(harness)
    _later(harness, THRESHOLD + 1)
    await harness.reconcile()
    await harness.set_image(IMAGE_V3)
    _later(harness, THRESHOLD + 2)
    await harness.reconcile()
    condition = (await harness.group()).status.condition("RolloutInProgress")
    assert condition is not None
    assert (condition.status, condition.reason) == ("True", "TemplateChanged")


async def test_a_stalled_rollout_keeps_polling_at_the_poll_interval(
    harness: GroupHarness,
) -> None:
    # Once flagged, the stall needs no early wake-up: the plan's own poll paces the passes.
    await _rolling(harness)
    _later(harness, THRESHOLD + 1)
    await harness.reconcile()
    _later(harness, THRESHOLD + 60)
    result = await harness.reconcile()
    assert result.requeue_after == 5.0
