"""BlueGreen end to end (issue 13 acceptance; decisions F12): a fresh set of nodes comes up on
the new template, traffic (the external Service's endpoints) moves to it only once it is
caught up, and only then are the old nodes removed; the old ones are never touched before."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory
from .swap_helpers import Seen, Timeline, swap_group
from .test_group_inplace import NEW_IMAGE, _bump, _group, _pods, _ready_group, _reason, _status

INCUMBENTS = [f"bg-{i}" for i in range(3)]
ENTRANTS = [f"bg-g2-{i}" for i in range(3)]


def _seid_image(pod: dict[str, Any]) -> str:
    return str(next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "seid"))


async def test_blue_green_moves_traffic_after_the_entrants_caught_up_then_tears_down(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(swap_group("bg", namespace))
        await eventually(lambda: _group(kube, "bg", namespace), _ready_group(3), timeout=180)
        old_pods = await _pods(kube, namespace, "bg")
        old_names = frozenset(old_pods)
        new_names = frozenset(f"{n}-0" for n in ENTRANTS)

        def entrants_caught_up(_: Seen) -> bool:
            return all(op.sidecar(name).ready for name in ENTRANTS)

        async with Timeline(kube, namespace, "bg", entrants_caught_up) as timeline:
            await eventually(
                timeline.endpoint_sets,
                lambda sets: bool(sets) and sets[-1][1] == old_names,
                timeout=60,
                message="the external Service publishes the old pods",
            )
            await _bump(kube, "bg", namespace, NEW_IMAGE)
            done = await eventually(
                lambda: _group(kube, "bg", namespace),
                lambda g: _status(g).get("observedGeneration") == 2 and _ready_group(3)(g),
                timeout=300,
            )
            await eventually(
                timeline.endpoint_sets,
                lambda sets: sets[-1][1] == new_names,
                timeout=60,
                message="the external Service publishes the new pods",
            )

        # Traffic moved once, from all old to all new pods, never a mix of both.
        moves = [s for _, s in timeline.endpoint_sets()]
        distinct = [s for i, s in enumerate(moves) if i == 0 or s != moves[i - 1]]
        assert distinct == [old_names, new_names]
        # ... and only when every entrant's sidecar reported Ready.
        first_new = next(i for i, s in timeline.endpoint_sets() if s == new_names)
        assert timeline.seen[first_new].note is True
        # The Service switched before any incumbent was deleted; until then no incumbent was
        # modified and no old pod was replaced.
        switched = timeline.service_switched("2")
        deleted = timeline.node_deleted(INCUMBENTS)
        assert switched < deleted
        before = timeline.seen[:deleted]
        assert all(
            s.obj["metadata"]["generation"] == 1
            for s in before
            if s.kind == "SeiNode" and s.obj["metadata"]["name"] in INCUMBENTS
        )
        assert all(
            s.type != "DELETED" and s.obj["metadata"]["uid"] == old_pods[name]["metadata"]["uid"]
            for s in before
            if s.kind == "Pod" and (name := s.obj["metadata"]["name"]) in old_pods
        )

        # The entrants are the group: 3 children, ordinals kept, on the new image.
        assert _reason(done, "RolloutInProgress") == "RolloutComplete"
        assert [n["name"] for n in done["status"]["nodes"]] == ENTRANTS
        assert done["status"]["incumbentNodes"] == ENTRANTS
        children = await kube.list(
            "sei.io/v1alpha1", "SeiNode", namespace, label_selector="sei.io/nodedeployment=bg"
        )
        by_name = {c["metadata"]["name"]: c for c in children["items"]}
        assert sorted(by_name) == ENTRANTS
        assert [
            by_name[n]["metadata"]["labels"]["sei.io/nodedeployment-ordinal"] for n in ENTRANTS
        ] == [
            "0",
            "1",
            "2",
        ]
        pods = await _pods(kube, namespace, "bg")
        assert set(pods) == new_names
        assert {_seid_image(p) for p in pods.values()} == {NEW_IMAGE}
        reasons = [e["reason"] for e in await op.events("bg")]
        for reason in ("RolloutStarted", "PlanStarted", "RolloutComplete", "PlanComplete"):
            assert reason in reasons
        assert op.metric_sum("rest_client_requests_total", code="409") == 0
