"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm."""

from controller_runtime.leaderelection.config import (
    JITTER_FACTOR,
    LeaderElectionConfig,
    default_identity,
)
from controller_runtime.leaderelection.elector import (
    LeaderCallback,
    LeaderElector,
    NewLeaderCallback,
)
from controller_runtime.leaderelection.lock import LEASE_API_VERSION, LeaseLock, ResourceLock
from controller_runtime.leaderelection.metrics import master_status_gauge
from controller_runtime.leaderelection.record import (
    LeaderElectionRecord,
    format_micro_time,
    parse_micro_time,
)

__all__ = [
    "JITTER_FACTOR",
    "LEASE_API_VERSION",
    "LeaderCallback",
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "NewLeaderCallback",
    "ResourceLock",
    "default_identity",
    "format_micro_time",
    "master_status_gauge",
    "parse_micro_time",
]
