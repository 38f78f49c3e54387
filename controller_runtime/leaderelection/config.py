"""Leader election settings, defaulted and validated when constructed."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["JITTER_FACTOR", "LeaderElectionConfig", "default_identity"]

# The acquire loop waits retry_period * (1 + random * JITTER_FACTOR) between attempts, so
# renew_deadline must leave room for more than one such wait.
JITTER_FACTOR = 1.2


def default_identity() -> str:
    """Hostname plus a random suffix: unique even for two processes on one host."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Where the Lease lives, who we are, and the timings (seconds).

    lease_duration: how long a non-leader waits, on its own clock, after it last saw the
      record change before it may take the Lease over.
    renew_deadline: how long the leader keeps retrying a renewal before it gives up leading.
    retry_period: the pause between attempts (acquire: jittered by JITTER_FACTOR).
    release_on_cancel: when run() is cancelled (or leadership ends) clear the holder so
      another candidate can take over at once; only safe if this process stops acting as
      leader right away.
    labels: set on the Lease (on create and on every update).
    """

    lease_name: str
    lease_namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lease_name:
            raise ValueError("leader election lease_name must not be empty")
        if not self.lease_namespace:
            raise ValueError("unable to find leader election namespace (lease_namespace is empty)")
        if not self.identity:
            raise ValueError("leader election identity must not be empty")
        for name in ("lease_duration", "renew_deadline", "retry_period"):
            if not getattr(self, name) > 0:
                raise ValueError(f"leader election {name} must be greater than zero")
        if self.lease_duration < 1:
            raise ValueError(
                "leader election lease_duration must be at least 1s "
                "(the Lease stores whole seconds)"
            )
        if self.lease_duration <= self.renew_deadline:
            raise ValueError(
                f"leader election lease_duration ({self.lease_duration:g}s) must be greater "
                f"than renew_deadline ({self.renew_deadline:g}s)"
            )
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError(
                f"leader election renew_deadline ({self.renew_deadline:g}s) must be greater "
                f"than retry_period * {JITTER_FACTOR} ({JITTER_FACTOR * self.retry_period:g}s)"
            )

    @property
    def lease_duration_seconds(self) -> int:
        return int(self.lease_duration)

    @property
    def request_timeout(self) -> float:
        """Bound on each API request, so one hung request cannot use up the renew deadline."""
        return max(self.renew_deadline / 2, 1.0)
