"""The view store: changes reach the renderer once each, and waiters wake on them."""

from __future__ import annotations

import asyncio

import pytest

from controllers.devmode.model import DevView
from controllers.devmode.store import ViewStore


class Recorder:
    def __init__(self) -> None:
        self.shown: list[tuple[DevView, DevView]] = []

    def start(self, view: DevView) -> None: ...

    def show(self, old: DevView, new: DevView) -> None:
        self.shown.append((old, new))

    def stop(self) -> None: ...


def test_an_update_that_changes_nothing_is_not_shown() -> None:
    recorder = Recorder()
    store = ViewStore(recorder)
    store.notice("a")
    store.notice("a")
    assert [new.notices for _, new in recorder.shown] == [("a",)]


async def test_wait_for_wakes_on_the_change_that_satisfies_it() -> None:
    store = ViewStore(Recorder())
    waiter = asyncio.create_task(store.wait_for(lambda v: "go" in v.notices, timeout=30))
    await asyncio.sleep(0)
    store.notice("not yet")
    await asyncio.sleep(0)
    assert not waiter.done()
    store.notice("go")
    view = await asyncio.wait_for(waiter, 30)
    assert view.notices == ("not yet", "go")


async def test_wait_for_returns_at_once_when_it_already_holds() -> None:
    store = ViewStore(Recorder())
    store.notice("go")
    assert (await store.wait_for(lambda v: bool(v.notices), timeout=0)).notices == ("go",)


async def test_wait_for_times_out() -> None:
    store = ViewStore(Recorder())
    with pytest.raises(TimeoutError):
        await store.wait_for(lambda v: False, timeout=0.01)
