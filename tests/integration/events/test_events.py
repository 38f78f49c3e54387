"""Events against the real API server, read back the way kubectl reads them (core/v1 list)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, TcpProxy, eventually
from controller_runtime.events import NORMAL, WARNING, EventBroadcaster


@pytest.fixture
async def broadcaster(kube: Client) -> AsyncIterator[EventBroadcaster]:
    b = EventBroadcaster(kube, retry_interval=0.2)
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def configmap(kube: Client, namespace: str) -> dict[str, Any]:
    return await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "subject", "namespace": namespace},
        }
    )


async def events_about(kube: Client, namespace: str, name: str) -> list[dict[str, Any]]:
    listed = await kube.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")
    items: list[dict[str, Any]] = listed["items"]
    return items


async def flushed(b: EventBroadcaster) -> None:
    await eventually(lambda: b.pending == 0, timeout=20, interval=0.02, message="events written")


async def test_repeated_identical_warnings_are_one_event_with_a_growing_count(
    kube: Client, namespace: str, broadcaster: EventBroadcaster, configmap: dict[str, Any]
) -> None:
    recorder = broadcaster.new_recorder("sei-controller")
    for _ in range(20):
        recorder.event(configmap, WARNING, "BackOff", "Back-off restarting failed container")
    await flushed(broadcaster)
    [event] = await events_about(kube, namespace, "subject")
    assert event["count"] == 20
    first_name = event["metadata"]["name"]
    assert first_name.startswith("subject.")
    assert event["involvedObject"]["uid"] == configmap["metadata"]["uid"]
    assert (event["type"], event["reason"]) == ("Warning", "BackOff")
    assert event["reportingComponent"] == "sei-controller"
    assert event["reportingInstance"] == f"sei-controller-{broadcaster.hostname}"

    for _ in range(3):
        recorder.eventf(configmap, WARNING, "BackOff", "Back-off restarting %s container", "failed")
    await flushed(broadcaster)
    [event] = await events_about(kube, namespace, "subject")
    assert (event["metadata"]["name"], event["count"]) == (first_name, 23)
    assert event["lastTimestamp"] >= event["firstTimestamp"]


async def test_distinct_messages_are_distinct_events(
    kube: Client, namespace: str, broadcaster: EventBroadcaster, configmap: dict[str, Any]
) -> None:
    recorder = broadcaster.new_recorder("sei-controller")
    for i in range(5):
        recorder.event(configmap, NORMAL, "Scaled", f"scaled to {i}")
    await flushed(broadcaster)
    events = await events_about(kube, namespace, "subject")
    assert sorted(e["message"] for e in events) == [f"scaled to {i}" for i in range(5)]
    assert {e["count"] for e in events} == {1}


async def test_many_similar_messages_are_combined(
    kube: Client, namespace: str, broadcaster: EventBroadcaster, configmap: dict[str, Any]
) -> None:
    recorder = broadcaster.new_recorder("sei-controller")
    for i in range(15):
        recorder.event(configmap, WARNING, "SyncFailed", f"height {i} not reached")
    await flushed(broadcaster)
    events = await events_about(kube, namespace, "subject")
    assert len(events) == 10  # 9 on their own, then one combined event
    [combined] = [e for e in events if e["message"].startswith("(combined from similar events)")]
    assert combined["count"] == 6
    assert combined["message"] == "(combined from similar events): height 14 not reached"


async def test_spam_filter_drops_events_beyond_the_burst(
    kube: Client, namespace: str, broadcaster: EventBroadcaster, configmap: dict[str, Any]
) -> None:
    recorder = broadcaster.new_recorder("sei-controller")
    for _ in range(40):
        recorder.event(configmap, WARNING, "BackOff", "hot loop")
    await flushed(broadcaster)
    [event] = await events_about(kube, namespace, "subject")
    assert event["count"] == 25
    assert broadcaster.stats.skipped == 15
    # Another object has its own budget.
    recorder.event({**configmap, "metadata": {**configmap["metadata"], "name": "other",
                    "uid": "x"}}, WARNING, "BackOff", "hot loop")  # fmt: skip
    await flushed(broadcaster)
    assert len(await events_about(kube, namespace, "other")) == 1


async def test_cluster_scoped_objects_get_events_in_default(
    kube: Client, namespace: str, broadcaster: EventBroadcaster
) -> None:
    ns = await kube.get("v1", "Namespace", namespace)
    broadcaster.new_recorder("sei-controller").event(ns, NORMAL, "Seen", "namespace seen")
    await flushed(broadcaster)
    [event] = await events_about(kube, "default", namespace)
    assert event["involvedObject"]["kind"] == "Namespace"
    assert event["message"] == "namespace seen"


async def test_recording_never_blocks_or_raises_while_the_api_server_is_unreachable(
    kube: Client, namespace: str, control_plane: ControlPlane, configmap: dict[str, Any]
) -> None:
    proxy = TcpProxy("127.0.0.1", control_plane.ports.apiserver)
    await proxy.start()
    cfg = await load_config(control_plane.kubeconfig)
    cfg.host = f"https://{proxy.address}"
    via_proxy = Client(RestClient(cfg, registry=CollectorRegistry()))
    broadcaster = EventBroadcaster(via_proxy, retry_interval=0.2, request_timeout=2)
    await broadcaster.start()
    try:
        proxy.cut()
        recorder = broadcaster.new_recorder("sei-controller")
        # No await between the calls: the loop cannot run a connection attempt meanwhile, so
        # every event() returned without waiting on the server, and each event was counted.
        for i in range(200):
            recorder.event(configmap, WARNING, f"Reason{i % 4}", f"unreachable {i}")
        stats = broadcaster.stats
        assert (stats.accepted + stats.skipped + stats.dropped, stats.written) == (200, 0)
        await eventually(lambda: broadcaster.stats.retries >= 2, timeout=10)
        assert broadcaster.stats.written == 0

        proxy.restore()  # the queued events arrive once the server is back
        await flushed(broadcaster)
        events = await events_about(kube, namespace, "subject")
        assert len(events) == broadcaster.stats.written > 0
    finally:
        proxy.cut()
        broadcaster.new_recorder("late").event(configmap, WARNING, "R", "m")
        # stop() gives up after its own timeout with the server gone; the guard only fails a
        # stop that waits on the server instead (request timeout 2 s, retries every 0.2 s).
        await asyncio.wait_for(broadcaster.stop(timeout=0.5), timeout=60)
        await proxy.stop()
        await via_proxy.rest.close()
