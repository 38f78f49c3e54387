"""Aggregation, deduplication and the spam filter, on a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.events import CorrelatorOptions, EventCorrelator
from controller_runtime.events.recorder import EventRequest, build_event, object_reference

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(
    clock: FakeClock,
    message: str = "boom",
    reason: str = "Failed",
    event_type: str = "Warning",
    obj: dict[str, Any] = POD,
    component: str = "ctl",
) -> dict[str, Any]:
    clock.step(0.001)  # distinct names, as the broadcaster guarantees
    request = EventRequest(
        object_reference(obj), event_type, reason, message, component, f"{component}-host"
    )
    return build_event(request, clock.wall_ns())


def test_identical_events_become_one_with_a_growing_count(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    first = c.correlate(make(clock))
    assert first.patch is None
    assert not first.skip
    assert first.event["count"] == 1
    for n in range(2, 6):
        clock.step(10)
        again = c.correlate(make(clock))
        assert again.event["metadata"]["name"] == first.event["metadata"]["name"]
        assert again.event["firstTimestamp"] == first.event["firstTimestamp"]
        assert again.event["count"] == n
        assert again.patch == {
            "count": n,
            "lastTimestamp": again.event["lastTimestamp"],
            "message": "boom",
        }
    assert again.event["lastTimestamp"] != first.event["lastTimestamp"]


def test_resource_version_learned_from_the_server_is_kept(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    first = c.correlate(make(clock))
    second = c.correlate(make(clock))  # queued before the first write came back
    written = {**first.event, "metadata": {**first.event["metadata"], "resourceVersion": "42"}}
    c.update_state(first.key, written)
    third = c.correlate(make(clock))
    assert third.event["count"] == 3  # the server's count 1 does not set us back
    assert third.event["metadata"]["resourceVersion"] == "42"
    assert second.event["count"] == 2


def test_events_that_differ_stay_apart(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    variants = [
        make(clock),
        make(clock, message="other"),
        make(clock, reason="Other"),
        make(clock, event_type="Normal"),
        make(clock, component="ctl2"),
        make(clock, obj={**POD, "metadata": {**POD["metadata"], "uid": "u2"}}),
    ]
    names = {c.correlate(e).event["metadata"]["name"] for e in variants}
    assert len(names) == len(variants)


def test_tenth_distinct_message_starts_a_combined_event(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    results = [c.correlate(make(clock, message=f"m{i}")) for i in range(15)]
    assert [r.event["message"] for r in results[:9]] == [f"m{i}" for i in range(9)]
    combined = results[9:]
    assert combined[0].event["message"] == "(combined from similar events): m9"
    assert combined[0].patch is None
    assert {r.event["metadata"]["name"] for r in combined} == {
        combined[0].event["metadata"]["name"]
    }
    assert [r.event["count"] for r in combined] == [1, 2, 3, 4, 5, 6]
    assert combined[-1].patch is not None
    assert combined[-1].patch["message"] == "(combined from similar events): m14"


def test_aggregation_restarts_after_a_quiet_interval(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    for i in range(9):
        c.correlate(make(clock, message=f"m{i}"))
    clock.step(600.01)
    fresh = c.correlate(make(clock, message="m9"))
    assert fresh.event["message"] == "m9"
    clock.step(599)  # within the window of the previous one: still counting
    for i in range(10, 18):
        assert not c.correlate(make(clock, message=f"m{i}")).event["message"].startswith("(")
    assert c.correlate(make(clock, message="m18")).event["message"].startswith("(combined")


def test_spam_filter_allows_a_burst_of_25_then_one_per_5_minutes(clock: FakeClock) -> None:
    c = EventCorrelator(clock=clock)
    # The spam key ignores reason and message: any mix counts against the same bucket.
    results = [c.correlate(make(clock, reason=f"R{i % 3}")) for i in range(40)]
    assert [r.skip for r in results] == [False] * 25 + [True] * 15
    clock.step(299)
    assert c.correlate(make(clock, reason="R0")).skip
    clock.step(1.1)
    allowed = c.correlate(make(clock, reason="R0"))
    assert not allowed.skip
    assert c.correlate(make(clock, reason="R0")).skip
    # Skipped events were still counted: the write carries every occurrence (14 + 2).
    assert allowed.event["count"] == 16


def test_spam_filter_is_per_object_and_type(clock: FakeClock) -> None:
    c = EventCorrelator(CorrelatorOptions(burst=2), clock=clock)
    other = {**POD, "metadata": {**POD["metadata"], "name": "q", "uid": "u9"}}
    assert [c.correlate(make(clock)).skip for _ in range(3)] == [False, False, True]
    assert not c.correlate(make(clock, obj=other)).skip
    assert not c.correlate(make(clock, event_type="Normal")).skip


def test_caches_are_bounded(clock: FakeClock) -> None:
    c = EventCorrelator(CorrelatorOptions(cache_size=8), clock=clock)
    first = c.correlate(make(clock, message="m0", reason="R0"))
    for i in range(1, 20):
        c.correlate(make(clock, message=f"m{i}", reason=f"R{i}"))
    # The first observation was evicted: the same event again starts a new Event.
    again = c.correlate(make(clock, message="m0", reason="R0"))
    assert again.event["count"] == 1
    assert again.event["metadata"]["name"] != first.event["metadata"]["name"]
