"""Rollouts that do not go straight (issue 11 acceptance): a second bump supersedes a running
rollout; a node whose new pod never becomes ready stalls the rollout (D1) until a fixed image
supersedes it."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory
from .test_group_inplace import (
    _bump,
    _condition,
    _create_ready_group,
    _group,
    _pods,
    _ready_group,
    _reason,
    _status,
)

SECOND_IMAGE = "ghcr.io/sei-protocol/sei:v6.5.0"
# envtest's kwok never makes a pod with this in an image Ready (see hack/build-control-plane.sh).
BROKEN_IMAGE = "ghcr.io/sei-protocol/sei:v6.4.0-never-ready"


def _seid_image(pod: dict[str, Any]) -> str:
    return str(next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "seid"))


async def test_second_bump_supersedes_the_running_rollout(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        await _create_ready_group(op, kube, "sup")
        await _bump(kube, "sup", namespace, BROKEN_IMAGE)
        await eventually(
            lambda: _group(kube, "sup", namespace),
            lambda g: (_status(g).get("rollout") or {}).get("nodes") is not None,
            timeout=120,
        )
        await _bump(kube, "sup", namespace, SECOND_IMAGE)
        done = await eventually(
            lambda: _group(kube, "sup", namespace),
            lambda g: _status(g).get("observedGeneration") == 3 and _ready_group(3)(g),
            timeout=300,
        )
        assert _reason(done, "RolloutInProgress") == "RolloutComplete"
        reasons = [e["reason"] for e in await op.events("sup")]
        assert "RolloutSuperseded" in reasons
        pods = await eventually(
            lambda: _pods(kube, namespace, "sup"),
            lambda ps: len(ps) == 3 and all(_seid_image(p) == SECOND_IMAGE for p in ps.values()),
            timeout=120,
        )
        assert op.fleet is not None
        for i in range(3):
            sidecar = op.fleet.sidecar(namespace, f"sup-{i}")
            assert sidecar is not None
            assert sidecar.pod_uid == pods[f"sup-{i}-0"]["metadata"]["uid"]
            # Every new pod's sidecar was released by the superseding plan.
            assert await op.sidecar_get(f"sup-{i}", "status") == (200, {"status": "Ready"})


async def test_a_node_that_never_becomes_ready_stalls_the_rollout_once(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl", stall_threshold=5.0) as op:
        await _create_ready_group(op, kube, "stall")
        await _bump(kube, "stall", namespace, BROKEN_IMAGE)
        stalled = await eventually(
            lambda: _group(kube, "stall", namespace),
            lambda g: (_condition(g, "RolloutInProgress") or {}).get("reason") == "Stalled",
            timeout=180,
        )
        cond = _condition(stalled, "RolloutInProgress")
        assert cond is not None
        assert cond["status"] == "True"
        assert cond["message"] == "rollout stalled: not all nodes ready after 5s"
        progress = stalled["status"]["rollout"]["nodes"]
        assert [n["name"] for n in progress] == ["stall-0", "stall-1", "stall-2"]
        assert not any(n["ready"] for n in progress)

        # One Warning for the stalled rollout. Counted before it is superseded: the fixing
        # rollout may itself pass the 5 s threshold on a loaded machine and warn once more.
        async def stall_warnings() -> list[dict[str, Any]]:
            return [e for e in await op.events("stall") if e["reason"] == "RolloutStalled"]

        warnings = await eventually(stall_warnings, bool, timeout=30)
        assert len(warnings) == 1
        assert warnings[0]["type"] == "Warning"
        assert warnings[0].get("count", 1) == 1
        # Fixing the image supersedes the stalled rollout, which then completes.
        await _bump(kube, "stall", namespace, SECOND_IMAGE)
        done = await eventually(
            lambda: _group(kube, "stall", namespace),
            lambda g: _status(g).get("observedGeneration") == 3 and _ready_group(3)(g),
            timeout=300,
        )
        assert _reason(done, "RolloutInProgress") == "RolloutComplete"
