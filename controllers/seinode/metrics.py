"""The SeiNode controller's Prometheus metrics (spec 9.1), names and labels verbatim: the
reference operator's alerts (SeiNodeFailed, SeiNodeStuckInitializing, ...) query them."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.v1alpha1 import SeiNodePhase

PHASES: tuple[str, ...] = tuple(p.value for p in SeiNodePhase)
MONITOR_STATUSES = ("Pending", "Complete", "Failed")
INIT_DURATION_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)


class SeiNodeMetrics:
    """One instance per registry (prometheus_client refuses a second registration)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.phase = Gauge(
            "sei_controller_seinode_phase",
            "Current phase of each SeiNode (1 for the current phase, 0 for the others)",
            ["namespace", "name", "phase"],
            registry=registry,
        )
        self.phase_transitions = Counter(
            "sei_controller_seinode_phase_transitions",
            "SeiNode phase transitions",
            ["namespace", "from", "to"],
            registry=registry,
        )
        self.init_duration = Histogram(
            "sei_controller_seinode_init_duration_seconds",
            "Time from SeiNode creation to Running",
            ["namespace", "chain_id"],
            buckets=INIT_DURATION_BUCKETS,
            registry=registry,
        )
        self.last_init_duration = Gauge(
            "sei_controller_seinode_last_init_duration_seconds",
            "Time from creation to Running of each SeiNode",
            ["namespace", "name"],
            registry=registry,
        )
        self.sidecar_unreachable = Counter(
            "sei_controller_sidecar_unreachable",
            "Running-phase sidecar client construction failures",
            ["namespace", "node"],
            registry=registry,
        )
        self.monitor_task_completed = Counter(
            "sei_controller_monitor_task_completed",
            "Terminal outcomes of monitor tasks",
            ["namespace", "node", "task_type", "reason"],
            registry=registry,
        )
        self.monitor_task_status = Gauge(
            "sei_controller_monitor_task_status",
            "Current status of each monitor task (1 for the current status, 0 for the others)",
            ["namespace", "node", "task_type", "status"],
            registry=registry,
        )

    def set_phase(self, namespace: str, name: str, phase: str) -> None:
        for candidate in PHASES:
            self.phase.labels(namespace, name, candidate).set(1 if candidate == phase else 0)

    def set_monitor_status(self, namespace: str, node: str, task_type: str, status: str) -> None:
        for candidate in MONITOR_STATUSES:
            self.monitor_task_status.labels(namespace, node, task_type, candidate).set(
                1 if candidate == status else 0
            )

    def forget_node(self, namespace: str, name: str) -> None:
        """Deletes the per-node series of a deleted SeiNode (spec 3.8)."""
        for phase in PHASES:
            _remove(self.phase, namespace, name, phase)
        _remove(self.last_init_duration, namespace, name)
        _remove(self.sidecar_unreachable, namespace, name)
        for task_type in ("result-export", "snapshot-upload"):
            for status in MONITOR_STATUSES:
                _remove(self.monitor_task_status, namespace, name, task_type, status)


def _remove(metric: Gauge | Counter, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
