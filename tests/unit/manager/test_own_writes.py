"""OwnWrites: a reconciler reads its own last write until the cache has caught up."""

from __future__ import annotations

from typing import Any

from controller_runtime.manager.own_writes import OwnWrites


def _obj(rv: str, uid: str = "u1", value: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "ns", "uid": uid, "resourceVersion": rv},
        "data": {"v": value},
    }


def test_newer_own_write_wins_over_stale_cache() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    assert writes.newest(_obj("10", value="cached"))["data"]["v"] == "written"


def test_cache_wins_once_it_caught_up_and_the_entry_is_dropped() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    assert writes.newest(_obj("12", value="cached"))["data"]["v"] == "cached"
    assert len(writes) == 0


def test_newer_cache_wins() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    assert writes.newest(_obj("15", value="cached"))["data"]["v"] == "cached"


def test_recreated_object_is_not_shadowed_by_the_old_ones_write() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", uid="old"))
    assert writes.newest(_obj("3", uid="new", value="cached"))["data"]["v"] == "cached"


def test_an_older_write_does_not_replace_a_newer_one() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="newer"))
    writes.record(_obj("11", value="older"))
    assert writes.newest(_obj("10"))["data"]["v"] == "newer"


def test_non_integer_versions_fall_back_to_the_cache() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    assert writes.newest(_obj("abc", value="cached"))["data"]["v"] == "cached"


def test_returned_write_is_a_copy() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    writes.newest(_obj("10"))["data"]["v"] = "mutated"
    assert writes.newest(_obj("10"))["data"]["v"] == "written"


def test_forget_drops_the_write() -> None:
    writes = OwnWrites()
    writes.record(_obj("12", value="written"))
    writes.forget(_obj("12"))
    assert writes.newest(_obj("10", value="cached"))["data"]["v"] == "cached"
