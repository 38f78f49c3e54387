"""Recorders for unit tests of reconcilers: one that records calls, one that does nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller_runtime.events.recorder import RecorderBase, format_message

__all__ = ["FakeRecorder", "NoopRecorder", "RecordedEvent"]


@dataclass(frozen=True)
class RecordedEvent:
    obj: Mapping[str, Any]
    event_type: str
    reason: str
    message: str
    annotations: Mapping[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.event_type} {self.reason} {self.message}"


@dataclass
class FakeRecorder(RecorderBase):
    """Keeps every call in order; `events` has them as "<type> <reason> <message>" strings
    (the format of client-go's FakeRecorder), `recorded` with the object."""

    recorded: list[RecordedEvent] = field(default_factory=list)

    @property
    def events(self) -> list[str]:
        return [str(event) for event in self.recorded]

    def _record(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str] | None,
        event_type: str,
        reason: str,
        message_fmt: str,
        args: tuple[object, ...],
    ) -> None:
        message = format_message(message_fmt, args)
        kept = dict(annotations) if annotations is not None else None
        self.recorded.append(RecordedEvent(obj, event_type, reason, message, kept))

    def clear(self) -> None:
        self.recorded.clear()


class NoopRecorder(RecorderBase):
    """Discards everything."""

    def _record(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str] | None,
        event_type: str,
        reason: str,
        message_fmt: str,
        args: tuple[object, ...],
    ) -> None:
        pass
