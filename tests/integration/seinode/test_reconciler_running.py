"""SeiNode reconciler, pass by pass on the real API server: a Running node. The rolled-out
image on fresh data (spec 3.4, decision F1), the sidecar's readiness healed (F2), the steady
state requeue, and an unaddressable sidecar (3.7 step 8 Running)."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.controller import Result
from controllers.seinode.status import rolled_out_image
from controllers.sidecar.api import SidecarStatus, SidecarUnavailableError
from tests.integration.seinode.reconciler_harness import (
    IMAGE,
    NEW_IMAGE,
    ReconcilerHarness,
)
from tests.unit.plan.fakes import Submission

pytestmark = pytest.mark.integration

OLD_IMAGE = "ghcr.io/sei-protocol/sei:v6.2.0"
MARK_READY = Submission("mark-ready", None, None)
ROLLOUT = {"startedAt": "2026-01-02T03:04:05Z", "strategy": "InPlace", "targetHash": "0123abcd"}


async def _rolled_out(harness: ReconcilerHarness, name: str) -> dict[str, Any]:
    """Reports the StatefulSet's current generation rolled out (what the StatefulSet controller
    reports once its pod runs the template) and returns the object with that status."""
    statefulset = await harness.kube.get("apps/v1", "StatefulSet", name, harness.namespace)
    status = {
        "observedGeneration": statefulset["metadata"]["generation"],
        "replicas": 1,
        "updatedReplicas": 1,
    }
    written: dict[str, Any] = await harness.kube.status().patch(statefulset, {"status": status})
    return written


# --- currentImage (3.4, F1) -----------------------------------------------------------------


async def test_running_node_reports_the_image_its_statefulset_rolled_out(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node", currentImage=OLD_IMAGE)
    harness.sidecar("node").reported_status = SidecarStatus.READY
    await harness.reconcile("node")
    await _rolled_out(harness, "node")

    await harness.reconcile("node")

    assert (await harness.node("node")).status.current_image == IMAGE


async def test_current_image_is_judged_on_the_statefulset_our_apply_returned(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    harness.sidecar("node").reported_status = SidecarStatus.READY
    await harness.reconcile("node")
    # The reconciler's cache lags: it keeps the StatefulSet fully rolled out at generation 1.
    stale = await _rolled_out(harness, "node")
    harness.reads.pin(stale)

    await harness.set_spec("node", {"image": NEW_IMAGE})
    await harness.reconcile("node")

    node = await harness.node("node")
    assert rolled_out_image(node, stale) == NEW_IMAGE  # what the stale copy would report
    assert node.status.current_image == IMAGE


# --- readiness after a sidecar restart (F2) -------------------------------------------------


async def test_standalone_node_whose_sidecar_restarted_gets_mark_ready(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    harness.sidecar("node").reported_status = SidecarStatus.INITIALIZING

    await harness.reconcile("node")

    assert harness.sidecar("node").submissions == [MARK_READY]


async def test_node_whose_sidecar_is_ready_gets_no_mark_ready(harness: ReconcilerHarness) -> None:
    await harness.running("node")
    harness.sidecar("node").reported_status = SidecarStatus.READY

    await harness.reconcile("node")

    assert harness.sidecar("node").submissions == []


async def test_node_of_a_group_rolling_out_is_left_to_the_group_plan(
    harness: ReconcilerHarness,
) -> None:
    group = await harness.create_group("group", rollout=ROLLOUT)
    await harness.running("group-0", owner=group)
    harness.sidecar("group-0").reported_status = SidecarStatus.INITIALIZING

    await harness.reconcile("group-0")

    assert harness.sidecar("group-0").submissions == []


async def test_node_of_a_group_without_a_rollout_gets_mark_ready(
    harness: ReconcilerHarness,
) -> None:
    group = await harness.create_group("group")
    await harness.running("group-0", owner=group)
    harness.sidecar("group-0").reported_status = SidecarStatus.INITIALIZING

    await harness.reconcile("group-0")

    assert harness.sidecar("group-0").submissions == [MARK_READY]


# --- requeues -------------------------------------------------------------------------------


async def test_running_pass_without_news_requeues_after_thirty_seconds(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    harness.sidecar("node").reported_status = SidecarStatus.READY

    assert await harness.reconcile("node") == Result(requeue_after=30.0)


async def test_unaddressable_sidecar_is_counted_and_requeued_after_thirty_seconds(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    harness.sidecars.factory_error = SidecarUnavailableError("no address for node")

    result = await harness.reconcile("node")

    unreachable = harness.metric(
        "sei_controller_sidecar_unreachable_total", namespace=harness.namespace, node="node"
    )
    assert (result, unreachable) == (Result(requeue_after=30.0), 1.0)


async def test_spec_change_of_a_running_node_builds_no_new_plan(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    await harness.set_spec("node", {"overrides": {"evm.http_port": "8547"}})

    await harness.reconcile("node")

    node = await harness.node("node")
    assert (node.status.phase, node.status.plan) == ("Running", None)
