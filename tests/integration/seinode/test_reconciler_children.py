"""SeiNode reconciler, pass by pass on the real API server: the node's finalizer and child
objects (spec 3.7 steps 1-4, 7, 8; ports of the TestNodeReconcile_* rows of 11.3)."""

from __future__ import annotations

import pytest

from controller_runtime.controller import Result
from controllers.sidecar.api import SidecarStatus
from tests.integration.seinode.reconciler_harness import (
    NEW_IMAGE,
    S3_SNAPSHOT,
    ReconcilerHarness,
)

pytestmark = pytest.mark.integration

FINALIZER = "sei.io/seinode-finalizer"


def _container(statefulset: dict[str, object], name: str) -> dict[str, object]:
    pod = statefulset["spec"]["template"]["spec"]  # type: ignore[index]
    found: dict[str, object] = next(c for c in pod["containers"] if c["name"] == name)
    return found


async def test_missing_node_finishes_without_error_or_requeue(harness: ReconcilerHarness) -> None:
    assert await harness.reconcile("absent") == Result()


async def test_validator_node_gets_a_single_replica_statefulset_and_a_headless_service(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("val-0", {"validator": {}})
    harness.sidecar("val-0").complete_on_submit = True

    await harness.reconcile_times("val-0", 4)

    statefulset = await harness.child("apps/v1", "StatefulSet", "val-0")
    service = await harness.child("v1", "Service", "val-0")
    assert statefulset is not None
    assert statefulset["spec"]["replicas"] == 1
    assert service is not None
    assert service["spec"]["clusterIP"] == "None"


async def test_first_pass_adds_the_finalizer(harness: ReconcilerHarness) -> None:
    await harness.create("node")

    await harness.reconcile("node")

    assert FINALIZER in (await harness.raw("node"))["metadata"]["finalizers"]


async def test_repeated_passes_keep_exactly_one_unchanged_statefulset(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("snap-0", {"fullNode": {"snapshot": S3_SNAPSHOT}})

    await harness.reconcile_times("snap-0", 5)

    listed = await harness.kube.list("apps/v1", "StatefulSet", harness.namespace)
    assert [(s["metadata"]["name"], s["metadata"]["generation"]) for s in listed["items"]] == [
        ("snap-0", 1)
    ]


async def test_first_pass_creates_the_read_write_once_data_pvc(harness: ReconcilerHarness) -> None:
    await harness.create("snap-0", {"fullNode": {"snapshot": S3_SNAPSHOT}})

    await harness.reconcile("snap-0")

    pvc = await harness.child("v1", "PersistentVolumeClaim", "data-snap-0")
    assert pvc is not None
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]


async def test_snapshot_node_statefulset_runs_seid_init_then_the_sidecar(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("snap-0", {"fullNode": {"snapshot": S3_SNAPSHOT}})

    await harness.reconcile_times("snap-0", 2)  # Pending -> Initializing, then the first apply

    statefulset = await harness.child("apps/v1", "StatefulSet", "snap-0")
    assert statefulset is not None
    init = statefulset["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["seid-init", "sei-sidecar"]


async def test_running_node_rolls_a_new_image_into_its_statefulset(
    harness: ReconcilerHarness,
) -> None:
    await harness.running("node")
    harness.sidecar("node").reported_status = SidecarStatus.READY
    await harness.reconcile("node")

    await harness.set_spec("node", {"image": NEW_IMAGE})
    await harness.reconcile("node")

    statefulset = await harness.child("apps/v1", "StatefulSet", "node")
    assert statefulset is not None
    assert _container(statefulset, "seid")["image"] == NEW_IMAGE
