from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller_runtime.client import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    merge_from,
    merge_patch,
)
from controller_runtime.client.errors import error_from_status, error_from_text
from controller_runtime.client.restmapper import ResourceInfo, split_api_version


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 apply, as the server does it."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=12,
)
# Merge patches cannot express null values inside objects; documents without them round-trip.
docs = st.dictionaries(
    st.text(max_size=2), json_values.filter(lambda v: v is not None), max_size=4
).filter(lambda d: "null" not in repr(d) and "None" not in repr(d))


@given(docs, docs)
def test_merge_patch_turns_original_into_modified(original: Any, modified: Any) -> None:
    assert apply_merge_patch(original, merge_patch(original, modified)) == modified


def test_merge_from_with_optimistic_lock_carries_the_resource_version() -> None:
    original = {"metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "1"}}
    modified = {"metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "2"}}
    assert merge_from(original, modified) == {"data": {"k": "2"}}
    assert merge_from(original, modified, optimistic_lock=True) == {
        "data": {"k": "2"},
        "metadata": {"resourceVersion": "7"},
    }


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (404, "NotFound", NotFoundError),
        (409, "AlreadyExists", AlreadyExistsError),
        (409, "Conflict", ConflictError),
        (410, "Expired", GoneError),
        (410, "Gone", GoneError),
        (422, "Invalid", InvalidError),
    ],
)
def test_errors_are_typed_by_reason(status: int, reason: str, cls: type) -> None:
    body = {"kind": "Status", "code": status, "reason": reason, "message": "m"}
    assert type(error_from_status(status, body)) is cls


def test_invalid_error_exposes_causes_and_plain_text_bodies_survive() -> None:
    body = (
        '{"kind":"Status","code":422,"reason":"Invalid","message":"bad",'
        '"details":{"causes":[{"reason":"FieldValueInvalid","message":"no","field":"spec.x"}]}}'
    )
    err = error_from_text(422, body)
    assert isinstance(err, InvalidError)
    assert [(c.field, c.message) for c in err.causes] == [("spec.x", "no")]
    plain = error_from_text(404, "404 page not found")
    assert isinstance(plain, NotFoundError)
    assert plain.message == "404 page not found"


def test_resource_paths() -> None:
    assert split_api_version("apps/v1") == ("apps", "v1")
    assert split_api_version("v1") == ("", "v1")
    sts = ResourceInfo("apps", "v1", "StatefulSet", "statefulsets", True)
    assert sts.path("ns", "web", "status") == "/apis/apps/v1/namespaces/ns/statefulsets/web/status"
    assert sts.path() == "/apis/apps/v1/statefulsets"
    node = ResourceInfo("", "v1", "Node", "nodes", False)
    assert node.path("ignored", "n") == "/api/v1/nodes/n"


async def test_no_configuration_anywhere_is_a_clear_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller_runtime.client import ConfigError, load_config

    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="no Kubernetes configuration"):
        await load_config(environ={})
