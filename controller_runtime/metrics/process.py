"""Process and Python runtime metrics (`process_*`, `python_*`), the Python counterpart of the
process and Go collectors controller-runtime registers on its registry."""

from __future__ import annotations

import contextlib
import threading
import weakref

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.gc_collector import GCCollector

from controller_runtime.metrics.registry import REGISTRY

__all__ = ["register_process_collectors"]

_lock = threading.Lock()
# Registries that already carry the collectors; weak, so throw-away test registries can go.
_done: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()


def register_process_collectors(registry: CollectorRegistry = REGISTRY) -> None:
    """Registers the process, platform and GC collectors on registry, once per registry.

    Idempotent and thread-safe. A collector whose series the registry already has (someone
    registered their own ProcessCollector, say) is skipped rather than failing.
    """
    with _lock:
        if registry in _done:
            return
        for make in (
            lambda: ProcessCollector(registry=registry),
            lambda: PlatformCollector(registry=registry),
            lambda: GCCollector(registry=registry),
        ):
            with contextlib.suppress(ValueError):  # "Duplicated timeseries": already there
                make()
        _done.add(registry)
