"""The task registries of each owner kind."""

from __future__ import annotations

from controllers.plan.bootstrap_tasks import register_bootstrap_tasks
from controllers.plan.engine import TaskRegistry
from controllers.plan.sidecar_tasks import register_sidecar_tasks

__all__ = ["seinode_task_registry"]


def seinode_task_registry() -> TaskRegistry:
    """Every task a SeiNode plan may hold: the sidecar tasks (6.7.1) and the bootstrap
    controller tasks (6.7.2)."""
    registry = TaskRegistry()
    register_sidecar_tasks(registry)
    register_bootstrap_tasks(registry)
    return registry
