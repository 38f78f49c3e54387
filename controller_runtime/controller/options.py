"""Controller settings: per-controller options, and the manager-wide defaults they fall back to
(controller-runtime's controller.Options and config.Controller).

An option left None takes the manager's default (ManagerOptions.controller), which itself has
controller-runtime's defaults: 1 worker, 2 min to sync, panics recovered, leader-gated, the
priority queue, no reconcile timeout, unique names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from controller_runtime.client import ApiError, NoKindMatchError
from controller_runtime.controller.reconcile import Request
from controller_runtime.workqueue import RateLimiter

__all__ = ["EXPECTED_ERRORS", "ControllerConfig", "ControllerOptions", "ReconcileError"]


class ReconcileError(Exception):
    """An expected, retryable failure a reconciler reports (Go's `return err`)."""


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    ReconcileError,
    ApiError,
    NoKindMatchError,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True)
class ControllerConfig:
    """Defaults for every controller of a manager (controller-runtime's config.Controller).

    group_kind_concurrency: workers per kind of the builder's for_() type, keyed "Kind.group"
      ("Deployment.apps", "ConfigMap" for the core group); it wins over
      max_concurrent_reconciles, and loses to the controller's own option.
    """

    max_concurrent_reconciles: int = 1
    group_kind_concurrency: Mapping[str, int] = field(default_factory=dict)
    cache_sync_timeout: float = 120.0
    recover_panic: bool = True
    need_leader_election: bool = True
    use_priority_queue: bool = True
    reconciliation_timeout: float | None = None
    skip_name_validation: bool = False

    def concurrency_for(self, group: str, kind: str) -> int | None:
        """The group_kind_concurrency entry of a kind, if any."""
        return self.group_kind_concurrency.get(f"{kind}.{group}" if group else kind)


@dataclass
class ControllerOptions:
    """One controller's settings; None means the manager's default (ControllerConfig).

    reconciliation_timeout: seconds each reconcile may take before it is cancelled and
      counted in controller_runtime_reconcile_timeouts_total.
    rate_limiter: paces retries; default: the queue's (per-item exponential 5 ms -> 1000 s,
      plus an overall 10 qps / 100 burst bucket for the plain queue).
    expected_errors: exceptions counted as reconcile errors; any other exception is a bug,
      logged with its traceback and counted as a panic.
    """

    max_concurrent_reconciles: int | None = None
    cache_sync_timeout: float | None = None
    recover_panic: bool | None = None
    need_leader_election: bool | None = None
    use_priority_queue: bool | None = None
    rate_limiter: RateLimiter[Request] | None = None
    reconciliation_timeout: float | None = None
    skip_name_validation: bool | None = None
    expected_errors: tuple[type[BaseException], ...] = EXPECTED_ERRORS
