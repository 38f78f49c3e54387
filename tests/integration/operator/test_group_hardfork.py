"""HardFork end to end (issue 13 acceptance): the incumbents are told to stop at the halt
height, the entrants are awaited at that height, and only then does traffic switch and the
incumbents go. The simulated chains are driven by hand so every step is observed in order."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from controllers.plan.ids import deployment_subtask_id

from .conftest import OperatorFactory, holds_for
from .swap_helpers import Timeline, swap_group
from .test_group_inplace import NEW_IMAGE, _bump, _group, _ready_group, _reason, _status

HALT = 500
INCUMBENTS = [f"hf-{i}" for i in range(3)]
ENTRANTS = [f"hf-g2-{i}" for i in range(3)]


async def _service(kube: Client, namespace: str) -> dict[str, Any]:
    return await kube.get("v1", "Service", "hf-external", namespace)


async def test_hard_fork_halts_incumbents_awaits_entrants_at_height_then_switches(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="simulator") as op:
        await kube.create(swap_group("hf", namespace, "HardFork", halt_height=HALT))
        await eventually(lambda: _group(kube, "hf", namespace), _ready_group(3), timeout=180)
        for name in INCUMBENTS:
            op.sidecar(name).set_height(HALT - 10)
        for name in ENTRANTS:
            op.sidecar(name).set_height(1)
        async with Timeline(kube, namespace, "hf") as timeline:
            await _bump(kube, "hf", namespace, NEW_IMAGE)
            await eventually(
                lambda: [op.sidecar(n).posts_of("await-condition") for n in ENTRANTS],
                lambda posts: all(posts),
                timeout=180,
                message="every entrant asked to report the halt height",
            )
            plan = _status(await _group(kube, "hf", namespace))["plan"]["tasks"]
            # Entrants below the height: traffic stays on the incumbents.
            await holds_for(
                lambda: _service(kube, namespace),
                lambda svc: svc["spec"]["selector"].get("sei.io/revision") == "1",
            )
            for name in INCUMBENTS:
                op.sidecar(name).set_height(HALT)
            for name in ENTRANTS:
                op.sidecar(name).set_height(HALT)
            done = await eventually(
                lambda: _group(kube, "hf", namespace),
                lambda g: _status(g).get("observedGeneration") == 2 and _ready_group(3)(g),
                timeout=120,
            )
            await eventually(
                lambda: [s for s in timeline.seen if s.kind == "SeiNode" and s.type == "DELETED"],
                lambda deleted: len(deleted) == 3,
                timeout=60,
            )

        halt_task, height_task = (
            next(t["id"] for t in plan if t["type"] == kind)
            for kind in ("submit-halt-signal", "await-nodes-at-height")
        )
        # Every incumbent was told, once, to stop seid at the halt height, and stopped there.
        halts = {n: op.sidecar(n).posts_of("await-condition") for n in INCUMBENTS}
        for name, posts in halts.items():
            assert [(p.id, p.params) for p in posts] == [
                (
                    deployment_subtask_id(name, "halt-signal", halt_task),
                    {"condition": "height", "targetHeight": HALT, "action": "SIGTERM_SEID"},
                )
            ]
            assert op.sidecar(name).halted_at == HALT
        # Then every entrant was asked for the height, without stopping anything.
        awaits = {n: op.sidecar(n).posts_of("await-condition") for n in ENTRANTS}
        for name, posts in awaits.items():
            assert [(p.id, p.params) for p in posts] == [
                (
                    deployment_subtask_id(name, "await-height", height_task),
                    {"condition": "height", "targetHeight": HALT},
                )
            ]
            assert op.sidecar(name).halted_at is None
        last_halt = max(p.seq for posts in halts.values() for p in posts)
        assert last_halt < min(p.seq for posts in awaits.values() for p in posts)
        # Traffic switched after the entrants reached the height, teardown after the switch.
        completions = [
            op.sidecar(n).tasks[p[0].answered_id or ""].completed_at for n, p in awaits.items()
        ]
        reached = max(c for c in completions if c is not None)
        assert None not in completions
        switched = timeline.service_switched("2")
        assert timeline.seen[switched].at > reached
        assert switched < timeline.node_deleted(INCUMBENTS)
        assert _reason(done, "RolloutInProgress") == "RolloutComplete"
        assert [n["name"] for n in done["status"]["nodes"]] == ENTRANTS
