"""Kubernetes events (core/v1) from reconcilers: a non-blocking recorder, correlation
(aggregation, deduplication by count, spam filter) and a background writer."""

from controller_runtime.events.broadcaster import BroadcasterStats, EventBroadcaster, EventSink
from controller_runtime.events.correlator import (
    CorrelationResult,
    CorrelatorOptions,
    EventCorrelator,
)
from controller_runtime.events.fake import FakeRecorder, NoopRecorder, RecordedEvent
from controller_runtime.events.recorder import NORMAL, WARNING, EventRecorder, Recorder

__all__ = [
    "NORMAL",
    "WARNING",
    "BroadcasterStats",
    "CorrelationResult",
    "CorrelatorOptions",
    "EventBroadcaster",
    "EventCorrelator",
    "EventRecorder",
    "EventSink",
    "FakeRecorder",
    "NoopRecorder",
    "RecordedEvent",
    "Recorder",
]
