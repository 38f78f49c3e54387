"""SeiNode reconciler, pass by pass on the real API server: label peer sources resolved into
``status.resolvedPeers`` (spec 12.5; ports of the TestReconcilePeers_* rows of 11.3 that need
the API server). "No write" is read from the writes the reconciler sent, not from the node's
resourceVersion: the API server leaves the resourceVersion alone for a patch that changes
nothing, so a needless write would go unseen there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from controller_runtime.envtest import eventually
from controllers.sidecar.api import SidecarStatus
from tests.integration.seinode.reconciler_harness import API_VERSION, KIND, ReconcilerHarness

pytestmark = pytest.mark.integration

PEER_LABELS = {"sei.io/chain": "pacific-1", "sei.io/role": "rpc"}
LABEL_PEERS = {"peers": [{"label": {"selector": PEER_LABELS}}]}
STATIC_PEERS = {"peers": [{"static": {"addresses": ["0123abcd@seed.example:26656"]}}]}


async def _peers(harness: ReconcilerHarness, *names: str) -> None:
    for name in names:
        await harness.create(name, labels=PEER_LABELS)


async def _quiet_running(harness: ReconcilerHarness, name: str, spec: Mapping[str, Any]) -> None:
    """A Running node whose passes have nothing else to write (image reported, sidecar Ready,
    no monitor task)."""
    await harness.running(name, spec)
    harness.sidecar(name).reported_status = SidecarStatus.READY


async def test_label_source_resolves_to_the_sorted_pod_addresses_of_matching_nodes(
    harness: ReconcilerHarness,
) -> None:
    await _peers(harness, "peer-2", "peer-1")
    await harness.create("other")  # no labels: not a peer
    await harness.create("node", LABEL_PEERS)

    await harness.reconcile("node")

    ns = harness.namespace
    assert (await harness.node("node")).status.resolved_peers == [
        f"peer-1-0.peer-1.{ns}.svc.cluster.local",
        f"peer-2-0.peer-2.{ns}.svc.cluster.local",
    ]


async def test_peer_that_goes_away_is_dropped(harness: ReconcilerHarness) -> None:
    await _peers(harness, "peer-1", "peer-2")
    await harness.create("node", LABEL_PEERS)
    await harness.reconcile("node")

    gone = await harness.raw("peer-2")
    await harness.kube.delete(gone)
    await eventually(
        lambda: harness.cache.list(API_VERSION, KIND, harness.namespace),
        lambda listed: "peer-2" not in {i["metadata"]["name"] for i in listed["items"]},
        timeout=30,
        message="the cache without peer-2",
    )
    await harness.reconcile("node")

    assert (await harness.node("node")).status.resolved_peers == [
        f"peer-1-0.peer-1.{harness.namespace}.svc.cluster.local"
    ]


async def test_unchanged_resolved_peers_are_not_written_again(
    harness: ReconcilerHarness,
) -> None:
    await _peers(harness, "peer-1")
    await _quiet_running(harness, "node", LABEL_PEERS)
    await harness.reconcile("node")  # writes the resolved list once
    assert (await harness.node("node")).status.resolved_peers
    written = len(harness.node_writes("node"))

    await harness.reconcile("node")

    assert harness.node_writes("node")[written:] == []


async def test_node_without_label_sources_gets_no_peer_write(harness: ReconcilerHarness) -> None:
    await _peers(harness, "peer-1")
    await _quiet_running(harness, "node", STATIC_PEERS)

    await harness.reconcile("node")

    assert harness.node_writes("node") == []
    assert (await harness.node("node")).status.resolved_peers is None
