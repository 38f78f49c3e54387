"""Correlation of core/v1 Events before they are written (client-go's EventCorrelator).

Three steps, in this order, for every event:
1. aggregate: events alike except for the message (same source, object, type, reason,
   reporting component/instance) are counted per distinct message; from the max_events-th
   distinct message within max_interval (measured from the previous such event) they become
   one event "(combined from similar events): <message>".
2. observe: an event identical to one seen before (same source, object incl. fieldPath, type,
   reason, message) reuses that Event's name and firstTimestamp with count + 1, and is written
   as a PATCH of {count, lastTimestamp, message} instead of a new object.
3. spam filter: a token bucket per source + object + type (burst 25, then one per 5 min)
   skips events over the limit. Skipped events still counted in step 2, so the next written
   count includes them.

Each step keeps an LRU of `cache_size` keys. Not thread-safe: one broadcaster drives it from the
event loop.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.events.recorder import format_time

__all__ = ["CorrelationResult", "CorrelatorOptions", "EventCorrelator", "TokenBucket"]

K = TypeVar("K")
V = TypeVar("V")
Object = dict[str, Any]
COMBINED_PREFIX = "(combined from similar events): "


@dataclass(frozen=True)
class CorrelatorOptions:
    cache_size: int = 4096
    max_events: int = 10
    """Distinct messages (alike otherwise) before they are combined into one event."""
    max_interval: float = 600.0
    """Seconds; a gap longer than this between alike events restarts the count."""
    burst: int = 25
    qps: float = 1 / 300
    """Spam filter refill rate: one event per 5 minutes once the burst is spent."""


@dataclass
class CorrelationResult:
    event: Object
    patch: Object | None = None
    """Set when the event updates an existing Event (PATCH instead of CREATE)."""
    skip: bool = False
    """The spam filter dropped it: nothing to write."""
    key: tuple[str, ...] = ()
    """The observation this event belongs to (for update_state)."""


class _LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class TokenBucket:
    """Starts full with `burst` tokens; refills continuously at `qps` per second."""

    def __init__(self, qps: float, burst: int, now: float) -> None:
        self.qps, self.burst = qps, burst
        self.tokens = float(burst)
        self._last = now

    def try_accept(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self._last) * self.qps)
        self._last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class _Aggregate:
    messages: set[str]
    last_seen: float


@dataclass
class _Observation:
    count: int
    first_timestamp: str
    name: str
    resource_version: str


def _object_key(event: Object) -> tuple[str, ...]:
    source = event.get("source") or {}
    ref = event.get("involvedObject") or {}
    return (
        source.get("component", ""),
        source.get("host", ""),
        ref.get("kind", ""),
        ref.get("namespace", ""),
        ref.get("name", ""),
        ref.get("uid", ""),
        ref.get("apiVersion", ""),
        event.get("type", ""),
    )


def spam_key(event: Object) -> tuple[str, ...]:
    return _object_key(event)


def aggregate_key(event: Object) -> tuple[str, ...]:
    reporting = (event.get("reportingComponent", ""), event.get("reportingInstance", ""))
    return (*_object_key(event), event.get("reason", ""), *reporting)


def event_key(event: Object) -> tuple[str, ...]:
    field_path = (event.get("involvedObject") or {}).get("fieldPath", "")
    return (*_object_key(event), field_path, event.get("reason", ""), event.get("message", ""))


class EventCorrelator:
    def __init__(self, options: CorrelatorOptions | None = None, clock: Clock | None = None):
        self.options = options or CorrelatorOptions()
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        size = self.options.cache_size
        self._aggregates: _LRU[tuple[str, ...], _Aggregate] = _LRU(size)
        self._observations: _LRU[tuple[str, ...], _Observation] = _LRU(size)
        self._buckets: _LRU[tuple[str, ...], TokenBucket] = _LRU(size)

    def correlate(self, event: Object) -> CorrelationResult:
        """Aggregates, deduplicates and spam-filters one new event (which is not modified)."""
        aggregated, key = self._aggregate(event)
        observed, patch = self._observe(aggregated, key)
        if not self._allow(observed):
            return CorrelationResult(observed, skip=True, key=key)
        return CorrelationResult(observed, patch, key=key)

    def update_state(self, key: tuple[str, ...], written: Object) -> None:
        """Learns the resourceVersion the server gave the Event of an observation (key from
        the CorrelationResult). The count never goes back: occurrences counted after this
        write was queued are kept."""
        known = self._observations.get(key)
        meta = written.get("metadata") or {}
        if known is not None and known.name == meta.get("name"):
            known.resource_version = str(meta.get("resourceVersion") or "")
            known.count = max(known.count, int(written.get("count") or 0))

    # Step 1 ----------------------------------------------------------------------------------

    def _aggregate(self, event: Object) -> tuple[Object, tuple[str, ...]]:
        now = self._clock.monotonic()
        key = aggregate_key(event)
        record = self._aggregates.get(key)
        if record is None or now - record.last_seen > self.options.max_interval:
            record = _Aggregate(set(), now)
        record.messages.add(event.get("message", ""))
        record.last_seen = now
        self._aggregates.put(key, record)
        if len(record.messages) < self.options.max_events:
            return event, event_key(event)
        # Keep the set below the threshold: the next alike event with a message still in the
        # set is written on its own; one with a new message is combined again.
        record.messages.pop()
        wall_ns = self._clock.wall_ns()
        combined = copy.deepcopy(event)
        combined["metadata"] = {
            "name": f"{event['involvedObject']['name']}.{wall_ns:x}",
            "namespace": event["metadata"]["namespace"],
        }
        combined["message"] = COMBINED_PREFIX + event.get("message", "")
        combined["count"] = 1
        combined["firstTimestamp"] = combined["lastTimestamp"] = format_time(wall_ns)
        # Keyed by the aggregate key, so every combined event updates the same Event.
        return combined, key

    # Step 2 ----------------------------------------------------------------------------------

    def _observe(self, event: Object, key: tuple[str, ...]) -> tuple[Object, Object | None]:
        event = copy.deepcopy(event)
        patch: Object | None = None
        last = self._observations.get(key)
        if last is not None and last.count > 0:
            event["metadata"]["name"] = last.name
            event["firstTimestamp"] = last.first_timestamp
            event["count"] = last.count + 1
            if last.resource_version:
                event["metadata"]["resourceVersion"] = last.resource_version
            patch = {
                "count": event["count"],
                "lastTimestamp": event["lastTimestamp"],
                "message": event["message"],
            }
        self._observations.put(
            key,
            _Observation(
                count=int(event["count"]),
                first_timestamp=event["firstTimestamp"],
                name=event["metadata"]["name"],
                resource_version=str(event["metadata"].get("resourceVersion") or ""),
            ),
        )
        return event, patch

    # Step 3 ----------------------------------------------------------------------------------

    def _allow(self, event: Object) -> bool:
        now = self._clock.monotonic()
        key = spam_key(event)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.options.qps, self.options.burst, now)
        allowed = bucket.try_accept(now)
        self._buckets.put(key, bucket)
        return allowed
