"""The dev mode on a non-terminal output (CI logs, a pipe): one timestamped line per change,
never a redraw, so the log reads as the story of the run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from controllers.devmode.model import DevView, changes

__all__ = ["PlainRenderer", "timestamp"]


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: ``2026-11-29T08:50:01.123Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class PlainRenderer:
    def __init__(
        self, stream: TextIO, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._stream = stream
        self._now = now

    def start(self, view: DevView) -> None:
        self.show(DevView(), view)

    def show(self, old: DevView, new: DevView) -> None:
        lines = changes(old, new)
        if not lines:
            return
        stamp = timestamp(self._now())
        self._stream.write("".join(f"{stamp}  {line}\n" for line in lines))
        self._stream.flush()

    def stop(self) -> None:
        self._stream.flush()
