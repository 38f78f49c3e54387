"""Recorder and broadcaster against an in-memory event sink: event shape, never raising,
queueing, PATCH/CREATE, retries, stop."""

from __future__ import annotations

import asyncio
import copy
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from controller_runtime.client import (
    AlreadyExistsError,
    InvalidError,
    NotFoundError,
    PatchType,
    ServiceUnavailableError,
)
from controller_runtime.clock import FakeClock
from controller_runtime.envtest import eventually
from controller_runtime.events import (
    NORMAL,
    WARNING,
    EventBroadcaster,
    EventRecorder,
    FakeRecorder,
    NoopRecorder,
)

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u"}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "n"}}


class FakeSink:
    """Stores Events by (namespace, name); fails the next calls with queued errors."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []
        self.errors: list[BaseException] = []
        self.always: BaseException | None = None
        self.hang = False
        self.cancelled = 0  # calls abandoned while hanging
        self._rv = 0

    async def _enter(self, verb: str) -> None:
        self.calls.append(verb)
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if self.always is not None:
            raise self.always
        if self.errors:
            raise self.errors.pop(0)

    def _store(self, key: tuple[str, str], event: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        event["metadata"]["resourceVersion"] = str(self._rv)
        self.events[key] = event
        return copy.deepcopy(event)

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        await self._enter("create")
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if key in self.events:
            raise AlreadyExistsError(409, "AlreadyExists", "exists")
        assert "resourceVersion" not in obj["metadata"]
        return self._store(key, copy.deepcopy(obj))

    async def patch(
        self, obj: dict[str, Any], patch: Any, patch_type: PatchType = PatchType.MERGE
    ) -> dict[str, Any]:
        await self._enter("patch")
        assert patch_type is PatchType.STRATEGIC
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if key not in self.events:
            raise NotFoundError(404, "NotFound", "no such event")
        return self._store(key, {**self.events[key], **patch})


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
async def broadcaster(sink: FakeSink) -> AsyncIterator[EventBroadcaster]:
    b = EventBroadcaster(sink, retry_interval=0.001, hostname="host-1")
    await b.start()
    yield b
    await b.stop(timeout=1)


async def flushed(b: EventBroadcaster) -> None:
    await eventually(lambda: b.pending == 0, timeout=5, interval=0.001, message="queue drained")


async def test_event_shape(broadcaster: EventBroadcaster, sink: FakeSink) -> None:
    before = time.time_ns()
    broadcaster.new_recorder("sei-controller").event(POD, WARNING, "Failed", "it broke")
    await flushed(broadcaster)
    [(key, event)] = sink.events.items()
    name, _, nanos = event["metadata"]["name"].partition(".")
    assert name == "p"
    assert before <= int(nanos, 16) <= time.time_ns()
    assert key == ("ns", event["metadata"]["name"])
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "p",
        "namespace": "ns",
        "uid": "u",
    }
    assert event["type"] == "Warning"
    assert (event["reason"], event["message"], event["count"]) == ("Failed", "it broke", 1)
    assert event["source"] == {"component": "sei-controller"}
    assert event["reportingComponent"] == "sei-controller"
    assert event["reportingInstance"] == "sei-controller-host-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["firstTimestamp"])
    assert event["lastTimestamp"] == event["firstTimestamp"]


async def test_cluster_scoped_objects_get_events_in_default(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    broadcaster.new_recorder("c").eventf(NODE, NORMAL, "Seen", "node %s is %d%% full", "n1", 90)
    await flushed(broadcaster)
    [event] = sink.events.values()
    assert event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]
    assert event["message"] == "node n1 is 90% full"


async def test_reporting_instance_is_at_most_128_characters() -> None:
    b = EventBroadcaster(FakeSink(), hostname="h" * 200)
    recorder = b.new_recorder("ctl")
    assert recorder.instance == ("ctl-" + "h" * 200)[:128]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="needs a name"):
        b.new_recorder("")


async def test_annotated_events_carry_annotations(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    broadcaster.new_recorder("c").annotated_eventf(POD, {"a": "1"}, NORMAL, "R", "m")
    await flushed(broadcaster)
    [event] = sink.events.values()
    assert event["metadata"]["annotations"] == {"a": "1"}


async def test_bad_calls_are_dropped_without_raising(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    r = broadcaster.new_recorder("c")
    r.event(POD, "Error", "R", "unsupported type")
    r.event({"metadata": {"name": "x"}}, WARNING, "R", "no kind")
    r.event({}, WARNING, "R", "nothing")
    r.eventf(POD, WARNING, "R", "%d apples", "not-a-number")  # format error: kept, raw
    r.event(POD, WARNING, "R", "x" * 5000)
    await flushed(broadcaster)
    messages = sorted(e["message"] for e in sink.events.values())
    assert messages == ["%d apples ('not-a-number',)", "x" * 1024]


async def test_event_never_raises_even_if_correlation_breaks(
    broadcaster: EventBroadcaster, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(broadcaster._correlator, "correlate", broken)
    broadcaster.new_recorder("c").event(POD, WARNING, "R", "m")  # logged, not raised
    assert broadcaster.stats.accepted == 0


async def test_repeats_are_patched_onto_one_event(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    r = broadcaster.new_recorder("c")
    for _ in range(20):
        r.event(POD, WARNING, "BackOff", "restarting")
    await flushed(broadcaster)
    [event] = sink.events.values()
    assert event["count"] == 20
    assert sink.calls == ["create"] + ["patch"] * 19


async def test_patch_of_a_vanished_event_falls_back_to_create(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    r = broadcaster.new_recorder("c")
    r.event(POD, WARNING, "BackOff", "restarting")
    await flushed(broadcaster)
    sink.events.clear()  # expired (the API server's event TTL)
    r.event(POD, WARNING, "BackOff", "restarting")
    await flushed(broadcaster)
    assert sink.calls == ["create", "patch", "create"]
    [event] = sink.events.values()
    assert event["count"] == 2


async def test_transport_errors_and_503_are_retried(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    sink.errors = [
        ConnectionError("refused"),
        TimeoutError(),
        ServiceUnavailableError(503, "ServiceUnavailable", "busy"),
    ]
    broadcaster.new_recorder("c").event(POD, WARNING, "R", "m")
    await flushed(broadcaster)
    assert sink.calls == ["create"] * 4
    assert broadcaster.stats.retries == 3
    assert broadcaster.stats.written == 1


async def test_gives_up_after_max_tries(sink: FakeSink) -> None:
    b = EventBroadcaster(sink, retry_interval=0.001, max_tries=5)
    await b.start()
    sink.always = ConnectionError("refused")
    b.new_recorder("c").event(POD, WARNING, "R", "m")
    await flushed(b)
    await b.stop()
    assert sink.calls == ["create"] * 5
    assert (b.stats.failed, b.stats.written) == (1, 0)


async def test_server_rejections_are_not_retried(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    sink.errors = [InvalidError(422, "Invalid", "bad event")]
    broadcaster.new_recorder("c").event(POD, WARNING, "R", "m")
    await flushed(broadcaster)
    assert sink.calls == ["create"]
    assert broadcaster.stats.failed == 1


async def test_full_queue_drops_and_stop_flushes(sink: FakeSink) -> None:
    b = EventBroadcaster(sink, queue_size=5)
    r = b.new_recorder("c")
    for i in range(10):  # not started yet: the queue fills up
        r.event(POD, NORMAL, f"R{i}", "m")
    assert (b.stats.accepted, b.stats.dropped) == (5, 5)
    await b.start()
    await b.stop(timeout=5)
    assert len(sink.events) == 5
    r.event(POD, NORMAL, "Late", "m")  # after stop: dropped
    assert b.stats.dropped == 6


async def hung_writer(sink: FakeSink) -> tuple[EventBroadcaster, EventRecorder]:
    """A started broadcaster whose writer is stuck in its first call to a sink that never
    answers."""
    b = EventBroadcaster(sink)
    await b.start()
    sink.hang = True
    r = b.new_recorder("c")
    r.event(POD, NORMAL, "R0", "m")
    await eventually(lambda: sink.calls == ["create"], timeout=5, interval=0.001)
    return b, r


async def test_recording_never_waits_for_a_hung_server(sink: FakeSink) -> None:
    b, r = await hung_writer(sink)
    # No await between these calls: the loop, hence the hung write, cannot run meanwhile, so
    # each event() returned on its own and left its event queued.
    for i in range(1, 50):
        r.event(POD, NORMAL, f"R{i}", "m")
    # One object, one type: the spam filter let the first 25 through.
    assert (b.stats.accepted, b.stats.skipped, b.pending) == (25, 25, 25)
    assert (sink.calls, b.stats.written) == (["create"], 0)
    await b.stop(timeout=0)


async def test_stop_gives_up_on_a_hung_server(sink: FakeSink) -> None:
    b, r = await hung_writer(sink)
    r.event(POD, NORMAL, "R1", "m")
    # The guard only fails a stop() that waits for the sink instead of its own timeout.
    await asyncio.wait_for(b.stop(timeout=0.2), timeout=60)
    assert sink.cancelled == 1  # the hung write was abandoned, not left running
    assert (sink.calls, b.stats.written, b.pending) == (["create"], 0, 1)


async def test_events_from_other_threads_are_accepted(
    broadcaster: EventBroadcaster, sink: FakeSink
) -> None:
    r = broadcaster.new_recorder("c")
    thread = threading.Thread(target=lambda: r.event(POD, NORMAL, "FromThread", "m"))
    thread.start()
    thread.join()
    await eventually(lambda: len(sink.events) == 1, timeout=5, interval=0.001)
    [event] = sink.events.values()
    assert event["reason"] == "FromThread"


async def test_names_are_unique_even_within_one_clock_tick(sink: FakeSink) -> None:
    b = EventBroadcaster(sink, clock=FakeClock())
    r = b.new_recorder("c")
    for i in range(3):
        r.event(POD, NORMAL, f"R{i}", "m")
    await b.start()
    await b.stop()
    assert len({name for _, name in sink.events}) == 3


def test_fake_and_noop_recorders() -> None:
    fake = FakeRecorder()
    fake.event(POD, WARNING, "Failed", "boom")
    fake.eventf(POD, NORMAL, "Scaled", "to %d", 3)
    fake.annotated_eventf(POD, {"k": "v"}, NORMAL, "A", "x")
    assert fake.events == ["Warning Failed boom", "Normal Scaled to 3", "Normal A x"]
    assert fake.recorded[0].obj is POD
    assert fake.recorded[2].annotations == {"k": "v"}
    NoopRecorder().event(POD, WARNING, "R", "m")
