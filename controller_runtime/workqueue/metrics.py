"""Prometheus metrics of the workqueues, named and labelled like controller-runtime's.

Seven families, all labelled ``name`` and ``controller`` (both the queue name);
``workqueue_depth`` also has ``priority``: ``""`` for the FIFO queues, the item
priority for the priority queue (at most 25 distinct values per queue).

Design: one collector per registry, registered the first time a named queue uses
that registry, holds plain-number series per queue name; queues with the same
name share series, as they share children of a Go metric vector. Queues update
these numbers on the event loop thread without locks, and the collector turns
them into metric families when the registry is scraped. Compared with
prometheus_client's Counter/Gauge/Histogram objects this costs about a third
per add/get/done cycle (their every update takes a lock), exports no ``_created``
series (Go's client has none), and lets the histogram ``le`` labels be written
exactly as Go writes them (``le="1"``, not ``"1.0"``).

``workqueue_unfinished_work_seconds`` and ``workqueue_longest_running_processor_seconds``
are computed at scrape time rather than every 500 ms by a task: exact instead of
up to 500 ms stale, and no timer per queue.

Scrapes may run on another thread (prometheus_client's HTTP server). They only
read: each container is snapshotted with one C-level copy (``list(d.items())``,
``tuple(d.values())``, ``list(counts)``), which runs without releasing the GIL, so
it never sees a container mid-resize. A histogram's sum may lag its counts by
the observation being recorded at that instant; the count is derived from the
bucket counts, so ``_count`` always equals the ``+Inf`` bucket.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Hashable, Iterable
from decimal import Decimal
from typing import Any, Generic

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from controller_runtime.clock import Clock
from controller_runtime.metrics.registry import REGISTRY
from controller_runtime.workqueue.interfaces import T

__all__ = ["QUEUE_DURATION_BUCKETS", "MetricsProvider", "QueueMetrics"]


def _exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    # Repeated multiplication, as the Go client does, so the bounds are the same
    # floats (9.999999999999999e-06, not 1e-05).
    buckets = []
    for _ in range(count):
        buckets.append(start)
        start *= factor
    return tuple(buckets)


def _go_float(value: float) -> str:
    """``value`` as Go's ``strconv.FormatFloat(value, 'g', -1, 64)`` writes it
    (how the Prometheus Go client writes ``le``): shortest digits, exponent form
    below 1e-4 and from 1e6 on, no trailing ``.0``."""
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    exp10 = len(digits) + exponent - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    point = exp10 + 1  # digits before the decimal point
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


# 1e-8 s … 1e3 s, twelve buckets (Go: prometheus.ExponentialBuckets(10e-9, 10, 12)).
QUEUE_DURATION_BUCKETS = _exponential_buckets(10e-9, 10, 12)
_BUCKET_LABELS = (*(_go_float(b) for b in QUEUE_DURATION_BUCKETS), "+Inf")

# Past this many distinct priorities a queue reports all depth changes under one
# placeholder label value, to bound the series count.
_PRIORITY_LABEL_LIMIT = 25
_PRIORITY_LABEL_EXCEEDED = "exceeded_cardinality_limit"

_LABELS = ("name", "controller")
_HELP = {
    "depth": "Items ready in the workqueue, by queue and priority.",
    "adds": "Adds the workqueue accepted (duplicates of a waiting item are not counted).",
    "latency": "Seconds an item waited in the workqueue before a worker got it.",
    "work": "Seconds a worker spent on an item, from get to done.",
    "unfinished": (
        "Sum of the ages in seconds of the items being processed and not yet done; "
        "a value that keeps growing means a stuck worker."
    ),
    "longest": "Age in seconds of the item that has been processed the longest.",
    "retries": "Retries through add_after and add_rate_limited (priority queue: delayed ones).",
}


class _Histogram:
    """Counts per bucket (the last one is +Inf), not cumulative, and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(QUEUE_DURATION_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # An observation equal to a bound belongs to that bucket (le = "<=").
        self.counts[bisect.bisect_left(QUEUE_DURATION_BUCKETS, value)] += 1
        self.total += value

    def cumulative(self) -> tuple[list[tuple[str, float]], float]:
        total = self.total
        running = 0
        buckets = []
        for label, count in zip(_BUCKET_LABELS, list(self.counts), strict=True):
            running += count
            buckets.append((label, float(running)))
        return buckets, total


class _Series:
    """Every series of one queue name on one registry."""

    __slots__ = ("adds", "depth", "latency", "retries", "work")

    def __init__(self) -> None:
        self.adds = 0
        self.retries = 0
        # Depth by priority label; a label appears on first use and stays.
        self.depth: dict[str, float] = {}
        self.latency = _Histogram()
        self.work = _Histogram()


class _WorkqueueCollector(Collector):
    """All workqueue metrics of one registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the two containers below
        self._series: dict[str, _Series] = {}
        # Held weakly: a dropped queue stops contributing to the in-flight
        # gauges, whose series stay exported (at 0), like a Go gauge child.
        self._queues: weakref.WeakSet[_PrometheusQueueMetrics[Any]] = weakref.WeakSet()

    def track(self, queue: _PrometheusQueueMetrics[Any], name: str) -> _Series:
        with self._lock:
            self._queues.add(queue)
            series = self._series.get(name)
            if series is None:
                series = self._series[name] = _Series()
            return series

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            all_series = list(self._series.items())
            queues = list(self._queues)
        in_flight = {name: [0.0, 0.0] for name, _ in all_series}
        for queue in queues:
            total, oldest = queue.in_flight_ages()
            sums = in_flight[queue.name]
            sums[0] += total
            sums[1] = max(sums[1], oldest)
        depth, adds, latency, work, unfinished, longest, retries = families = self._families()
        for name, series in all_series:
            labels = [name, name]
            for priority, value in list(series.depth.items()):
                depth.add_metric([name, name, priority], value)
            adds.add_metric(labels, series.adds)
            latency.add_metric(labels, *series.latency.cumulative())
            work.add_metric(labels, *series.work.cumulative())
            unfinished.add_metric(labels, in_flight[name][0])
            longest.add_metric(labels, in_flight[name][1])
            retries.add_metric(labels, series.retries)
        return families

    @staticmethod
    def _families() -> list[Any]:
        return [
            GaugeMetricFamily("workqueue_depth", _HELP["depth"], labels=(*_LABELS, "priority")),
            CounterMetricFamily("workqueue_adds_total", _HELP["adds"], labels=_LABELS),
            HistogramMetricFamily(
                "workqueue_queue_duration_seconds", _HELP["latency"], labels=_LABELS
            ),
            HistogramMetricFamily("workqueue_work_duration_seconds", _HELP["work"], labels=_LABELS),
            GaugeMetricFamily(
                "workqueue_unfinished_work_seconds", _HELP["unfinished"], labels=_LABELS
            ),
            GaugeMetricFamily(
                "workqueue_longest_running_processor_seconds", _HELP["longest"], labels=_LABELS
            ),
            CounterMetricFamily("workqueue_retries_total", _HELP["retries"], labels=_LABELS),
        ]


_collectors_lock = threading.Lock()
# The only module-level state: which registries already carry the collector.
# Keyed weakly, so an entry dies with its registry.
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, _WorkqueueCollector] = (
    weakref.WeakKeyDictionary()
)


def _collector_for(registry: CollectorRegistry) -> _WorkqueueCollector:
    with _collectors_lock:
        collector = _collectors.get(registry)
        if collector is None:
            collector = _WorkqueueCollector()
            registry.register(collector)
            _collectors[registry] = collector
        return collector


class QueueMetrics(Generic[T]):
    """What a queue reports. This base records nothing (used by unnamed queues).

    ``add``: an item became ready (a new dirty key, or a delayed key came due);
    ``get``: handed out; ``done``: processing ended; ``retry``: a delayed add;
    ``change_priority``: a ready item moved to another priority. Called on the
    event loop thread.
    """

    __slots__ = ()

    def add(self, item: T, priority: int = 0) -> None:
        pass

    def get(self, item: T, priority: int = 0) -> None:
        pass

    def change_priority(self, old: int, new: int) -> None:
        pass

    def done(self, item: T) -> None:
        pass

    def retry(self) -> None:
        pass


class _PrometheusQueueMetrics(QueueMetrics[T]):
    __slots__ = (
        "__weakref__",
        "_add_times",
        "_clock",
        "_fixed_label",
        "_observed_priorities",
        "_processing_start",
        "_series",
        "name",
    )

    def __init__(
        self, collector: _WorkqueueCollector, name: str, clock: Clock, *, with_priority: bool
    ) -> None:
        self.name = name
        self._clock = clock
        # When each ready item was first added since it was last handed out.
        self._add_times: dict[Hashable, float] = {}
        # When each in-flight item was handed out.
        self._processing_start: dict[Hashable, float] = {}
        # FIFO queues: every depth change goes to priority="". Priority queue:
        # None, and the label comes from the priority (see _label).
        self._fixed_label: str | None = None if with_priority else ""
        # None once more than _PRIORITY_LABEL_LIMIT priorities have been seen.
        self._observed_priorities: set[int] | None = set()
        self._series = collector.track(self, name)
        if self._fixed_label is not None:
            self._series.depth.setdefault(self._fixed_label, 0.0)

    def add(self, item: T, priority: int = 0) -> None:
        series = self._series
        series.adds += 1
        label = self._label(priority)
        series.depth[label] = series.depth.get(label, 0.0) + 1
        if item not in self._add_times:
            self._add_times[item] = self._clock.monotonic()

    def get(self, item: T, priority: int = 0) -> None:
        series = self._series
        label = self._label(priority)
        series.depth[label] = series.depth.get(label, 0.0) - 1
        now = self._clock.monotonic()
        self._processing_start[item] = now
        added = self._add_times.pop(item, None)
        if added is not None:
            series.latency.observe(now - added)

    def change_priority(self, old: int, new: int) -> None:
        depth = self._series.depth
        old_label = self._label(old)
        depth[old_label] = depth.get(old_label, 0.0) - 1
        new_label = self._label(new)
        depth[new_label] = depth.get(new_label, 0.0) + 1

    def done(self, item: T) -> None:
        started = self._processing_start.pop(item, None)
        if started is not None:
            self._series.work.observe(self._clock.monotonic() - started)

    def retry(self) -> None:
        self._series.retries += 1

    def in_flight_ages(self) -> tuple[float, float]:
        """(sum, max) of the ages of in-flight items; safe from any thread."""
        starts = tuple(self._processing_start.values())
        now = self._clock.monotonic()
        total = oldest = 0.0
        for started in starts:
            age = now - started
            total += age
            oldest = max(oldest, age)
        return total, oldest

    def _label(self, priority: int) -> str:
        if self._fixed_label is not None:
            return self._fixed_label
        # Once the limit trips, every change goes to the placeholder, including
        # decrements of items counted under their own priority before; those
        # series then stay where they were (controller-runtime does the same).
        observed = self._observed_priorities
        if observed is None:
            return _PRIORITY_LABEL_EXCEEDED
        observed.add(priority)
        if len(observed) > _PRIORITY_LABEL_LIMIT:
            self._observed_priorities = None
            return _PRIORITY_LABEL_EXCEEDED
        return str(priority)


class MetricsProvider:
    """Creates queue metrics on one registry (the runtime's ``REGISTRY`` by default).

    Any number of providers and queues may share a registry; the workqueue
    collector is registered on it once.
    """

    __slots__ = ("registry",)

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = REGISTRY if registry is None else registry

    def queue_metrics(
        self, name: str, clock: Clock, *, with_priority: bool = False
    ) -> QueueMetrics[Any]:
        """Metrics for a queue called ``name``; a recorder of nothing if ``name`` is empty."""
        if not name:
            return QueueMetrics()
        return _PrometheusQueueMetrics(
            _collector_for(self.registry), name, clock, with_priority=with_priority
        )
