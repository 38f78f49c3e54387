"""The one current :class:`DevView`: every change goes through :meth:`ViewStore.update`, which
hands old and new to the renderer and wakes whoever waits on a condition of the view."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from controllers.devmode.model import DevView, StepState

__all__ = ["Renderer", "ViewStore"]


class Renderer(Protocol):
    def start(self, view: DevView) -> None: ...

    def show(self, old: DevView, new: DevView) -> None: ...

    def stop(self) -> None: ...


class ViewStore:
    def __init__(self, renderer: Renderer, clock: Callable[[], float] = time.monotonic) -> None:
        self._renderer = renderer
        self._clock = clock
        self.view = DevView()
        self._changed = asyncio.Event()

    def update(self, change: Callable[[DevView], DevView]) -> None:
        new = change(self.view)
        if new == self.view:
            return
        old, self.view = self.view, new
        self._renderer.show(old, new)
        # Waiters hold the event of the moment they looked; a fresh one for the next change.
        self._changed.set()
        self._changed = asyncio.Event()

    def step(self, name: str, state: StepState, detail: str) -> None:
        now = self._clock()
        self.update(lambda v: v.with_step(name, state, detail, now))

    def notice(self, line: str) -> None:
        self.update(lambda v: v.with_notice(line))

    async def wait_for(self, predicate: Callable[[DevView], bool], timeout: float) -> DevView:
        """The first view (the current one included) for which ``predicate`` holds; raises
        TimeoutError after ``timeout`` seconds."""
        deadline = self._clock() + timeout
        while not predicate(self.view):
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TimeoutError
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                if not predicate(self.view):
                    raise
        return self.view
