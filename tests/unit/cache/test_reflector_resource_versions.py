"""Where the reflector lists and watches from (client-go's relistResourceVersion and
rewatchResourceVersion)."""

from __future__ import annotations

from controller_runtime.cache import Reflector, SharedIndexInformer


def reflector() -> Reflector:
    return SharedIndexInformer(None, "v1", "ConfigMap").reflector  # type: ignore[arg-type]


def test_first_list_accepts_any_cached_state_and_first_watch_the_latest() -> None:
    r = reflector()
    assert r.relist_resource_version() == "0"
    assert r.rewatch_resource_version() == ""


def test_after_a_load_both_continue_from_the_last_resource_version() -> None:
    r = reflector()
    r.last_sync_resource_version = "42"
    assert r.relist_resource_version() == "42"
    assert r.rewatch_resource_version() == "42"


def test_an_unavailable_resource_version_makes_both_read_the_latest_state() -> None:
    r = reflector()
    r.last_sync_resource_version = "42"
    r._rv_unavailable = True  # set by a list or streaming list answered 410 Gone
    assert r.relist_resource_version() == ""
    assert r.rewatch_resource_version() == ""
