"""Dispatch rules of the informer's sink, driven without a server (the reflector's calls)."""

from __future__ import annotations

import asyncio
from typing import Any

from controller_runtime.cache import DeletedFinalStateUnknown, SharedIndexInformer
from controller_runtime.cache.reflector import Backoff
from controller_runtime.clock import FakeClock
from controller_runtime.envtest import eventually


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        self.events.append(("add", obj["metadata"]["name"], is_in_initial_list))

    async def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # handlers may be coroutines
        self.events.append(("update", new["metadata"]["name"], old["metadata"]["rv"]))

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(("tombstone", obj.key))
        else:
            self.events.append(("delete", obj["metadata"]["name"]))


def o(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "rv": rv, "managedFields": [{}]}}


async def test_replace_and_watch_events_dispatch_like_client_go() -> None:
    informer = SharedIndexInformer(None, "v1", "ConfigMap")  # type: ignore[arg-type]
    rec = Recorder()
    early = informer.add_event_handler(rec)
    for listener in informer._listeners:  # run listeners without a reflector
        listener.task = asyncio.create_task(listener.run())
    try:
        informer.replace([o("a", "1"), o("b", "1")], "1")
        informer.apply("ADDED", o("c", "2"))
        informer.apply("ADDED", o("a", "3"))  # already stored: an update
        informer.apply("MODIFIED", o("b", "4"))
        informer.apply("DELETED", o("c", "5"))
        informer.replace([o("a", "3")], "6")  # relist: a unchanged -> update; b vanished
        await eventually(lambda: len(rec.events) == 8, timeout=5)
        assert rec.events == [
            ("add", "a", True),
            ("add", "b", True),
            ("add", "c", False),
            ("update", "a", "1"),
            ("update", "b", "1"),
            ("delete", "c"),
            ("tombstone", "ns/b"),
            ("update", "a", "3"),
        ]
        assert early.has_synced()
        # A handler added after sync first gets the stored objects as initial adds.
        late_rec = Recorder()
        late = informer.add_event_handler(late_rec)
        assert not late.has_synced()
        for listener in informer._listeners:
            if listener.task is None:
                listener.task = asyncio.create_task(listener.run())
        await eventually(late.has_synced, timeout=5)
        assert late_rec.events == [("add", "a", True)]
    finally:
        await informer.stop()
        for listener in informer._listeners:
            if listener.task:
                listener.task.cancel()


def test_backoff_doubles_caps_and_resets() -> None:
    clock = FakeClock()
    backoff = Backoff(initial=0.8, cap=30.0, jitter=0.0, reset_after=120.0, clock=clock)
    delays = []
    for _ in range(8):
        delays.append(backoff.next())
        clock.step(1)
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    clock.step(121)
    assert backoff.next() == 0.8


async def test_resync_redelivers_stored_objects_as_updates() -> None:
    informer = SharedIndexInformer(None, "v1", "ConfigMap", resync_period=0.05)  # type: ignore[arg-type]
    rec = Recorder()
    informer.add_event_handler(rec)
    informer.replace([o("a", "7")], "7")
    listener = informer._listeners[0]
    listener.task = asyncio.create_task(listener.run())
    resync = asyncio.create_task(informer._resync_loop())
    try:
        updates = await eventually(
            lambda: [e for e in rec.events if e[0] == "update"], lambda u: len(u) >= 2, timeout=5
        )
        # Same object, same resourceVersion: handlers (and predicates) see a no-news update.
        assert updates[:2] == [("update", "a", "7"), ("update", "a", "7")]
    finally:
        resync.cancel()
        listener.task.cancel()
        await asyncio.gather(resync, listener.task, return_exceptions=True)
