"""Metrics of the controller runtime: the registry the manager serves."""

from controller_runtime.metrics.registry import REGISTRY

__all__ = ["REGISTRY"]
