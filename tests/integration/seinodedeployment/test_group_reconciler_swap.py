"""A BlueGreen rollout, pass by pass on the real API server (spec 6.6, 8.7; decisions F12):
the plan and its entrants are recorded, the entrants created, and the incumbents, status and
traffic left as they were. (The switch-over and teardown need Ready entrant pods: they are
covered end to end in tests/integration/operator/test_group_bluegreen.py.)"""

from __future__ import annotations

from typing import Any

from .conftest import GROUP, IMAGE_V2, GroupHarness, images

INCUMBENTS = [f"{GROUP}-{i}" for i in range(3)]
ENTRANTS = [f"{GROUP}-g2-{i}" for i in range(3)]
SWAP: dict[str, Any] = {"updateStrategy": {"type": "BlueGreen"}, "networking": {}}


async def _bumped(harness: GroupHarness) -> list[dict[str, Any]]:
    """A steady BlueGreen group on v1 whose template now says v2; returns the incumbents."""
    await harness.steady_group(**SWAP)
    incumbents = await harness.children()
    await harness.set_image(IMAGE_V2)
    return incumbents


async def _selector(harness: GroupHarness) -> dict[str, str]:
    service = await harness.kube.get("v1", "Service", f"{GROUP}-external", harness.namespace)
    return dict(service["spec"]["selector"])


async def test_detection_persists_the_blue_green_plan_and_names_the_entrants(
    harness: GroupHarness,
) -> None:
    await _bumped(harness)
    await harness.reconcile()
    status = (await harness.group()).status
    assert status.plan is not None
    assert [t.type for t in status.plan.tasks] == [
        "create-entrant-nodes",
        "await-nodes-running",
        "await-nodes-caught-up",
        "switch-traffic",
        "teardown-nodes",
    ]
    assert status.rollout is not None
    assert status.rollout.entrant_nodes == ENTRANTS
    assert status.rollout.incumbent_nodes == INCUMBENTS


async def test_entrants_are_created_and_the_incumbents_left_untouched(
    harness: GroupHarness,
) -> None:
    incumbents = await _bumped(harness)
    for _ in range(3):
        await harness.reconcile()
    children = {c["metadata"]["name"]: c for c in await harness.children()}
    assert sorted(children) == sorted(INCUMBENTS + ENTRANTS)
    for before in incumbents:
        now = children[before["metadata"]["name"]]
        assert now["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert images([children[n] for n in ENTRANTS]) == [IMAGE_V2] * 3
    # Status and traffic stay on the incumbents.
    status = (await harness.group()).status
    assert [n.name for n in status.nodes or []] == INCUMBENTS
    assert await _selector(harness) == {"sei.io/nodedeployment": GROUP, "sei.io/revision": "1"}
