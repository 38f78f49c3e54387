"""templateHash (spec 4.3): the spec's test vectors and what is (not) part of the hash."""

from __future__ import annotations

from typing import Any

import pytest

from api.v1alpha1 import TEMPLATE_HASH_LENGTH, SeiNodeSpec, template_hash


def spec(**fields: Any) -> SeiNodeSpec:
    return SeiNodeSpec.from_dict({"chainId": "pacific-1", "fullNode": {}, **fields})


V1 = {"image": "ghcr.io/sei-protocol/seid:v1.0.0"}


@pytest.mark.parametrize("sidecar", [None, {}, {"image": ""}, {"port": 9999}])
def test_vector_without_entrypoint_and_sidecar_image(sidecar: dict[str, Any] | None) -> None:
    fields = dict(V1) if sidecar is None else {**V1, "sidecar": sidecar}
    assert template_hash(spec(**fields)) == "9c13d843e3cbbdb0"


def test_vector_with_entrypoint_and_sidecar_image() -> None:
    full = spec(
        image="ghcr.io/sei-protocol/sei:v6.3.0",
        entrypoint={"command": ["seid"], "args": ["start", "--home", "/sei"]},
        sidecar={"image": "ghcr.io/sei-protocol/seictl:v1"},
    )
    assert template_hash(full) == "347bc046dd25de17"


def test_hash_is_16_lowercase_hex_chars() -> None:
    value = template_hash(spec(**V1))
    assert len(value) == TEMPLATE_HASH_LENGTH == 16
    assert value == value.lower()
    int(value, 16)


def test_concatenation_without_separators_is_reproduced() -> None:
    # Ambiguous by design of the reference: these two collide, and must.
    joined = spec(image="i", entrypoint={"command": ["ab"]})
    split = spec(image="i", entrypoint={"command": ["a", "b"]})
    assert template_hash(joined) == template_hash(split)
    assert template_hash(spec(image="i", entrypoint={"command": ["a"], "args": ["b"]})) == (
        template_hash(joined)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"peers": [{"static": {"addresses": ["n@h:1"]}}]},
        {"overrides": {"a": "b"}},
        {"podLabels": {"a": "b"}},
        {"sidecar": {"port": 1, "resources": {"limits": {"cpu": "1"}}}},
        {"fullNode": None, "archive": {}},
        {"fullNode": {"snapshot": {"stateSync": {}}}},
    ],
)
def test_fields_outside_the_hash_do_not_change_it(change: dict[str, Any]) -> None:
    assert template_hash(spec(**V1, **change)) == "9c13d843e3cbbdb0"


@pytest.mark.parametrize(
    "change",
    [
        {"chainId": "atlantic-2"},
        {"image": "ghcr.io/sei-protocol/seid:v1.0.1"},
        {"entrypoint": {"command": ["seid"]}},
        {"sidecar": {"image": "seictl:v2"}},
    ],
)
def test_fields_in_the_hash_change_it(change: dict[str, Any]) -> None:
    assert template_hash(spec(**{**V1, **change})) != "9c13d843e3cbbdb0"
