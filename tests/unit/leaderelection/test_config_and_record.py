"""Config defaults and validation; the record's LeaseSpec mapping and MicroTime format."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from controller_runtime.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    format_micro_time,
    parse_micro_time,
)
from controller_runtime.leaderelection.record import record_from_lease_spec, record_to_lease_spec


def test_defaults() -> None:
    cfg = LeaderElectionConfig(lease_name="op", lease_namespace="ns")
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.release_on_cancel is False
    host, _, suffix = cfg.identity.rpartition("_")
    assert host == socket.gethostname()
    assert len(suffix) == 36
    assert LeaderElectionConfig(lease_name="op", lease_namespace="ns").identity != cfg.identity
    assert cfg.request_timeout == 5.0
    short = LeaderElectionConfig("op", "ns", lease_duration=2, renew_deadline=1.5, retry_period=0.3)
    assert short.request_timeout == 1.0  # never below 1 s


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lease_duration": 10, "renew_deadline": 10}, "lease_duration .* greater than renew"),
        ({"lease_duration": 5, "renew_deadline": 8}, "lease_duration .* greater than renew"),
        ({"renew_deadline": 2.4, "retry_period": 2}, r"renew_deadline .* retry_period \* 1.2"),
        ({"retry_period": 0}, "retry_period must be greater than zero"),
        ({"renew_deadline": -1}, "renew_deadline must be greater than zero"),
        ({"lease_duration": 0}, "lease_duration must be greater than zero"),
        ({"lease_duration": 0.9, "renew_deadline": 0.5, "retry_period": 0.1}, "at least 1s"),
        ({"identity": ""}, "identity must not be empty"),
        ({"lease_name": ""}, "lease_name must not be empty"),
        ({"lease_namespace": ""}, "unable to find leader election namespace"),
    ],
)
def test_invalid_config_is_rejected_at_construction(
    kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"lease_name": "op", "lease_namespace": "ns", **kwargs}
    with pytest.raises(ValueError, match=message):
        LeaderElectionConfig(**args)  # type: ignore[arg-type]


def test_micro_time_round_trip() -> None:
    t = datetime(2030, 1, 2, 3, 4, 5, 60, tzinfo=UTC)
    assert format_micro_time(t) == "2030-01-02T03:04:05.000060Z"
    assert parse_micro_time("2030-01-02T03:04:05.000060Z") == t
    assert parse_micro_time("2030-01-02T03:04:05Z") == t.replace(microsecond=0)
    assert parse_micro_time(None) is None
    assert parse_micro_time("garbage") is None


def test_lease_spec_mapping() -> None:
    t = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    record = LeaderElectionRecord("me", 15, t, t, 4)
    spec = record_to_lease_spec(record)
    assert spec == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": "2030-01-02T03:04:05.123456Z",
        "renewTime": "2030-01-02T03:04:05.123456Z",
        "leaseTransitions": 4,
    }
    assert record_from_lease_spec(spec) == record
    assert record_from_lease_spec({}) == LeaderElectionRecord()
    assert record_to_lease_spec(LeaderElectionRecord())["holderIdentity"] == ""
