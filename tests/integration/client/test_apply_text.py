"""Server-side apply carries any text the API server stores (regression, issue 15).

Apply bodies are YAML to the API server. JSON escapes a character beyond U+FFFF as a surrogate
pair, which YAML cannot read, so an applied object holding one (a Unicode chain ID in a
StatefulSet's env) was answered 400 on every reconcile."""

from __future__ import annotations

import pytest

from controller_runtime.client import Client

pytestmark = pytest.mark.integration

TEXTS = {
    "astral": "chain-\U0001f600-\U0010fffd",
    "escaped-pair": "\\ud83d\\ude00",  # the six-character text, not the character
    "controls": "a\x00b\x1fc\x7fd\x85e\x9f",
    "line-separators": "a\u2028b\u2029c",
    "bmp-edges": "\ufeff\ufffd\uffff",
    "quotes": "\"'\\: {[#&*!|>%@`",
}


@pytest.mark.parametrize("key", sorted(TEXTS))
async def test_applied_text_round_trips(kube: Client, namespace: str, key: str) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"text-{key}", "namespace": namespace},
        "data": {"value": TEXTS[key]},
    }
    applied = await kube.apply(configmap, field_manager="text-test", force=True)
    assert applied["data"]["value"] == TEXTS[key]
    read = await kube.get("v1", "ConfigMap", f"text-{key}", namespace)
    assert read["data"]["value"] == TEXTS[key]
