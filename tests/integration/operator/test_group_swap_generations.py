"""After a BlueGreen rollout the entrants ARE the group (decisions F12): scaling and a later
InPlace rollout work on them; a superseded BlueGreen rollout leaves nothing behind."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory
from .swap_helpers import swap_group
from .test_group_inplace import NEW_IMAGE, _bump, _group, _pods, _ready_group, _reason, _status
from .test_group_rollout_recovery import BROKEN_IMAGE, SECOND_IMAGE
from .test_group_swap_faults import _nodes


def _seid_image(pod: dict[str, Any]) -> str:
    return str(next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "seid"))


async def _patch_spec(kube: Client, namespace: str, name: str, spec: dict[str, Any]) -> None:
    obj = {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
    }
    await kube.patch(obj, {"spec": spec})


def _at(generation: int, replicas: int) -> Any:
    return lambda g: (
        _status(g).get("observedGeneration") == generation and _ready_group(replicas)(g)
    )


async def test_scaling_and_a_later_in_place_rollout_work_on_the_entrants(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(swap_group("gen", namespace))
        await eventually(lambda: _group(kube, "gen", namespace), _ready_group(3), timeout=180)
        await _bump(kube, "gen", namespace, NEW_IMAGE)
        await eventually(lambda: _group(kube, "gen", namespace), _at(2, 3), timeout=300)

        await _patch_spec(kube, namespace, "gen", {"replicas": 4})
        await eventually(lambda: _group(kube, "gen", namespace), _at(3, 4), timeout=180)
        nodes = await _nodes(kube, namespace, "gen")
        assert sorted(nodes) == [f"gen-g2-{i}" for i in range(4)]
        assert nodes["gen-g2-3"]["metadata"]["labels"]["sei.io/nodedeployment-ordinal"] == "3"

        await _patch_spec(kube, namespace, "gen", {"replicas": 2})
        await eventually(
            lambda: _nodes(kube, namespace, "gen"),
            lambda now: sorted(now) == ["gen-g2-0", "gen-g2-1"],
            timeout=120,
        )
        await eventually(lambda: _group(kube, "gen", namespace), _at(4, 2), timeout=120)

        await _patch_spec(
            kube,
            namespace,
            "gen",
            {"updateStrategy": {"type": "InPlace"}, "template": {"spec": {"image": SECOND_IMAGE}}},
        )
        done = await eventually(lambda: _group(kube, "gen", namespace), _at(5, 2), timeout=300)
        assert _reason(done, "RolloutInProgress") == "RolloutComplete"
        assert [n["name"] for n in done["status"]["nodes"]] == ["gen-g2-0", "gen-g2-1"]
        pods = await _pods(kube, namespace, "gen")
        assert {name: _seid_image(p) for name, p in pods.items()} == {
            "gen-g2-0-0": SECOND_IMAGE,
            "gen-g2-1-0": SECOND_IMAGE,
        }
        for name in ("gen-g2-0", "gen-g2-1"):
            assert op.sidecar(name).ready


async def test_a_superseded_blue_green_rollout_leaves_no_entrants_behind(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(swap_group("sup", namespace))
        await eventually(lambda: _group(kube, "sup", namespace), _ready_group(3), timeout=180)
        await _bump(kube, "sup", namespace, BROKEN_IMAGE)
        await eventually(
            lambda: _nodes(kube, namespace, "sup"),
            lambda nodes: {f"sup-g2-{i}" for i in range(3)} <= set(nodes),
            timeout=180,
        )
        await _bump(kube, "sup", namespace, SECOND_IMAGE)
        done = await eventually(lambda: _group(kube, "sup", namespace), _at(3, 3), timeout=300)
        assert [n["name"] for n in done["status"]["nodes"]] == [f"sup-g3-{i}" for i in range(3)]
        await eventually(
            lambda: _nodes(kube, namespace, "sup"),
            lambda nodes: sorted(nodes) == [f"sup-g3-{i}" for i in range(3)],
            timeout=120,
        )
        reasons = [e["reason"] for e in await op.events("sup")]
        assert "RolloutSuperseded" in reasons
        pods = await _pods(kube, namespace, "sup")
        assert {_seid_image(p) for p in pods.values()} == {SECOND_IMAGE}
