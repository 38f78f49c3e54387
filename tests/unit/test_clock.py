"""The injectable clocks."""

from __future__ import annotations

import asyncio

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
