"""SeiNode reconciler, pass by pass on the real API server: a spec the schema accepts but the
planner rejects (spec 3.9, issue 10 "bad input": a condition and a Warning event, no retry
storm), and the status-write invariant of the reconciler (status patches carry no
resourceVersion precondition, so a concurrent spec write never makes them 409)."""

from __future__ import annotations

import pytest

from api.v1alpha1 import TaskStatus
from controller_runtime.controller import TerminalError
from tests.integration.seinode.reconciler_harness import API_VERSION, KIND, ReconcilerHarness

pytestmark = pytest.mark.integration

# The schema's exactly-one-of s3/stateSync holds; the planner needs s3 for a bootstrap image.
BAD_SPEC = {"fullNode": {"snapshot": {"stateSync": {}, "bootstrapImage": "sei:bootstrap"}}}
PLANNER_MESSAGE = "fullNode: bootstrapImage requires s3 with targetHeight > 0"


async def _rejected(harness: ReconcilerHarness, name: str) -> None:
    """Creates the bad node and runs its first pass (which raises TerminalError)."""
    await harness.create(name, BAD_SPEC)
    with pytest.raises(TerminalError):
        await harness.reconcile(name)


async def test_spec_the_planner_rejects_is_a_terminal_error_with_its_message(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", BAD_SPEC)

    with pytest.raises(TerminalError) as raised:
        await harness.reconcile("node")

    assert str(raised.value) == PLANNER_MESSAGE


async def test_rejected_spec_sets_spec_valid_false(harness: ReconcilerHarness) -> None:
    await _rejected(harness, "node")

    node = await harness.node("node")
    condition = node.status.condition("SpecValid")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == (
        "False",
        "InvalidSpec",
        PLANNER_MESSAGE,
    )
    assert condition.observed_generation == node.metadata.generation


async def test_rejected_spec_is_a_warning_event(harness: ReconcilerHarness) -> None:
    await _rejected(harness, "node")

    assert harness.recorder.events == [f"Warning InvalidSpec {PLANNER_MESSAGE}"]


async def test_rejected_spec_starts_no_plan_and_creates_no_children(
    harness: ReconcilerHarness,
) -> None:
    await _rejected(harness, "node")

    node = await harness.node("node")
    assert (node.status.phase, node.status.plan) == (None, None)
    assert await harness.child("v1", "PersistentVolumeClaim", "data-node") is None


async def test_rejected_spec_seen_again_writes_nothing(harness: ReconcilerHarness) -> None:
    await _rejected(harness, "node")
    written = len(harness.node_writes("node"))

    with pytest.raises(TerminalError):
        await harness.reconcile("node")

    assert harness.node_writes("node")[written:] == []


async def test_fixed_spec_clears_the_condition_and_proceeds(harness: ReconcilerHarness) -> None:
    await _rejected(harness, "node")
    await harness.set_spec("node", {"fullNode": {"snapshot": {"bootstrapImage": None}}})

    await harness.reconcile("node")

    node = await harness.node("node")
    assert node.status.condition("SpecValid") is None
    assert node.status.phase == "Initializing"


async def test_rejected_node_can_still_be_deleted(harness: ReconcilerHarness) -> None:
    await _rejected(harness, "node")
    stored = await harness.raw("node")
    await harness.kube.delete(stored)
    await harness.synced(await harness.raw("node"))

    await harness.reconcile("node")

    assert await harness.child(API_VERSION, KIND, "node") is None


async def test_status_write_on_a_stale_read_does_not_conflict_with_a_spec_write(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("val-0", {"validator": {}})
    harness.sidecar("val-0").complete_on_submit = True
    await harness.reconcile("val-0")  # Pending -> Initializing
    seen = await harness.synced(await harness.raw("val-0"))
    # Someone writes the spec; the reconciler's cache has not seen it yet.
    harness.reads.pin(seen)
    written = await harness.kube.patch(seen, {"spec": {"overrides": {"evm.http_port": "8547"}}})

    await harness.reconcile("val-0")  # a plan step: a status write built on ``seen``

    node = await harness.node("val-0")
    assert harness.responses(409) == 0
    assert node.status.plan is not None
    assert node.status.plan.tasks[0].status == TaskStatus.COMPLETE
    assert node.metadata.generation == written["metadata"]["generation"]
    assert node.spec.overrides == {"evm.http_port": "8547"}
