"""A delaying queue whose retries are paced by a rate limiter (client-go semantics)."""

from __future__ import annotations

from controller_runtime.clock import Clock
from controller_runtime.workqueue.delaying_queue import DelayingQueue
from controller_runtime.workqueue.interfaces import T
from controller_runtime.workqueue.metrics import MetricsProvider
from controller_runtime.workqueue.rate_limiters import RateLimiter, default_controller_rate_limiter

__all__ = ["RateLimitingQueue"]


class RateLimitingQueue(DelayingQueue[T]):
    """Implements ``RateLimitingInterface[T]``.

    ``rate_limiter`` defaults to :func:`default_controller_rate_limiter` on the
    queue's clock (controller-runtime's choice when the priority queue is off).
    """

    def __init__(
        self,
        *,
        rate_limiter: RateLimiter[T] | None = None,
        name: str = "",
        metrics_provider: MetricsProvider | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name=name, metrics_provider=metrics_provider, clock=clock)
        self.rate_limiter: RateLimiter[T] = (
            default_controller_rate_limiter(clock=self._clock)
            if rate_limiter is None
            else rate_limiter
        )

    def add_rate_limited(self, item: T) -> None:
        """``add_after(item, rate_limiter.when(item))``; the limiter counts it even
        during shutdown, when the add itself is ignored."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset the limiter's memory of ``item``. ``done`` must still be called."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
