"""SeiNode reconciler, pass by pass on the real API server: phase transitions as events and
metrics (spec 3.3, 3.6, 9.1), the Failed phase, and deletion (3.8; the TestNodeDeletion_* row
of 11.3)."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.envtest import eventually
from tests.integration.seinode.reconciler_harness import (
    API_VERSION,
    KIND,
    S3_SNAPSHOT,
    ReconcilerHarness,
)

pytestmark = pytest.mark.integration

FINALIZER = "sei.io/seinode-finalizer"
PHASES = ("Pending", "Initializing", "Running", "Failed", "Terminating")
FAILED_MESSAGE = "SeiNode is in Failed state. Delete and recreate the resource to retry."


async def _drive_to_running(harness: ReconcilerHarness, name: str) -> None:
    """A validator without snapshot (configure-genesis, config-apply, config-validate,
    mark-ready) on a sidecar that completes every task at once."""
    await harness.create(name, {"validator": {}})
    harness.sidecar(name).complete_on_submit = True
    for _ in range(10):
        await harness.reconcile(name)
        if (await harness.node(name)).status.phase == "Running":
            return
    raise AssertionError(f"{name} did not reach Running in 10 passes")


def _phase_gauge(harness: ReconcilerHarness, name: str) -> dict[str, float | None]:
    return {
        phase: harness.metric(
            "sei_controller_seinode_phase", namespace=harness.namespace, name=name, phase=phase
        )
        for phase in PHASES
    }


async def _delete(harness: ReconcilerHarness, name: str) -> None:
    """Deletes the node (its finalizer keeps it) and waits until the cache shows it deleting."""
    meta = {"name": name, "namespace": harness.namespace}
    await harness.kube.delete({"apiVersion": API_VERSION, "kind": KIND, "metadata": meta})
    await harness.synced(await harness.raw(name))


# --- transitions ----------------------------------------------------------------------------


async def test_transitions_are_phase_transition_events(harness: ReconcilerHarness) -> None:
    await _drive_to_running(harness, "val-0")

    assert [e for e in harness.recorder.events if "PhaseTransition" in e] == [
        "Normal PhaseTransition Phase changed from Pending to Initializing",
        "Normal PhaseTransition Phase changed from Initializing to Running",
    ]


async def test_transition_events_are_about_the_node(harness: ReconcilerHarness) -> None:
    await harness.create("node")

    await harness.reconcile("node")

    involved = harness.recorder.recorded[0].obj
    stored = await harness.raw("node")
    assert (involved["kind"], involved["metadata"]["uid"]) == ("SeiNode", stored["metadata"]["uid"])


async def test_phase_gauge_is_one_hot_on_the_current_phase(harness: ReconcilerHarness) -> None:
    await _drive_to_running(harness, "val-0")

    assert _phase_gauge(harness, "val-0") == {
        "Pending": 0.0,
        "Initializing": 0.0,
        "Running": 1.0,
        "Failed": 0.0,
        "Terminating": 0.0,
    }


async def test_each_transition_is_counted_once(harness: ReconcilerHarness) -> None:
    await _drive_to_running(harness, "val-0")

    counted = {
        (source, target): harness.metric(
            "sei_controller_seinode_phase_transitions_total",
            namespace=harness.namespace,
            **{"from": source, "to": target},
        )
        for source, target in (("Pending", "Initializing"), ("Initializing", "Running"))
    }
    assert counted == {("Pending", "Initializing"): 1.0, ("Initializing", "Running"): 1.0}


async def test_reaching_running_observes_the_init_duration(harness: ReconcilerHarness) -> None:
    await _drive_to_running(harness, "val-0")

    ns = harness.namespace
    count = harness.metric(
        "sei_controller_seinode_init_duration_seconds_count", namespace=ns, chain_id="pacific-1"
    )
    last = harness.metric(
        "sei_controller_seinode_last_init_duration_seconds", namespace=ns, name="val-0"
    )
    assert count == 1.0
    assert last is not None
    assert last >= 0.0


async def test_phase_gauge_is_refreshed_from_status_at_the_start_of_a_pass(
    harness: ReconcilerHarness,
) -> None:
    # A restarted manager knows no series: the first pass over a Running node sets them.
    await harness.running("node")

    await harness.reconcile("node")

    assert _phase_gauge(harness, "node")["Running"] == 1.0


# --- Failed ---------------------------------------------------------------------------------


async def test_failed_node_warns_on_every_pass(harness: ReconcilerHarness) -> None:
    await harness.create("node", finalizers=["sei.io/seinode-finalizer"])
    await harness.set_status("node", {"phase": "Failed"})

    await harness.reconcile_times("node", 2)

    assert harness.recorder.events == [f"Warning NodeFailed {FAILED_MESSAGE}"] * 2


# --- deletion -------------------------------------------------------------------------------


async def test_deletion_deletes_the_data_pvc(harness: ReconcilerHarness) -> None:
    await harness.create("snap-0", {"fullNode": {"snapshot": S3_SNAPSHOT}})
    await harness.reconcile("snap-0")
    await _delete(harness, "snap-0")

    await harness.reconcile("snap-0")

    pvc = await harness.child("v1", "PersistentVolumeClaim", "data-snap-0")
    assert pvc is None or pvc["metadata"].get("deletionTimestamp") is not None


async def test_deletion_removes_the_finalizer_and_the_node_goes(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node")
    await harness.reconcile("node")
    await _delete(harness, "node")

    await harness.reconcile("node")

    await eventually(
        lambda: harness.child(API_VERSION, KIND, "node"),
        lambda got: got is None,
        timeout=30,
        message="SeiNode node gone",
    )


async def test_deletion_forgets_the_node_metric_series(harness: ReconcilerHarness) -> None:
    await harness.create("node", {"fullNode": {"snapshot": S3_SNAPSHOT}})
    await harness.reconcile_times("node", 2)  # phase series, then the plan-active series
    await _delete(harness, "node")

    await harness.reconcile("node")

    plan_active = harness.metric(
        "sei_controller_plan_active", controller="seinode", namespace=harness.namespace, name="node"
    )
    assert (_phase_gauge(harness, "node"), plan_active) == ({p: None for p in PHASES}, None)


async def test_deletion_records_terminating_and_keeps_foreign_finalizers(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", finalizers=["example.com/hold", "sei.io/seinode-finalizer"])
    await harness.set_status("node", {"phase": "Running"})
    await _delete(harness, "node")
    harness.recorder.clear()

    await harness.reconcile("node")

    stored = await harness.raw("node")
    assert stored["status"]["phase"] == "Terminating"
    assert stored["metadata"]["finalizers"] == ["example.com/hold"]
    assert harness.recorder.events == []  # entering Terminating is no transition event


async def _between_the_finalizing_writes(
    harness: ReconcilerHarness, name: str, since: str
) -> dict[str, Any]:
    """The node as it was between the finalizing pass's status write (Terminating) and its
    finalizer patch: what a cache that has seen only the first of the two holds."""
    async with harness.kube.watch(
        API_VERSION,
        KIND,
        harness.namespace,
        resource_version=since,
        field_selector=f"metadata.name={name}",
        timeout_seconds=30,
    ) as events:
        async for event in events:
            obj: dict[str, Any] = event["object"]
            if event["type"] == "MODIFIED" and FINALIZER in obj["metadata"]["finalizers"]:
                return obj
    raise AssertionError("no version between the status write and the finalizer patch")


async def test_pass_after_finalizing_a_held_node_builds_on_its_own_write(
    harness: ReconcilerHarness,
) -> None:
    await harness.create("node", finalizers=["example.com/hold", FINALIZER])
    await _delete(harness, "node")
    before = (await harness.raw("node"))["metadata"]["resourceVersion"]
    await harness.reconcile("node")  # Terminating, then our finalizer removed
    harness.reads.pin(await _between_the_finalizing_writes(harness, "node", before))

    await harness.reconcile("node")

    assert harness.responses(409) == 0
    assert (await harness.raw("node"))["metadata"]["finalizers"] == ["example.com/hold"]


async def _held_then_gone(harness: ReconcilerHarness) -> None:
    """A node another party's finalizer holds after ours went, reconciled while held, then
    released; ends with the pass its delete event brings."""
    await harness.create("node", finalizers=["example.com/hold", FINALIZER])
    await harness.set_status("node", {"phase": "Running"})
    await _delete(harness, "node")
    await harness.reconcile("node")  # ours is done: Terminating, series forgotten
    await harness.reconcile("node")  # any event on its children brings it back while held
    held = await harness.raw("node")
    await harness.kube.patch(held, {"metadata": {"finalizers": None}})
    await eventually(
        lambda: harness.cache.list(API_VERSION, KIND, harness.namespace),
        lambda listed: not listed["items"],
        timeout=30,
        message="the cache without the node",
    )
    await harness.reconcile("node")


async def test_node_held_by_a_foreign_finalizer_leaves_no_series_once_gone(
    harness: ReconcilerHarness,
) -> None:
    await _held_then_gone(harness)

    assert _phase_gauge(harness, "node") == {p: None for p in PHASES}


async def test_node_held_by_a_foreign_finalizer_leaves_no_remembered_write_once_gone(
    harness: ReconcilerHarness,
) -> None:
    await _held_then_gone(harness)

    assert len(harness.reconciler.d.own_writes) == 0
