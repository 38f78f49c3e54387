"""The projection the golden tests rely on: an object restricted to one manager's fieldsV1."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.managed_fields import applied_by, without_paths


def _obj(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "n", "namespace": "ns", "uid": "u", "resourceVersion": "9"},
        "spec": spec,
    }


def test_projection_keeps_identity_but_not_server_metadata() -> None:
    projected = applied_by(_obj({}), {})
    assert projected == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "n", "namespace": "ns"},
    }


def test_unowned_fields_are_dropped() -> None:
    obj = _obj({"replicas": 1, "revisionHistoryLimit": 10})
    projected = applied_by(obj, {"f:spec": {"f:replicas": {}}})
    assert projected["spec"] == {"replicas": 1}


def test_granular_struct_owned_as_a_leaf_was_applied_empty() -> None:
    spec = {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}
    projected = applied_by(_obj(spec), {"f:spec": {"f:updateStrategy": {}}})
    assert projected["spec"] == {"updateStrategy": {}}


def test_atomic_struct_owned_as_a_leaf_is_taken_whole() -> None:
    spec = {"selector": {"matchLabels": {"a": "b"}}}
    projected = applied_by(_obj(spec), {"f:spec": {"f:selector": {}}})
    assert projected["spec"] == spec


def test_keyed_list_items_keep_object_order_and_only_owned_fields() -> None:
    spec = {"ports": [{"port": 2, "name": "b", "x": 1}, {"port": 1, "name": "a", "x": 1}]}
    fields: dict[str, Any] = {
        "f:spec": {
            "f:ports": {
                'k:{"port":1}': {".": {}, "f:name": {}},
                'k:{"port":2}': {".": {}, "f:name": {}},
            }
        }
    }
    assert applied_by(_obj(spec), fields)["spec"] == {"ports": [{"name": "b"}, {"name": "a"}]}


def test_list_item_owned_without_fields_is_atomic() -> None:
    spec = {"refs": [{"uid": "x", "kind": "K"}]}
    fields: dict[str, Any] = {"f:spec": {"f:refs": {'k:{"uid":"x"}': {}}}}
    assert applied_by(_obj(spec), fields)["spec"] == spec


def test_owned_item_missing_from_the_object_is_an_error() -> None:
    fields: dict[str, Any] = {"f:spec": {"f:ports": {'k:{"port":1}': {".": {}}}}}
    with pytest.raises(ValueError, match="owned items not in the object"):
        applied_by(_obj({"ports": []}), fields)


def test_without_paths_wildcard_removes_from_every_item() -> None:
    fields: dict[str, Any] = {
        "f:c": {'k:{"name":"a"}': {"f:x": {}, "f:y": {}}, 'k:{"name":"b"}': {"f:x": {}}}
    }
    assert without_paths(fields, [("f:c", "*", "f:x")]) == {
        "f:c": {'k:{"name":"a"}': {"f:y": {}}, 'k:{"name":"b"}': {}}
    }


def test_without_paths_rejects_a_path_that_is_not_there() -> None:
    with pytest.raises(KeyError):
        without_paths({"f:spec": {}}, [("f:spec", "f:volumeMode")])
