"""Work queues for controllers: an asyncio port of client-go's workqueue package
and controller-runtime's priority queue.

A controller's workers loop on ``get`` → reconcile → ``done``; failures go back
through ``add_rate_limited``, timed requeues through ``forget`` + ``add_after``.
Adding is a plain call, so synchronous event handlers can enqueue directly.
"""

from controller_runtime.workqueue.delaying_queue import DelayingQueue
from controller_runtime.workqueue.interfaces import (
    DelayingInterface,
    GetResult,
    GetWithPriorityResult,
    Interface,
    PriorityInterface,
    RateLimitingInterface,
)
from controller_runtime.workqueue.metrics import QUEUE_DURATION_BUCKETS, MetricsProvider
from controller_runtime.workqueue.priority_queue import LOW_PRIORITY, PriorityQueue
from controller_runtime.workqueue.priority_wrapper import PriorityQueueWrapper
from controller_runtime.workqueue.queue import Queue
from controller_runtime.workqueue.rate_limiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
    default_item_based_rate_limiter,
    default_priority_queue_rate_limiter,
)
from controller_runtime.workqueue.rate_limiting_queue import RateLimitingQueue

__all__ = [
    "LOW_PRIORITY",
    "QUEUE_DURATION_BUCKETS",
    "BucketRateLimiter",
    "DelayingInterface",
    "DelayingQueue",
    "GetResult",
    "GetWithPriorityResult",
    "Interface",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "MetricsProvider",
    "PriorityInterface",
    "PriorityQueue",
    "PriorityQueueWrapper",
    "Queue",
    "RateLimiter",
    "RateLimitingInterface",
    "RateLimitingQueue",
    "WithMaxWaitRateLimiter",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
    "default_priority_queue_rate_limiter",
]
