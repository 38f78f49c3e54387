"""Regressions found by the generated batches (test_generated_reconcile): SeiNode specs the
schema accepts that used to crash or silently retry every reconcile. Each is now either
handled, or reported once in the SpecValid condition and an InvalidSpec Warning event and not
retried until the spec changes."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from ..integration.operator.conftest import (
    OperatorFactory,
    OperatorHarness,
    condition,
    phase_is,
    seinode,
)

pytestmark = pytest.mark.integration

PANICS = "controller_runtime_reconcile_panics_total"
TERMINAL = "controller_runtime_terminal_reconcile_errors_total"


def _peer_of(name: str, namespace: str) -> str:
    return f"{name}-0.{name}.{namespace}.svc.cluster.local"


def _labelled(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    obj = seinode(name, namespace)
    obj["metadata"]["labels"] = labels
    return obj


def _label_source(selector: dict[str, str], namespace: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"selector": selector}
    if namespace is not None:
        source["namespace"] = namespace
    return {"label": source}


def _spec_invalid(obj: dict[str, Any]) -> bool:
    found = condition(obj, "SpecValid")
    return found is not None and found.get("status") == "False"


async def _rejected(op: OperatorHarness, name: str) -> dict[str, Any]:
    """The node's SpecValid=False condition, once it and its Warning event are there and the
    error was counted as terminal (not retried)."""
    node = await op.wait_node(name, _spec_invalid, timeout=60)
    found = condition(node, "SpecValid")
    assert found is not None
    assert found["reason"] == "InvalidSpec"
    assert found["observedGeneration"] == node["metadata"]["generation"]
    await eventually(
        lambda: op.events(name),
        lambda evs: any(e["type"] == "Warning" and e["reason"] == "InvalidSpec" for e in evs),
        timeout=30,
        message=f"InvalidSpec Warning event on {name}",
    )
    await eventually(
        lambda: op.metric(TERMINAL, controller="seinode"),
        lambda errors: errors >= 1,
        timeout=30,
        message="terminal reconcile error counted",
    )
    assert op.metric(PANICS, controller="seinode") == 0
    return found


async def test_label_peer_selecting_an_empty_value_resolves_its_peers(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    # Was: the selector text "role=" failed to parse, a panic on every pass.
    async with run_operator(sidecars="simulator") as op:
        await kube.create(_labelled("peer", namespace, {"role": ""}))
        await kube.create(seinode("seeker", namespace, peers=[_label_source({"role": ""})]))
        node = await op.wait_node(
            "seeker", lambda o: bool((o.get("status") or {}).get("resolvedPeers")), timeout=60
        )
        assert node["status"]["resolvedPeers"] == [_peer_of("peer", namespace)]
        assert op.metric(PANICS, controller="seinode") == 0


async def test_label_peer_value_is_matched_exactly_not_parsed(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    # Was: the value "a,b" was pasted into selector text, "role=a,b" = role=a AND b exists.
    async with run_operator(sidecars="simulator") as op:
        await kube.create(_labelled("lookalike", namespace, {"role": "a", "b": "x"}))
        await kube.create(_labelled("exact", namespace, {"role": "a"}))
        await kube.create(seinode("seeker", namespace, peers=[_label_source({"role": "a,b"})]))
        node = await op.wait_node("seeker", phase_is("Running"), timeout=120)
        assert not node["status"].get("resolvedPeers")
        assert op.metric(PANICS, controller="seinode") == 0


async def test_label_peer_namespace_the_operator_cannot_see_is_reported(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    # Was: the namespaced cache raised ResourceNotCachedError, a panic on every pass.
    async with run_operator(sidecars="simulator") as op:
        peers = [_label_source({"role": "x"}, namespace="elsewhere")]
        await kube.create(seinode("far", namespace, peers=peers))
        found = await _rejected(op, "far")
        assert "'elsewhere' is outside the namespaces this operator watches" in found["message"]


@pytest.mark.parametrize(
    ("spec", "blamed"),
    [
        (
            {"sidecar": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}},
            "must be less than or equal to cpu limit",
        ),
        ({"podLabels": {"not a label key": "x"}}, "not a label key"),
        ({"podLabels": {"app": "a value that is far too long" * 3}}, "63"),
    ],
    ids=["requests-above-limits", "pod-label-key", "pod-label-value"],
)
async def test_child_the_api_server_refuses_is_reported_not_retried(
    run_operator: OperatorFactory,
    kube: Client,
    namespace: str,
    spec: dict[str, Any],
    blamed: str,
) -> None:
    # Was: every pass failed applying the PVC or StatefulSet (422) and retried with backoff,
    # with nothing on the node to say why.
    async with run_operator(sidecars="simulator") as op:
        created = await kube.create(seinode("refused", namespace, **spec))
        found = await _rejected(op, "refused")
        assert found["message"].startswith("the API server rejects a child: ")
        assert blamed in found["message"]

        # Fixing the spec lifts the condition and the node starts.
        await kube.patch(created, {"spec": dict.fromkeys(spec)})
        node = await op.wait_node("refused", phase_is("Running"), timeout=120)
        assert condition(node, "SpecValid") is None


async def test_unicode_beyond_the_bmp_reaches_the_workload(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    # Was: every StatefulSet apply answered 400 (the apply body's surrogate-pair escape).
    chain = "sei-\U0001f600-\U00063f16"
    async with run_operator(sidecars="simulator") as op:
        await kube.create(seinode("emoji", namespace, chainId=chain))
        await op.wait_node("emoji", phase_is("Running"), timeout=120)
        statefulset = await op.get("apps/v1", "StatefulSet", "emoji")
        assert statefulset is not None
        env = [
            e
            for c in statefulset["spec"]["template"]["spec"]["initContainers"]
            + statefulset["spec"]["template"]["spec"]["containers"]
            for e in c.get("env") or []
        ]
        assert {"name": "SEI_CHAIN_ID", "value": chain} in env


async def test_group_child_the_api_server_refuses_is_reported(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    # Was: every pass failed creating the child (422) and retried with backoff, no status.
    group = {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": "odd-group", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"not a label key": "x"}},
                "spec": seinode("unused", namespace)["spec"],
            },
            "updateStrategy": {"type": "InPlace"},
        },
    }
    async with run_operator(sidecars="simulator") as op:
        await kube.create(group)
        events = await eventually(
            lambda: op.events("odd-group"),
            lambda evs: any(e["reason"] == "SeiNodeCreateFailed" for e in evs),
            timeout=60,
            message="SeiNodeCreateFailed event",
        )
        failed = next(e for e in events if e["reason"] == "SeiNodeCreateFailed")
        assert failed["type"] == "Warning"
        assert "not a label key" in failed["message"]
        stored = await eventually(
            lambda: kube.get("sei.io/v1alpha1", "SeiNodeDeployment", "odd-group", namespace),
            lambda obj: bool((obj.get("status") or {}).get("phase")),
            timeout=60,
            message="group status written",
        )
        assert stored["status"].get("readyReplicas", 0) == 0
        errors = "controller_runtime_reconcile_errors_total"
        assert op.metric(errors, controller="seinodedeployment") == 0
        assert op.metric(PANICS, controller="seinodedeployment") == 0
