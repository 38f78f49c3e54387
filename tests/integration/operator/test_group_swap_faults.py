"""BlueGreen rollouts that do not go straight (issue 13 acceptance): an entrant that fails,
entrants that never become ready (stall escalation, D1/D2), and the group deleted mid-rollout
under either deletion policy."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory, holds_for
from .swap_helpers import ready_endpoints, swap_group
from .test_group_inplace import (
    NEW_IMAGE,
    OLD_IMAGE,
    _bump,
    _condition,
    _group,
    _pods,
    _ready_group,
    _reason,
    _status,
)
from .test_group_rollout_recovery import BROKEN_IMAGE


async def _nodes(kube: Client, namespace: str, group: str) -> dict[str, dict[str, Any]]:
    listed = await kube.list(
        "sei.io/v1alpha1", "SeiNode", namespace, label_selector=f"sei.io/nodedeployment={group}"
    )
    return {n["metadata"]["name"]: n for n in listed.get("items") or []}


async def _published(kube: Client, namespace: str, group: str) -> frozenset[str]:
    listed = await kube.list(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        namespace,
        label_selector=f"kubernetes.io/service-name={group}-external",
    )
    return frozenset().union(*(ready_endpoints(s) for s in listed.get("items") or []))


async def test_a_failed_entrant_fails_the_plan_and_the_incumbents_keep_serving(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    incumbents = [f"bgf-{i}" for i in range(3)]
    entrants = [f"bgf-g2-{i}" for i in range(3)]
    async with run_operator(sidecars="simulator") as op:
        await kube.create(swap_group("bgf", namespace))
        await eventually(lambda: _group(kube, "bgf", namespace), _ready_group(3), timeout=180)
        old_pods = await _pods(kube, namespace, "bgf")
        op.sidecar("bgf-g2-1").fail("config-apply", "disk full", times=None)
        await _bump(kube, "bgf", namespace, NEW_IMAGE)
        failed = await eventually(
            lambda: _group(kube, "bgf", namespace),
            lambda g: _reason(g, "RolloutInProgress") == "RolloutFailed",
            timeout=180,
        )
        assert _reason(failed, "PlanInProgress") == "PlanFailed"
        assert _status(failed).get("rollout") is None
        warnings = [(e["type"], e["reason"]) for e in await op.events("bgf")]
        assert ("Warning", "PlanFailed") in warnings

        # Nothing was deleted: the incumbents, and the entrants kept for inspection.
        nodes = await _nodes(kube, namespace, "bgf")
        assert sorted(nodes) == sorted(incumbents + entrants)
        assert nodes["bgf-g2-1"]["status"]["phase"] == "Failed"
        # The incumbents still are the group, untouched, and the only pods with traffic.
        for name in incumbents:
            assert nodes[name]["metadata"]["generation"] == 1
        settled = await eventually(
            lambda: _group(kube, "bgf", namespace), _ready_group(3), timeout=60
        )
        assert [n["name"] for n in settled["status"]["nodes"]] == incumbents
        await holds_for(
            lambda: _published(kube, namespace, "bgf"), lambda pods: pods == frozenset(old_pods)
        )
        # The failed template is not pushed to the incumbents behind the operator's back.
        await holds_for(
            lambda: _nodes(kube, namespace, "bgf"),
            lambda now: all(now[n]["spec"]["image"] == OLD_IMAGE for n in incumbents),
        )
        pods = await _pods(kube, namespace, "bgf")
        for name, pod in old_pods.items():
            assert pods[name]["metadata"]["uid"] == pod["metadata"]["uid"]


async def _stuck_rollout(op: Any, kube: Client, namespace: str, name: str, policy: str) -> None:
    """A BlueGreen rollout whose entrants run but never get a Ready pod."""
    await kube.create(swap_group(name, namespace, deletion_policy=policy))
    await eventually(lambda: _group(kube, name, namespace), _ready_group(3), timeout=180)
    await _bump(kube, name, namespace, BROKEN_IMAGE)
    await eventually(
        lambda: _nodes(kube, namespace, name),
        lambda nodes: len(nodes) == 6,
        timeout=180,
        message="the entrants exist",
    )


async def _delete_group(kube: Client, namespace: str, name: str) -> None:
    group = {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
    }
    await kube.delete(group)
    await eventually(
        lambda: kube.list("sei.io/v1alpha1", "SeiNodeDeployment", namespace),
        lambda listed: name not in {g["metadata"]["name"] for g in listed.get("items") or []},
        timeout=120,
    )


async def test_entrants_that_never_get_ready_stall_the_rollout_then_deletion_leaves_no_orphans(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    entrants = [f"bgs-g2-{i}" for i in range(3)]
    async with run_operator(sidecars="simulator", stall_threshold=5.0) as op:
        await _stuck_rollout(op, kube, namespace, "bgs", "Delete")
        stalled = await eventually(
            lambda: _group(kube, "bgs", namespace),
            lambda g: (_condition(g, "RolloutInProgress") or {}).get("reason") == "Stalled",
            timeout=120,
        )
        progress = _status(stalled)["rollout"]["nodes"]
        assert [(n["name"], n["ready"]) for n in progress] == [(n, False) for n in entrants]
        assert [e["reason"] for e in await op.events("bgs")].count("RolloutStalled") == 1
        await _delete_group(kube, namespace, "bgs")
        await eventually(
            lambda: _nodes(kube, namespace, "bgs"), lambda nodes: not nodes, timeout=120
        )
        services = await kube.list("v1", "Service", namespace)
        assert "bgs-external" not in {s["metadata"]["name"] for s in services["items"]}


async def test_deleting_the_group_mid_rollout_with_retain_leaves_everything_unowned(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await _stuck_rollout(op, kube, namespace, "bgr", "Retain")
        uid = (await _group(kube, "bgr", namespace))["metadata"]["uid"]
        await _delete_group(kube, namespace, "bgr")
        nodes = await holds_for(
            lambda: _nodes(kube, namespace, "bgr"), lambda nodes: len(nodes) == 6
        )
        for node in nodes.values():
            owners = node["metadata"].get("ownerReferences") or []
            assert all(ref["uid"] != uid for ref in owners), node["metadata"]["name"]
        service = await kube.get("v1", "Service", "bgr-external", namespace)
        assert all(r["uid"] != uid for r in service["metadata"].get("ownerReferences") or [])
