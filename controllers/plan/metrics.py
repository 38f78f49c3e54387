"""Metrics of the plan engine (spec 9.1); names and labels are pinned by the shipped alerts."""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["PlanMetrics", "plan_metrics"]


@dataclass(frozen=True)
class PlanMetrics:
    # {controller, namespace, name}: 1 while an Active plan is executed, 0 once it ended.
    plan_active: Gauge
    # {controller, namespace, task_type}
    task_retries: Counter
    task_failures: Counter

    def delete_plan_active(self, controller: str, namespace: str, name: str) -> None:
        """Forget the owner's series (its object is gone); absent series are fine."""
        with contextlib.suppress(KeyError):
            self.plan_active.remove(controller, namespace, name)


_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, PlanMetrics] = (
    weakref.WeakKeyDictionary()
)


def plan_metrics(registry: CollectorRegistry) -> PlanMetrics:
    """The plan metric families of a registry, created on first use (both controllers share
    them)."""
    found = _by_registry.get(registry)
    if found is None:
        found = PlanMetrics(
            plan_active=Gauge(
                "sei_controller_plan_active",
                "1 while an Active plan is being executed, 0 on completion or failure",
                ["controller", "namespace", "name"],
                registry=registry,
            ),
            task_retries=Counter(
                "sei_controller_task_retries",
                "Task retries by the plan executor",
                ["controller", "namespace", "task_type"],
                registry=registry,
            ),
            task_failures=Counter(
                "sei_controller_task_failures",
                "Terminal task failures (the task failed its plan)",
                ["controller", "namespace", "task_type"],
                registry=registry,
            ),
        )
        _by_registry[registry] = found
    return found
