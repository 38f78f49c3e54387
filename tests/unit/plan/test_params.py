"""Stored params: Go-compatible JSON out, tolerant-but-typed parsing in."""

from __future__ import annotations

import pytest

from controllers.plan.params import (
    ConfigApplyParams,
    ConfigureStateSyncParams,
    DiscoverPeersParams,
    InvalidTaskParamsError,
    PeerSourceParam,
    SnapshotRestoreParams,
    TeardownBootstrapParams,
    parse_params,
)


def test_stored_leaves_out_empty_optional_keys() -> None:
    assert ConfigApplyParams(mode="full").stored() == {"mode": "full"}


def test_stored_keeps_a_required_key_even_when_empty() -> None:
    assert ConfigApplyParams().stored() == {"mode": ""}


def test_stored_writes_a_missing_list_as_null() -> None:
    assert DiscoverPeersParams().stored() == {"sources": None}


def test_stored_peer_source_leaves_out_keys_of_other_types() -> None:
    source = PeerSourceParam(type="static", addresses=["a@b:1"])
    assert DiscoverPeersParams(sources=[source]).stored() == {
        "sources": [{"type": "static", "addresses": ["a@b:1"]}]
    }


def test_stored_state_sync_writes_use_local_snapshot_only_when_true() -> None:
    assert ConfigureStateSyncParams(use_local_snapshot=False).stored() == {}
    assert ConfigureStateSyncParams(use_local_snapshot=True).stored() == {"useLocalSnapshot": True}


def test_parse_reads_missing_keys_as_zero_values() -> None:
    assert parse_params(SnapshotRestoreParams, "snapshot-restore", None).target_height == 0


def test_parse_ignores_unknown_keys() -> None:
    parsed = parse_params(SnapshotRestoreParams, "snapshot-restore", {"targetHeight": 3, "x": 1})
    assert parsed.target_height == 3


def test_parse_accepts_null_lists() -> None:
    assert parse_params(DiscoverPeersParams, "discover-peers", {"sources": None}).sources is None


def test_parse_rejects_a_value_of_the_wrong_type() -> None:
    with pytest.raises(InvalidTaskParamsError, match="invalid params for config-apply task: mode"):
        parse_params(ConfigApplyParams, "config-apply", {"mode": 3})


def test_parse_rejects_bootstrap_params_without_object_names() -> None:
    with pytest.raises(InvalidTaskParamsError, match="jobName"):
        parse_params(TeardownBootstrapParams, "teardown-bootstrap", {"namespace": "ns"})


def test_stored_round_trips_through_parse() -> None:
    params = ConfigApplyParams(mode="full", overrides={"a": "b"}, target_version=2)
    assert parse_params(ConfigApplyParams, "config-apply", params.stored()) == params
