"""The leader election record and its mapping to a coordination.k8s.io/v1 LeaseSpec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "LeaderElectionRecord",
    "format_micro_time",
    "parse_micro_time",
    "record_from_lease_spec",
    "record_to_lease_spec",
]

# metav1.MicroTime on the wire: RFC 3339 in UTC with exactly six fractional digits.
MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class LeaderElectionRecord:
    """What the Lease says about leadership. An empty holder means nobody holds it."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0


def format_micro_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(MICRO_TIME_FORMAT)


def parse_micro_time(value: object) -> datetime | None:
    """Reads MicroTime (and plain RFC 3339 written by other clients); None if absent/invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def record_to_lease_spec(record: LeaderElectionRecord) -> dict[str, Any]:
    spec: dict[str, Any] = {
        # Written even when empty: a released Lease says holderIdentity "".
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "leaseTransitions": record.leader_transitions,
    }
    if record.acquire_time is not None:
        spec["acquireTime"] = format_micro_time(record.acquire_time)
    if record.renew_time is not None:
        spec["renewTime"] = format_micro_time(record.renew_time)
    return spec


def record_from_lease_spec(spec: Mapping[str, Any] | None) -> LeaderElectionRecord:
    spec = spec or {}
    return LeaderElectionRecord(
        holder_identity=str(spec.get("holderIdentity") or ""),
        lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=parse_micro_time(spec.get("acquireTime")),
        renew_time=parse_micro_time(spec.get("renewTime")),
        leader_transitions=int(spec.get("leaseTransitions") or 0),
    )
