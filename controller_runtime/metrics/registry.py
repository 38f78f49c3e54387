"""The runtime's own Prometheus registry.

Everything the controller runtime measures is registered here rather than on
prometheus_client's process-global default registry, so an operator that embeds
the runtime chooses what it serves, and tests can build throw-away registries.
The manager serves this registry at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

__all__ = ["REGISTRY"]

# Created once at import, like controller-runtime's metrics.Registry. It starts
# empty: collectors register themselves when their owner (a workqueue, a
# controller) is first created with this registry.
REGISTRY: CollectorRegistry = CollectorRegistry()
