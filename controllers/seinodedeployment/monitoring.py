"""Pure rules of a group's ServiceMonitor (spec 5.6; decisions F3, F14).

Each pod is a scrape target exactly once (F14). The reference selects every Service labelled
for the group, i.e. the per-node headless Services AND the external Service, so each pod is
scraped twice when networking is on. Here the selector also requires the ``sei.io/node`` label:
only the per-node headless Services carry it (they select exactly their node's pod), the
external Service does not. The per-node Services are chosen over the external one because they
exist whether or not networking is enabled, select one pod each, and publish not-ready
addresses (a syncing node is still scraped). Group-only selection (no revision) keeps every
child scraped during an InPlace rollout (F3).
"""

from __future__ import annotations

from typing import Any, Final

from api.v1alpha1 import SeiNodeDeployment
from controllers.seinode.labels import NODE_LABEL
from controllers.seinodedeployment.children import (
    GROUP_LABEL,
    MANAGED_BY,
    MANAGED_BY_ANNOTATION,
    owner_reference,
)

__all__ = [
    "DEFAULT_INTERVAL",
    "SERVICEMONITOR_API_VERSION",
    "SERVICEMONITOR_KIND",
    "service_monitor",
    "service_monitor_selector",
]

Object = dict[str, Any]

SERVICEMONITOR_API_VERSION: Final = "monitoring.coreos.com/v1"
SERVICEMONITOR_KIND: Final = "ServiceMonitor"
DEFAULT_INTERVAL: Final = "30s"
METRICS_PORT: Final = "metrics"


def service_monitor_selector(group: SeiNodeDeployment) -> Object:
    """The group's per-node headless Services, never its external Service (F14)."""
    return {
        "matchLabels": {GROUP_LABEL: group.metadata.name or ""},
        "matchExpressions": [{"key": NODE_LABEL, "operator": "Exists"}],
    }


def service_monitor(group: SeiNodeDeployment) -> Object | None:
    """The ServiceMonitor as applied, or None when ``monitoring.serviceMonitor`` is absent."""
    monitoring = group.spec.monitoring
    config = monitoring.service_monitor if monitoring is not None else None
    if config is None:
        return None
    labels = dict(config.labels or {})
    labels[GROUP_LABEL] = group.metadata.name or ""
    return {
        "apiVersion": SERVICEMONITOR_API_VERSION,
        "kind": SERVICEMONITOR_KIND,
        "metadata": {
            "name": group.metadata.name,
            "namespace": group.metadata.namespace,
            "labels": labels,
            "annotations": {MANAGED_BY_ANNOTATION: MANAGED_BY},
            "ownerReferences": [owner_reference(group)],
        },
        "spec": {
            "selector": service_monitor_selector(group),
            "endpoints": [{"port": METRICS_PORT, "interval": config.interval or DEFAULT_INTERVAL}],
        },
    }
