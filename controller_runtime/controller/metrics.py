"""controller_runtime_* metrics (names, labels and buckets as in controller-runtime)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RESULT_SUCCESS = "success"
RESULT_ERROR = "error"
RESULT_REQUEUE = "requeue"
RESULT_REQUEUE_AFTER = "requeue_after"
RESULTS = (RESULT_SUCCESS, RESULT_ERROR, RESULT_REQUEUE, RESULT_REQUEUE_AFTER)

RECONCILE_TIME_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30,
    40, 50, 60,
)  # fmt: skip


@dataclass(frozen=True)
class ControllerMetrics:
    reconcile_total: Counter
    reconcile_errors: Counter
    terminal_reconcile_errors: Counter
    reconcile_panics: Counter
    reconcile_timeouts: Counter
    reconcile_time: Histogram
    max_concurrent_reconciles: Gauge
    active_workers: Gauge

    def init(self, controller: str, workers: int) -> None:
        """Every series of this controller exists (at 0) from its start, so rates and
        alerts work before the first error."""
        for result in RESULTS:
            self.reconcile_total.labels(controller, result)
        for counter in (
            self.reconcile_errors,
            self.terminal_reconcile_errors,
            self.reconcile_panics,
            self.reconcile_timeouts,
        ):
            counter.labels(controller)
        self.max_concurrent_reconciles.labels(controller).set(workers)
        self.active_workers.labels(controller).set(0)


_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, ControllerMetrics] = (
    weakref.WeakKeyDictionary()
)


def controller_metrics(registry: CollectorRegistry) -> ControllerMetrics:
    """The controller metric families of a registry, created on first use."""
    found = _by_registry.get(registry)
    if found is not None:
        return found
    ns = "controller_runtime"
    label = ["controller"]
    metrics = ControllerMetrics(
        reconcile_total=Counter(
            "reconcile",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            namespace=ns,
            registry=registry,
        ),
        reconcile_errors=Counter(
            "reconcile_errors",
            "Total number of reconciliation errors per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
        terminal_reconcile_errors=Counter(
            "terminal_reconcile_errors",
            "Total number of terminal reconciliation errors per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
        reconcile_panics=Counter(
            "reconcile_panics",
            "Total number of reconciliation panics per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
        reconcile_timeouts=Counter(
            "reconcile_timeouts",
            "Total number of reconciliation timeouts per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
        reconcile_time=Histogram(
            "reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            label,
            namespace=ns,
            registry=registry,
            buckets=RECONCILE_TIME_BUCKETS,
        ),
        max_concurrent_reconciles=Gauge(
            "max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
        active_workers=Gauge(
            "active_workers",
            "Number of currently used workers per controller",
            label,
            namespace=ns,
            registry=registry,
        ),
    )
    _by_registry[registry] = metrics
    return metrics
