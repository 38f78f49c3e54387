"""What reconcilers use to report events: the EventRecorder protocol, and the recorder that
turns a call into a core/v1 Event for its broadcaster.

Recording never blocks and never raises: a bad call (unknown type, an object without kind or
name, a format error) is logged and dropped, because an event must never fail a reconcile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "MAX_REPORTING_INSTANCE_LENGTH",
    "NORMAL",
    "WARNING",
    "EventRecorder",
    "EventRequest",
    "Recorder",
    "build_event",
    "format_message",
    "object_reference",
]

log = structlog.get_logger("events")

NORMAL = "Normal"
WARNING = "Warning"
EVENT_TYPES = frozenset({NORMAL, WARNING})
# The events.k8s.io/v1 limit on a note; applied here too, so messages read the same through
# either API and the correlation caches stay small.
MAX_MESSAGE_LENGTH = 1024
MAX_REPORTING_INSTANCE_LENGTH = 128
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # metav1.Time: RFC 3339, whole seconds


class EventRecorder(Protocol):
    """Records events about an object (a JSON dict with apiVersion, kind, metadata.name, or an
    ObjectReference dict). Calls return at once; the write happens in the background."""

    def event(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """event_type is NORMAL or WARNING; reason is a short UpperCamelCase word."""
        ...

    def eventf(
        self, obj: Mapping[str, Any], event_type: str, reason: str, message_fmt: str, *args: object
    ) -> None:
        """Like event() with message_fmt % args."""
        ...

    def annotated_eventf(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str],
        event_type: str,
        reason: str,
        message_fmt: str,
        *args: object,
    ) -> None:
        """Like eventf(), with annotations on the Event object."""
        ...


@dataclass(frozen=True)
class EventRequest:
    """One accepted call, handed by a recorder to its broadcaster."""

    reference: dict[str, Any]
    event_type: str
    reason: str
    message: str
    component: str
    instance: str
    annotations: Mapping[str, str] | None = None


def object_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ObjectReference of an object (or a copy of a reference); ValueError if incomplete."""
    if "metadata" in obj:
        meta = obj.get("metadata") or {}
        ref = {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
    else:
        keys = ("apiVersion", "kind", "name", "namespace", "uid", "resourceVersion", "fieldPath")
        ref = {key: obj.get(key) for key in keys}
    for required in ("apiVersion", "kind", "name"):
        if not ref.get(required):
            raise ValueError(f"object has no {required}")
    return {key: str(value) for key, value in ref.items() if value}


def format_message(message_fmt: str, args: tuple[object, ...]) -> str:
    if not args:
        return message_fmt
    try:
        return message_fmt % args
    except (TypeError, ValueError):
        return f"{message_fmt} {args!r}"


class RecorderBase:
    """The three entry points of EventRecorder, all funnelled into _record: implementations
    (the real recorder, the fakes) only say what recording one event means."""

    def event(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        self._record(obj, None, event_type, reason, message, ())

    def eventf(
        self, obj: Mapping[str, Any], event_type: str, reason: str, message_fmt: str, *args: object
    ) -> None:
        self._record(obj, None, event_type, reason, message_fmt, args)

    def annotated_eventf(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str],
        event_type: str,
        reason: str,
        message_fmt: str,
        *args: object,
    ) -> None:
        self._record(obj, annotations, event_type, reason, message_fmt, args)

    def _record(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str] | None,
        event_type: str,
        reason: str,
        message_fmt: str,
        args: tuple[object, ...],
    ) -> None:
        raise NotImplementedError


def format_time(wall_ns: int) -> str:
    return datetime.fromtimestamp(wall_ns // 10**9, UTC).strftime(TIME_FORMAT)


def build_event(request: EventRequest, wall_ns: int) -> dict[str, Any]:
    """The core/v1 Event for a request, first seen at wall_ns (which also names it)."""
    ref = request.reference
    timestamp = format_time(wall_ns)
    metadata: dict[str, Any] = {
        "name": f"{ref['name']}.{wall_ns:x}",
        # Cluster-scoped objects get their events in "default", as client-go does.
        "namespace": ref.get("namespace") or "default",
    }
    if request.annotations:
        metadata["annotations"] = dict(request.annotations)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": metadata,
        "involvedObject": dict(ref),
        "reason": request.reason,
        "message": request.message,
        "type": request.event_type,
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
        "count": 1,
        "source": {"component": request.component},
        "reportingComponent": request.component,
        "reportingInstance": request.instance,
    }


class Recorder(RecorderBase):
    """An EventRecorder for one component (the recorder name); created by
    EventBroadcaster.new_recorder()."""

    def __init__(self, name: str, hostname: str, submit: Callable[[EventRequest], None]) -> None:
        if not name:
            raise ValueError("an event recorder needs a name")
        self.name = name
        self.instance = f"{name}-{hostname}"[:MAX_REPORTING_INSTANCE_LENGTH]
        self._submit = submit

    def _record(
        self,
        obj: Mapping[str, Any],
        annotations: Mapping[str, str] | None,
        event_type: str,
        reason: str,
        message_fmt: str,
        args: tuple[object, ...],
    ) -> None:
        try:
            if event_type not in EVENT_TYPES:
                log.error(
                    "dropping event: unsupported event type",
                    recorder=self.name,
                    type=event_type,
                    reason=reason,
                )
                return
            try:
                ref = object_reference(obj)
            except ValueError as err:
                log.error("dropping event: cannot reference object", reason=reason, error=str(err))
                return
            message = format_message(str(message_fmt), args)[:MAX_MESSAGE_LENGTH]
            log.debug(
                "event",
                recorder=self.name,
                kind=ref["kind"],
                namespace=ref.get("namespace"),
                name=ref["name"],
                type=event_type,
                reason=reason,
                message=message,
            )
            self._submit(
                EventRequest(
                    reference=ref,
                    event_type=event_type,
                    reason=str(reason),
                    message=message,
                    component=self.name,
                    instance=self.instance,
                    annotations=dict(annotations) if annotations else None,
                )
            )
        except Exception:  # an event must never fail the caller
            log.exception("dropping event: recording failed", recorder=self.name)
