"""`leader_election_master_status{name}`: 1 while this process leads the named Lease, else 0."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Gauge

__all__ = ["master_status_gauge"]

_gauges: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = weakref.WeakKeyDictionary()


def master_status_gauge(registry: CollectorRegistry) -> Gauge:
    """The gauge, registered once per registry."""
    if registry not in _gauges:
        _gauges[registry] = Gauge(
            "leader_election_master_status",
            "1 while this process holds the leader election lease called 'name', "
            "0 while it is a backup.",
            ["name"],
            registry=registry,
        )
    return _gauges[registry]
