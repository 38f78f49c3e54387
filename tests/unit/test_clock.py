"""The runtime's clock: the real one on the event loop and the one fake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from controller_runtime.clock import FakeClock, RealClock


def test_fake_clock_fires_due_timers_in_order_at_their_time() -> None:
    clock = FakeClock(start=10.0)
    fired: list[tuple[str, float]] = []
    clock.call_at(13.0, lambda: fired.append(("c", clock.monotonic())))
    clock.call_at(11.0, lambda: fired.append(("a", clock.monotonic())))
    clock.call_at(12.0, lambda: fired.append(("b", clock.monotonic())))
    clock.call_at(12.0, lambda: fired.append(("b2", clock.monotonic())))
    clock.step(2.0)
    assert fired == [("a", 11.0), ("b", 12.0), ("b2", 12.0)]
    assert clock.monotonic() == 12.0
    assert clock.pending_timers() == 1
    assert clock.next_deadline() == 13.0
    clock.step(5.0)
    assert fired[-1] == ("c", 13.0)
    assert clock.monotonic() == 17.0
    assert clock.next_deadline() is None


def test_fake_clock_cancel_and_timers_scheduled_by_callbacks() -> None:
    clock = FakeClock(start=0.0)
    fired: list[float] = []
    handle = clock.call_at(1.0, lambda: fired.append(-1.0))
    handle.cancel()

    def tick() -> None:
        fired.append(clock.monotonic())
        if clock.monotonic() < 3.0:
            clock.call_at(clock.monotonic() + 1.0, tick)

    clock.call_at(1.0, tick)
    clock.step(10.0)
    assert fired == [1.0, 2.0, 3.0]
    assert clock.pending_timers() == 0


def test_fake_clock_refuses_to_go_back() -> None:
    clock = FakeClock(start=5.0)
    with pytest.raises(ValueError, match="backwards"):
        clock.step(-1.0)
    with pytest.raises(ValueError, match="backwards"):
        clock.set_time(4.0)
    clock.set_time(5.0)
    assert clock.monotonic() == 5.0


async def test_real_clock_is_the_loop_clock() -> None:
    loop = asyncio.get_running_loop()
    clock = RealClock()
    before = loop.time()
    now = clock.monotonic()
    assert before <= now <= loop.time()
    fired = loop.create_future()
    clock.call_at(clock.monotonic() + 0.001, lambda: fired.set_result(clock.monotonic()))
    assert await asyncio.wait_for(fired, 2.0) >= before + 0.001


def test_real_clock_works_without_a_running_loop() -> None:
    clock = RealClock()
    assert clock.monotonic() > 0.0


async def test_fake_sleep_returns_once_its_deadline_is_reached() -> None:
    clock = FakeClock(start=0.0)
    sleeper = asyncio.ensure_future(clock.sleep(2.0))
    await asyncio.sleep(0)
    assert clock.next_deadline() == 2.0
    clock.step(1.999)
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.step(0.001)
    await asyncio.wait_for(sleeper, 2.0)
    assert clock.pending_timers() == 0


async def test_fake_sleep_and_timers_fire_in_one_deadline_order() -> None:
    clock = FakeClock(start=0.0)
    order: list[str] = []

    async def sleep_then_note() -> None:
        await clock.sleep(2.0)
        order.append("sleep")

    task = asyncio.ensure_future(sleep_then_note())
    await asyncio.sleep(0)
    clock.call_at(1.0, lambda: order.append("timer 1"))
    clock.call_at(3.0, lambda: order.append("timer 3"))
    clock.step(2.0)
    await asyncio.wait_for(task, 2.0)
    clock.step(1.0)
    assert order == ["timer 1", "sleep", "timer 3"]


async def test_a_cancelled_sleep_stops_counting_as_pending_at_once() -> None:
    clock = FakeClock()
    sleeper = asyncio.ensure_future(clock.sleep(5.0))
    await asyncio.sleep(0)
    assert clock.pending_timers() == 1
    sleeper.cancel()
    assert clock.pending_timers() == 0
    assert clock.next_deadline() is None
    with pytest.raises(asyncio.CancelledError):
        await sleeper


async def test_fake_sleep_of_zero_only_yields() -> None:
    clock = FakeClock()
    await asyncio.wait_for(clock.sleep(0), 2.0)
    assert clock.pending_timers() == 0


def test_fake_wall_time_moves_with_monotonic_time() -> None:
    start = datetime(2031, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    clock = FakeClock(start=50.0, wall_start=start)
    clock.step(1.5)
    assert clock.wall() == start + timedelta(seconds=1.5)
    assert clock.wall_ns() == int(start.timestamp()) * 10**9 + 10_000 + 1_500_000_000


def test_fake_wall_start_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(wall_start=datetime(2030, 1, 1))


def test_real_wall_readings_are_utc_and_agree() -> None:
    clock = RealClock()
    wall = clock.wall()
    assert wall.tzinfo is UTC
    # The same instant in two forms: apart by the time between the two reads, not by hours.
    assert abs(clock.wall_ns() / 1e9 - wall.timestamp()) < 60
