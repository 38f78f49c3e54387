"""Runnable groups and the shutdown deadline, without an API server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.manager.runnable_group import Deadline, RunnableGroup, describe

WAIT = 5.0  # only reached when the code under test is broken


class Forever:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.started = asyncio.Event()
        self.cancels = 0

    async def start(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.cancels += 1


class Stubborn(Forever):
    """Cleans up for a long time after the first cancellation; the second one ends it."""

    async def start(self) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancels += 1
            await asyncio.Event().wait()


class Fails:
    def __init__(self, started: asyncio.Event | None = None) -> None:
        self.go = started or asyncio.Event()

    async def start(self) -> None:
        await self.go.wait()
        raise RuntimeError("broke")


def group(errors: list[BaseException] | None = None) -> RunnableGroup:
    sink = errors if errors is not None else []
    return RunnableGroup("test", sink.append)


async def test_start_returns_once_every_runnable_is_ready() -> None:
    g = group()
    ready = asyncio.Event()

    async def is_ready() -> None:
        await ready.wait()

    g.add(Forever("a"), is_ready)
    starting = asyncio.create_task(g.start())
    await asyncio.sleep(0)
    assert not starting.done()
    ready.set()
    await asyncio.wait_for(starting, WAIT)
    assert g.running() == ["Forever 'a'"]
    await g.stop(Deadline(WAIT))


async def test_a_runnable_failing_before_it_is_ready_fails_start() -> None:
    g = group()
    go = asyncio.Event()
    go.set()

    async def never() -> None:
        await asyncio.Event().wait()

    g.add(Fails(go), never)
    with pytest.raises(RuntimeError, match="broke"):
        await asyncio.wait_for(g.start(), WAIT)


async def test_a_failing_ready_check_fails_start() -> None:
    async def not_synced() -> None:
        raise TimeoutError("caches did not sync")

    g = group()
    g.add(Forever(), not_synced)
    with pytest.raises(TimeoutError, match="did not sync"):
        await asyncio.wait_for(g.start(), WAIT)
    await g.stop(Deadline(WAIT))


async def test_a_failure_while_running_is_reported_but_not_while_stopping() -> None:
    errors: list[BaseException] = []
    g = group(errors)
    running, later = Fails(), Fails()
    g.add(running)
    g.add(later)
    await g.start()
    running.go.set()
    await _until(lambda: bool(errors))
    assert [str(e) for e in errors] == ["broke"]
    stopping = asyncio.create_task(g.stop(Deadline(WAIT)))
    later.go.set()
    await stopping
    assert len(errors) == 1


async def test_stop_waits_for_the_grace_period_then_names_what_still_runs() -> None:
    g = group()
    polite, stubborn = Forever("polite"), Stubborn("stubborn")
    g.add(polite)
    g.add(stubborn)
    await g.start()
    await stubborn.started.wait()
    assert await g.stop(Deadline(0.05)) == ["Stubborn 'stubborn'"]
    assert polite.cancels == 1
    await asyncio.wait_for(g.join(), WAIT)  # the second cancellation ended it


async def test_without_grace_both_cancellations_go_out_at_once() -> None:
    g = group()
    stubborn = Stubborn()
    g.add(stubborn)
    await g.start()
    await stubborn.started.wait()
    await g.stop(Deadline(0))
    await asyncio.wait_for(g.join(), WAIT)
    assert stubborn.cancels == 1  # its cleanup was cut short by the second one


async def test_a_stopped_group_does_not_start() -> None:
    g = group()
    runnable = Forever()
    g.add(runnable)
    await g.stop(Deadline(0))
    await g.start()
    assert not runnable.started.is_set()
    assert g.running() == []


def test_a_runnable_is_added_once() -> None:
    g = group()
    runnable = Forever("x")
    g.add(runnable)
    with pytest.raises(ValueError, match="added to the manager twice"):
        g.add(runnable)


async def test_deadline_without_limit_waits_for_the_tasks() -> None:
    deadline = Deadline(None)
    done = asyncio.Event()
    task = asyncio.create_task(done.wait())
    waiting = asyncio.create_task(deadline.wait([task]))
    await asyncio.sleep(0)
    assert not waiting.done()
    done.set()
    await asyncio.wait_for(waiting, WAIT)
    assert not deadline.expired()


def test_describe_uses_the_name_when_there_is_one() -> None:
    assert describe(Forever("web")) == "Forever 'web'"
    assert describe(Fails()) == "Fails"


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):  # bounded: everything here is in memory
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_a_shutdown_deadline_expires_on_its_clock() -> None:
    clock = FakeClock()
    deadline = Deadline(30.0, clock)
    blocked = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(deadline.wait([blocked]))
    clock.step(29.9)
    await asyncio.sleep(0)
    assert not deadline.expired()
    assert not waiter.done()
    clock.step(0.1)
    await asyncio.wait_for(waiter, 2.0)
    assert deadline.expired()
    blocked.cancel()
