"""The TaskPlan engine shared by the SeiNode and SeiNodeDeployment controllers (spec 6)."""

from controllers.plan.catalog import seinode_task_registry
from controllers.plan.engine import (
    IMMEDIATE_REQUEUE,
    TASK_POLL_INTERVAL,
    BootstrapResources,
    KubeClient,
    PlanError,
    PlanExecutor,
    StepResult,
    Task,
    TaskContext,
    TaskRegistry,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
    controller_label,
    retry_backoff,
)
from controllers.plan.metrics import PlanMetrics, plan_metrics

__all__ = [
    "IMMEDIATE_REQUEUE",
    "TASK_POLL_INTERVAL",
    "BootstrapResources",
    "KubeClient",
    "PlanError",
    "PlanExecutor",
    "PlanMetrics",
    "StepResult",
    "Task",
    "TaskContext",
    "TaskRegistry",
    "TaskState",
    "TerminalTaskError",
    "TransientTaskError",
    "controller_label",
    "plan_metrics",
    "retry_backoff",
    "seinode_task_registry",
]
