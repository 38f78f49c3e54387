"""Request bodies: JSON as JSON; apply (YAML) bodies as JSON text YAML reads alike."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from controller_runtime.client.rest import encode_body

APPLY = "application/apply-patch+yaml"
JSON_BODY = "application/json"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_json_bodies_are_plain_json() -> None:
    assert encode_body({"a": "\U0001f600"}, JSON_BODY) == '{"a": "\\ud83d\\ude00"}'


def test_apply_bodies_carry_astral_characters_raw() -> None:
    assert encode_body({"a": "\U0001f600"}, APPLY) == '{"a": "\U0001f600"}'.encode()


def test_apply_bodies_escape_del() -> None:
    assert encode_body({"a": "\x7f"}, APPLY) == b'{"a": "\\u007f"}'


def test_an_escaped_backslash_before_u_is_not_a_pair() -> None:
    body = {"a": "\\ud83d\\ude00"}
    assert json.loads(encode_body(body, APPLY)) == body


def test_bytes_pass_through() -> None:
    assert encode_body(b"raw", APPLY) == b"raw"


@given(json_values)
def test_apply_bodies_decode_to_the_object(value: Any) -> None:
    encoded = encode_body(value, APPLY)
    assert isinstance(encoded, bytes)
    assert json.loads(encoded) == value
    # Nothing YAML cannot take raw: ASCII except DEL, or a character beyond U+FFFF.
    text = encoded.decode("utf-8")
    assert all((" " <= c < "\x7f") or ord(c) > 0xFFFF for c in text)
