"""The election step against an in-memory lock, with a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.clock import FakeClock
from controller_runtime.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
)
from tests.unit.leaderelection.fakes import FakeLock, LeaseStore

LEASE = 15.0


def elector(
    identity: str, store: LeaseStore, clock: FakeClock, **config: float
) -> tuple[LeaderElector, FakeLock]:
    lock = FakeLock(identity, store)
    cfg = LeaderElectionConfig(
        lease_name="lease",
        lease_namespace="ns",
        identity=identity,
        lease_duration=config.get("lease_duration", LEASE),
        renew_deadline=config.get("renew_deadline", 10.0),
        retry_period=config.get("retry_period", 2.0),
    )
    return (
        LeaderElector(
            None,
            cfg,
            on_started_leading=lambda: None,
            on_stopped_leading=lambda: None,
            registry=CollectorRegistry(),
            clock=clock,
            lock=lock,
        ),
        lock,
    )


def held_by(
    holder: str,
    clock: FakeClock,
    transitions: int = 0,
    duration: int = int(LEASE),
    renew_time: datetime | None = None,
) -> LeaderElectionRecord:
    now = clock.wall()
    return LeaderElectionRecord(holder, duration, now, renew_time or now, transitions)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> LeaseStore:
    return LeaseStore()


async def test_creates_the_lease_when_there_is_none(clock: FakeClock, store: LeaseStore) -> None:
    a, _ = elector("a", store, clock)
    assert await a.try_acquire_or_renew()
    assert store.record == LeaderElectionRecord("a", 15, clock.wall(), clock.wall(), 0)
    assert a.leader() == "a"


async def test_held_lease_is_taken_only_after_lease_duration_on_the_local_clock(
    clock: FakeClock, store: LeaseStore
) -> None:
    store.write(held_by("b", clock, transitions=3))
    a, _ = elector("a", store, clock)
    assert not await a.try_acquire_or_renew()
    assert a.leader() == "b"
    clock.step(LEASE - 0.001)
    assert not await a.try_acquire_or_renew()
    clock.step(0.002)
    assert await a.try_acquire_or_renew()
    assert store.record is not None
    assert store.record.holder_identity == "a"
    assert store.record.leader_transitions == 4
    assert store.record.acquire_time == store.record.renew_time == clock.wall()


@pytest.mark.parametrize("skew", [-86400.0, 86400.0], ids=["renew-time-a-day-old", "in-future"])
async def test_record_timestamps_are_never_compared_with_the_local_clock(
    clock: FakeClock, store: LeaseStore, skew: float
) -> None:
    # The holder's clock is a day off: expiry still counts from when *we* first saw the record.
    store.write(held_by("b", clock, renew_time=clock.wall() + timedelta(seconds=skew)))
    a, _ = elector("a", store, clock)
    assert not await a.try_acquire_or_renew()
    clock.step(LEASE - 1)
    assert not await a.try_acquire_or_renew()
    clock.step(1.001)
    assert await a.try_acquire_or_renew()


async def test_a_changing_record_restarts_the_expiry(clock: FakeClock, store: LeaseStore) -> None:
    store.write(held_by("b", clock))
    a, _ = elector("a", store, clock)
    for _ in range(10):  # b renews every 10 s; 100 s pass, more than the 15 s lease
        assert not await a.try_acquire_or_renew()
        clock.step(10)
        store.write(held_by("b", clock))
    assert not await a.try_acquire_or_renew()
    clock.step(LEASE + 0.001)
    assert await a.try_acquire_or_renew()


async def test_expiry_uses_the_duration_in_the_record(clock: FakeClock, store: LeaseStore) -> None:
    store.write(held_by("b", clock, duration=3))
    a, _ = elector("a", store, clock)
    assert not await a.try_acquire_or_renew()
    clock.step(3.001)
    assert await a.try_acquire_or_renew()


async def test_renewal_takes_the_fast_path_and_keeps_acquire_time(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    assert await a.try_acquire_or_renew()
    acquired = clock.wall()
    store.calls.clear()
    for _ in range(3):
        clock.step(2)
        assert await a.try_acquire_or_renew()
    assert store.calls == ["a:update"] * 3  # no reads: optimistic update on our own write
    assert store.record == LeaderElectionRecord("a", 15, acquired, clock.wall(), 0)


async def test_fast_path_conflict_falls_back_and_respects_a_new_holder(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    assert await a.try_acquire_or_renew()
    store.write(held_by("b", clock, transitions=1))  # b took over behind a's back
    clock.step(2)
    store.calls.clear()
    assert not await a.try_acquire_or_renew()
    assert store.calls == ["a:update", "a:get"]
    assert a.leader() == "b"
    assert store.record is not None
    assert store.record.holder_identity == "b"


async def test_slow_path_renewal_keeps_acquire_time_and_transitions(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    assert await a.try_acquire_or_renew()
    acquired = clock.wall()
    # Someone rewrites the record unchanged (a new resourceVersion): a's fast path conflicts.
    assert store.record is not None
    store.write(store.record)
    clock.step(2)
    assert await a.try_acquire_or_renew()
    assert store.record == LeaderElectionRecord("a", 15, acquired, clock.wall(), 0)


async def test_leader_that_stopped_renewing_is_replaced(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    b, _ = elector("b", store, clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.step(LEASE + 0.001)  # a is gone
    assert await b.try_acquire_or_renew()
    assert store.record is not None
    assert (store.record.holder_identity, store.record.leader_transitions) == ("b", 1)
    # a comes back: its fast path conflicts, the slow path sees b holding a valid lease.
    assert not await a.try_acquire_or_renew()
    assert a.leader() == "b"


async def test_released_lease_is_taken_at_once(clock: FakeClock, store: LeaseStore) -> None:
    a, _ = elector("a", store, clock)
    b, _ = elector("b", store, clock)
    assert await a.try_acquire_or_renew()
    clock.step(4)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.step(1)
    assert await a._release()
    assert store.record == LeaderElectionRecord("", 1, clock.wall(), clock.wall(), 0)
    assert a.leader() == ""
    assert await b.try_acquire_or_renew()  # an empty holder needs no waiting
    assert store.record is not None
    assert (store.record.holder_identity, store.record.leader_transitions) == ("b", 1)


async def test_release_retries_after_conflict_and_skips_a_lease_taken_over(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    assert await a.try_acquire_or_renew()
    assert store.record is not None
    store.write(store.record)  # unchanged content, new version: release must re-read and retry
    assert await a._release()
    assert store.record.holder_identity == ""

    a2, _ = elector("a2", store, clock)
    clock.step(1)
    assert await a2.try_acquire_or_renew()
    store.write(held_by("c", clock))  # c took the lease: nothing of a2's to release
    assert await a2._release()
    assert store.record.holder_identity == "c"


async def test_transport_errors_fail_the_attempt_without_changing_state(
    clock: FakeClock, store: LeaseStore
) -> None:
    a, _ = elector("a", store, clock)
    store.failing = True
    assert not await a.try_acquire_or_renew()
    assert a.leader() == ""
    assert store.record is None
    store.failing = False
    assert await a.try_acquire_or_renew()
