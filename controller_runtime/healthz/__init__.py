"""Liveness and readiness checks and the health probe server (`/healthz`, `/readyz`)."""

from controller_runtime.healthz.healthz import (
    Checker,
    CheckStatus,
    Handler,
    ping,
    render_statuses,
)
from controller_runtime.healthz.server import (
    LIVENESS_ENDPOINT,
    READINESS_ENDPOINT,
    HealthProbeServer,
    HealthzAlreadyStartedError,
)

__all__ = [
    "LIVENESS_ENDPOINT",
    "READINESS_ENDPOINT",
    "CheckStatus",
    "Checker",
    "Handler",
    "HealthProbeServer",
    "HealthzAlreadyStartedError",
    "ping",
    "render_statuses",
]
