"""Generated SeiNode and SeiNodeDeployment manifests sent through the real API server.

Properties:
- every manifest the spec calls valid is accepted, stored as sent (plus CRD defaults), and
  parses into the pydantic model the reconcilers use;
- every manifest with one violation is rejected with HTTP 422 whose causes and message name
  the offending field, and the pydantic model rejects it too (the CRD and the models cannot
  drift apart).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes_asyncio.client.exceptions import ApiException
from pydantic import ValidationError

from api.v1alpha1 import SeiNode, SeiNodeDeployment
from tests.integration.api.sei_api_helpers import SeiObjects, error_fields, error_message

from .manifests import group_spec, manifest, node_spec
from .mutations import Violation, group_violation, node_violation
from .profile import BADINPUT

pytestmark = pytest.mark.integration

_names = itertools.count()
MODELS: dict[str, type[SeiNode] | type[SeiNodeDeployment]] = {
    "SeiNode": SeiNode,
    "SeiNodeDeployment": SeiNodeDeployment,
}
# Violations the model reads on purpose: stored objects may lack updateStrategy (written before
# it was required, spec 4.1); and pydantic's lax mode reads the numeric string "7777" as a
# port, a value the API server can never store for an integer field.
MODEL_ACCEPTS = {"no-updateStrategy", "wrong-type-sidecar"}


def _fresh(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return manifest(kind, f"gen-{next(_names)}", spec)


def _contains(stored: Any, sent: Any) -> bool:
    """``sent`` is in ``stored``: equal, except that objects may have gained defaulted keys."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            k in stored and _contains(stored[k], v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(_contains(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return bool(stored == sent and type(stored) is type(sent))


async def _accepted(sei: SeiObjects, obj: dict[str, Any]) -> None:
    try:
        stored = await sei.create(obj)
    except ApiException as exc:
        raise AssertionError(f"valid {obj['kind']} rejected: {error_message(exc)}\n{obj}") from exc
    assert _contains(stored["spec"], obj["spec"]), (stored["spec"], obj["spec"])
    MODELS[obj["kind"]].from_dict(stored)


async def _rejected(sei: SeiObjects, kind: str, violation: Violation) -> None:
    obj = _fresh(kind, violation.spec)
    with pytest.raises(ApiException) as caught:
        await sei.create(obj)
    exc = caught.value
    assert exc.status == 422, exc.body
    message, fields = error_message(exc), error_fields(exc)
    assert violation.field in fields, (violation, fields, message)
    assert f"{violation.field}: " in message, (violation, message)
    assert violation.message in message, (violation, message)
    if violation.name in MODEL_ACCEPTS:
        MODELS[kind].from_dict(obj)
    else:
        with pytest.raises(ValidationError):
            MODELS[kind].from_dict(obj)


@BADINPUT
@given(spec=node_spec())
async def test_valid_seinode_is_accepted_as_sent(sei: SeiObjects, spec: dict[str, Any]) -> None:
    await _accepted(sei, _fresh("SeiNode", spec))


@BADINPUT
@given(spec=group_spec())
async def test_valid_seinodedeployment_is_accepted_as_sent(
    sei: SeiObjects, spec: dict[str, Any]
) -> None:
    await _accepted(sei, _fresh("SeiNodeDeployment", spec))


@BADINPUT
@given(violation=node_violation(node_spec()))
async def test_invalid_seinode_is_rejected_naming_the_field(
    sei: SeiObjects, violation: Violation
) -> None:
    await _rejected(sei, "SeiNode", violation)


@BADINPUT
@given(violation=group_violation(group_spec()))
async def test_invalid_seinodedeployment_is_rejected_naming_the_field(
    sei: SeiObjects, violation: Violation
) -> None:
    await _rejected(sei, "SeiNodeDeployment", violation)


@BADINPUT
@given(spec=node_spec(), port=st.sampled_from([0, 1, 7777, 65535]))
async def test_every_usable_sidecar_port_is_accepted(
    sei: SeiObjects, spec: dict[str, Any], port: int
) -> None:
    # Port 0 means 7777 (spec 3.1): it must stay valid whatever bound is added.
    await _accepted(sei, _fresh("SeiNode", {**spec, "sidecar": {"port": port}}))


@pytest.mark.parametrize("port", [-1, 65536, 2**31 - 1])
async def test_sidecar_port_no_container_can_use_is_rejected(sei: SeiObjects, port: int) -> None:
    """Regression: the reference CRD took any int32, and such a node's StatefulSet apply then
    failed on every reconcile; the port is now bounded to what a containerPort can be."""
    spec = {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}, "sidecar": {"port": port}}
    with pytest.raises(ApiException) as caught:
        await sei.create(_fresh("SeiNode", spec))
    assert caught.value.status == 422
    assert "spec.sidecar.port" in error_fields(caught.value)


@pytest.mark.parametrize("image", [" seid:v1", "seid:v1\n", "\u3000seid:v1", "seid:v1\x85"])
async def test_image_no_pod_can_use_is_rejected_naming_it(sei: SeiObjects, image: str) -> None:
    """Regression: the StatefulSet takes such an image but no pod of it can be created, so the
    node waited in Initializing forever with nothing saying why."""
    spec = {"chainId": "pacific-1", "image": image, "fullNode": {}}
    with pytest.raises(ApiException) as caught:
        await sei.create(_fresh("SeiNode", spec))
    assert caught.value.status == 422
    assert "spec.image" in error_fields(caught.value)
    assert "image must not have leading or trailing whitespace" in error_message(caught.value)
