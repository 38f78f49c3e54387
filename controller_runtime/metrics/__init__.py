"""Metrics of the controller runtime: the registry the manager serves, and the server for it."""

from controller_runtime.metrics.httpserver import BindAddress, parse_bind_address
from controller_runtime.metrics.process import register_process_collectors
from controller_runtime.metrics.registry import REGISTRY
from controller_runtime.metrics.server import DEFAULT_BIND_ADDRESS, METRICS_PATH, MetricsServer

__all__ = [
    "DEFAULT_BIND_ADDRESS",
    "METRICS_PATH",
    "REGISTRY",
    "BindAddress",
    "MetricsServer",
    "parse_bind_address",
    "register_process_collectors",
]
