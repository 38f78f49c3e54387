"""run(): the acquire and renew loops, callbacks, gauge, events and release, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.clock import FakeClock
from controller_runtime.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
)
from tests.unit.leaderelection.fakes import FakeLock, LeaseStore, until

LEASE, RENEW, RETRY = 15.0, 10.0, 2.0


@dataclass
class Candidate:
    elector: LeaderElector
    lock: FakeLock
    registry: CollectorRegistry
    calls: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def gauge(self) -> float | None:
        return self.registry.get_sample_value("leader_election_master_status", {"name": "lease"})


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    store: LeaseStore = field(default_factory=LeaseStore)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def candidate(
        self, identity: str, release_on_cancel: bool = False, work: str = "wait"
    ) -> Candidate:
        lock = FakeLock(identity, self.store)
        registry = CollectorRegistry()
        calls: list[str] = []

        async def started() -> None:
            calls.append("started")
            try:
                if work == "fail":
                    raise RuntimeError("controllers crashed")
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                calls.append("work-cancelled")
                raise

        config = LeaderElectionConfig(
            lease_name="lease",
            lease_namespace="ns",
            identity=identity,
            lease_duration=LEASE,
            renew_deadline=RENEW,
            retry_period=RETRY,
            release_on_cancel=release_on_cancel,
        )
        elector = LeaderElector(
            None,
            config,
            on_started_leading=started,
            on_stopped_leading=lambda: calls.append("stopped"),
            on_new_leader=lambda holder: calls.append(f"new-leader:{holder}"),
            registry=registry,
            clock=self.clock,
            lock=lock,
        )
        return Candidate(elector, lock, registry, calls)

    def run(self, candidate: Candidate) -> asyncio.Task[None]:
        candidate.task = asyncio.create_task(candidate.elector.run())
        self.tasks.append(candidate.task)
        return candidate.task

    async def idle(self, sleepers: int = 1) -> None:
        """Waits until every running elector is parked in a clock sleep."""
        await until(lambda: self.clock.pending_timers() >= sleepers)

    async def advance(self, seconds: float, sleepers: int = 1) -> None:
        self.clock.step(seconds)
        await asyncio.sleep(0)
        await self.idle(sleepers)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    yield w
    for task in w.tasks:
        task.cancel()
    await asyncio.gather(*w.tasks, return_exceptions=True)


async def test_free_lease_is_acquired_and_renewed(world: World) -> None:
    a = world.candidate("a")
    world.run(a)
    await world.idle()
    assert a.elector.is_leader()
    assert a.elector.leader() == "a"
    assert a.gauge() == 1.0
    assert a.lock.events == ["a became leader"]
    await until(lambda: "started" in a.calls)
    assert a.calls == ["new-leader:a", "started"]
    for _ in range(5):
        await world.advance(RETRY)
    # The renew loop starts with an immediate renewal, then one per retry_period.
    assert world.store.calls.count("a:update") == 1 + 5
    assert world.store.record is not None
    assert world.store.record.renew_time == world.clock.wall()


async def test_acquire_retries_with_jitter_until_the_lease_expires(world: World) -> None:
    world.store.write(LeaderElectionRecord("b", 15, world.clock.wall(), world.clock.wall(), 2))
    a = world.candidate("a")
    world.run(a)
    await world.idle()
    assert not a.elector.is_leader()
    assert a.elector.leader() == "b"
    assert a.gauge() == 0.0
    started = world.clock.monotonic()
    waits = []
    while not a.elector.is_leader():
        deadline = world.clock.next_deadline()
        assert deadline is not None
        waits.append(deadline - world.clock.monotonic())
        await world.advance(deadline - world.clock.monotonic())
    # Jittered retries, then one shorter wait that ends exactly at the observed expiry: the
    # takeover does not wait for the next poll.
    assert all(RETRY <= w <= RETRY * 2.2 for w in waits[:-1])
    assert 0 < waits[-1] <= RETRY * 2.2
    assert LEASE <= world.clock.monotonic() - started <= LEASE + 0.05
    assert world.store.record is not None
    assert world.store.record.leader_transitions == 3
    assert a.calls[:2] == ["new-leader:b", "new-leader:a"]


async def test_leadership_is_lost_when_renewals_fail_for_renew_deadline(world: World) -> None:
    a = world.candidate("a")
    task = world.run(a)
    await world.idle()
    world.store.failing = True  # partitioned from the API server
    await world.advance(RETRY)
    failing_since = world.clock.monotonic()
    while not task.done():
        assert world.clock.monotonic() - failing_since < RENEW  # still leading before then
        assert a.elector.is_leader()
        assert a.gauge() == 1.0
        world.clock.step(RETRY)
        await until(lambda: task.done() or world.clock.pending_timers() >= 1)
    assert world.clock.monotonic() - failing_since >= RENEW
    assert task.result() is None  # run() returns when leadership is lost
    assert not a.elector.is_leader()
    assert a.gauge() == 0.0
    assert a.calls[-2:] == ["work-cancelled", "stopped"]
    assert a.lock.events == ["a became leader", "a stopped leading"]


async def test_cancel_releases_the_lease_when_configured(world: World) -> None:
    a = world.candidate("a", release_on_cancel=True)
    task = world.run(a)
    await world.idle()
    await world.advance(RETRY)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    now = world.clock.wall()
    assert world.store.record == LeaderElectionRecord("", 1, now, now, 0)
    assert a.calls[-2:] == ["work-cancelled", "stopped"]
    assert a.lock.events[-1] == "a stopped leading"
    assert a.gauge() == 0.0


async def test_cancel_without_release_leaves_the_lease_to_expire(world: World) -> None:
    a = world.candidate("a")
    task = world.run(a)
    await world.idle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.store.record is not None
    assert world.store.record.holder_identity == "a"
    assert a.calls[-1] == "stopped"
    assert a.gauge() == 0.0


async def test_stopped_callback_runs_even_if_never_leader(world: World) -> None:
    world.store.write(LeaderElectionRecord("b", 15, world.clock.wall(), world.clock.wall(), 0))
    a = world.candidate("a", release_on_cancel=True)
    task = world.run(a)
    await world.idle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert a.calls == ["new-leader:b", "stopped"]
    assert a.lock.events == []  # never led: no leadership events, nothing released
    assert world.store.record is not None
    assert world.store.record.holder_identity == "b"


async def test_failing_leader_work_ends_leadership_and_is_raised(world: World) -> None:
    a = world.candidate("a", release_on_cancel=True, work="fail")
    task = world.run(a)
    await until(task.done)
    with pytest.raises(RuntimeError, match="controllers crashed"):
        task.result()
    assert a.calls[-1] == "stopped"
    assert world.store.record is not None
    assert world.store.record.holder_identity == ""


async def test_follower_takes_over_after_leader_is_cancelled(world: World) -> None:
    a, b = world.candidate("a"), world.candidate("b")
    task_a = world.run(a)
    await world.idle()
    world.run(b)
    await world.idle(2)
    assert a.elector.is_leader()
    assert not b.elector.is_leader()
    task_a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task_a
    stopped = world.clock.monotonic()
    while not b.elector.is_leader():
        await world.advance(RETRY / 2)
    # b waited a full lease duration after the last renewal it saw.
    assert world.clock.monotonic() - stopped >= LEASE - RETRY * 2.2
    assert b.gauge() == 1.0
    assert a.gauge() == 0.0


async def test_run_twice_is_an_error(world: World) -> None:
    a = world.candidate("a")
    task = world.run(a)
    await world.idle()
    with pytest.raises(RuntimeError, match="only be called once"):
        await a.elector.run()
    task.cancel()
