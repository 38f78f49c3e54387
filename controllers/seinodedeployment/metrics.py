"""The SeiNodeDeployment controller's Prometheus metrics (spec 9.1), names and labels verbatim."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api.v1alpha1 import ConditionStatus, SeiNodeDeployment, SeiNodeDeploymentPhase

GROUP_PHASES: tuple[str, ...] = tuple(p.value for p in SeiNodeDeploymentPhase)
TRACKED_CONDITIONS = ("NodesReady", "RouteReady", "ServiceMonitorReady")
CONDITION_STATUSES: tuple[str, ...] = tuple(s.value for s in ConditionStatus)
SUBSTEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
CONTROLLER = "seinodedeployment"


class ReconcileErrors:
    """``sei_controller_reconcile_errors_total``: shared by both controllers (the SeiNode
    controller only deletes its series, as the reference does)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            "sei_controller_reconcile_errors",
            "Reconcile errors in networking/SeiNodes/plan/monitoring substeps",
            ["controller", "namespace", "name"],
            registry=registry,
        )

    def inc(self, controller: str, namespace: str, name: str) -> None:
        self.counter.labels(controller, namespace, name).inc()

    def forget(self, controller: str, namespace: str, name: str) -> None:
        with contextlib.suppress(KeyError):
            self.counter.remove(controller, namespace, name)


class GroupMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.phase = Gauge(
            "sei_controller_seinodedeployment_phase",
            "Current phase of each SeiNodeDeployment (one-hot)",
            ["namespace", "name", "phase"],
            registry=registry,
        )
        self.replicas = Gauge(
            "sei_controller_seinodedeployment_replicas",
            "Desired and ready replicas of each SeiNodeDeployment",
            ["namespace", "name", "type"],
            registry=registry,
        )
        self.condition = Gauge(
            "sei_controller_seinodedeployment_condition",
            "Status of the tracked conditions of each SeiNodeDeployment (one-hot)",
            ["namespace", "name", "type", "status"],
            registry=registry,
        )
        self.substep_duration = Histogram(
            "sei_controller_seinodedeployment_reconcile_substep_duration_seconds",
            "Duration of the SeiNodeDeployment reconcile substeps",
            ["controller", "substep"],
            buckets=SUBSTEP_BUCKETS,
            registry=registry,
        )

    def record(self, group: SeiNodeDeployment) -> None:
        """The gauges emitted at the end of a full reconcile."""
        ns, name = group.metadata.namespace or "", group.metadata.name or ""
        phase = group.status.phase.value if group.status.phase else ""
        for candidate in GROUP_PHASES:
            self.phase.labels(ns, name, candidate).set(1 if candidate == phase else 0)
        self.replicas.labels(ns, name, "desired").set(group.spec.replicas)
        self.replicas.labels(ns, name, "ready").set(group.status.ready_replicas or 0)
        for type_ in TRACKED_CONDITIONS:
            found = group.status.condition(type_)
            current = found.status.value if found is not None else "Unknown"
            for status in CONDITION_STATUSES:
                self.condition.labels(ns, name, type_, status).set(1 if status == current else 0)

    def forget(self, namespace: str, name: str) -> None:
        series: list[tuple[Gauge, tuple[str, ...]]] = [
            (self.phase, (namespace, name, p)) for p in GROUP_PHASES
        ]
        series += [(self.replicas, (namespace, name, t)) for t in ("desired", "ready")]
        series += [
            (self.condition, (namespace, name, t, s))
            for t in TRACKED_CONDITIONS
            for s in CONDITION_STATUSES
        ]
        for gauge, labels in series:
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)
