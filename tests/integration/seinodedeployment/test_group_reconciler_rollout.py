"""An InPlace rollout, pass by pass on the real API server (spec 8.1-8.3; decisions F3, F9,
F13): detection is recorded before any child changes, the plan's first task moves the children,
status stays truthful, a second change supersedes, and a group without children starts none."""

from __future__ import annotations

from api.v1alpha1 import SeiNodeDeployment
from api.v1alpha1.template_hash import template_hash

from .conftest import GROUP, IMAGE_V1, IMAGE_V2, IMAGE_V3, GroupHarness, images, revisions

NAMES = [f"{GROUP}-{i}" for i in range(3)]
TASKS = ["update-node-specs", "await-spec-update", "mark-nodes-ready"]


async def _bumped(harness: GroupHarness, image: str = IMAGE_V2) -> SeiNodeDeployment:
    """A steady group (children Running on v1) whose template now says ``image``; no pass
    has seen the change yet."""
    await harness.steady_group()
    await harness.set_image(image)
    return await harness.group()


async def test_detection_pass_records_the_rollout(harness: GroupHarness) -> None:
    before = await harness.steady_group()
    await harness.set_image(IMAGE_V2)
    await harness.reconcile()
    group = await harness.group()
    rollout = group.status.rollout
    assert rollout is not None
    assert rollout.strategy == "InPlace"
    assert rollout.target_hash == template_hash(group.spec.template.spec)
    assert rollout.incumbent_nodes == NAMES
    assert (rollout.incumbent_revision, rollout.entrant_revision) == ("1", "2")
    # The baseline is kept while the rollout runs: it is how the change is not lost.
    assert group.status.template_hash == before.status.template_hash
    assert group.status.observed_generation == 1


async def test_detection_pass_sets_rollout_and_plan_in_progress(harness: GroupHarness) -> None:
    before = await harness.steady_group()
    await harness.set_image(IMAGE_V2)
    await harness.reconcile()
    group = await harness.group()
    target = template_hash(group.spec.template.spec)
    rollout_cond = group.status.condition("RolloutInProgress")
    assert rollout_cond is not None
    assert (rollout_cond.status, rollout_cond.reason, rollout_cond.message) == (
        "True",
        "TemplateChanged",
        f"templateHash changed from {before.status.template_hash} to {target}",
    )
    plan_cond = group.status.condition("PlanInProgress")
    assert plan_cond is not None
    assert (plan_cond.status, plan_cond.reason) == ("True", "PlanStarted")
    assert group.status.phase == "Upgrading"


async def test_detection_pass_persists_the_inplace_plan(harness: GroupHarness) -> None:
    await _bumped(harness)
    await harness.reconcile()
    plan = (await harness.group()).status.plan
    assert plan is not None
    assert plan.phase == "Active"
    assert [(t.type, t.status) for t in plan.tasks] == [(t, "Pending") for t in TASKS]
    assert plan.tasks[0].params == {"groupName": GROUP, "namespace": harness.namespace} | {
        "nodeNames": NAMES
    }


async def test_detection_pass_emits_rollout_started_then_plan_started(
    harness: GroupHarness,
) -> None:
    group = await _bumped(harness)
    await harness.reconcile()
    target = template_hash(group.spec.template.spec)
    assert harness.events() == [
        f"Normal RolloutStarted InPlace rollout started (strategy: InPlace, target: {target[:8]})",
        "Normal PlanStarted Plan execution started",
    ]


async def test_detection_pass_changes_no_child(harness: GroupHarness) -> None:
    await _bumped(harness)
    before = await harness.children()
    await harness.reconcile()
    after = await harness.children()
    assert images(after) == [IMAGE_V1] * 3
    assert revisions(after) == [("1", "1")] * 3
    assert [c["metadata"]["generation"] for c in after] == [
        c["metadata"]["generation"] for c in before
    ]


async def test_next_pass_moves_every_child_to_the_template_and_entrant_revision(
    harness: GroupHarness,
) -> None:
    await _bumped(harness)
    await harness.reconcile()
    before = await harness.children()
    await harness.reconcile()
    after = await harness.children()
    assert images(after) == [IMAGE_V2] * 3
    assert revisions(after) == [("2", "2")] * 3
    # One write per child: image and pod-label revision land together (one pod restart).
    assert [c["metadata"]["generation"] for c in after] == [
        c["metadata"]["generation"] + 1 for c in before
    ]


async def test_update_node_specs_completes_and_the_plan_waits(harness: GroupHarness) -> None:
    await _bumped(harness)
    await harness.reconcile()
    await harness.reconcile()
    await harness.reconcile()
    plan = (await harness.group()).status.plan
    assert plan is not None
    assert [t.status for t in plan.tasks] == ["Complete", "Pending", "Pending"]
    assert plan.phase == "Active"


async def test_status_stays_truthful_during_the_rollout(harness: GroupHarness) -> None:
    # F3: the children stay seen and counted, whatever their revision label says.
    await _bumped(harness)
    for _ in range(3):
        await harness.reconcile()
        status = (await harness.group()).status
        assert [(n.name, n.phase) for n in status.nodes or []] == [(n, "Running") for n in NAMES]
        assert status.ready_replicas == 3
        assert status.incumbent_nodes == NAMES
        nodes_ready = status.condition("NodesReady")
        assert nodes_ready is not None
        assert nodes_ready.message == "3/3 nodes ready"


async def test_rollout_reports_each_nodes_progress(harness: GroupHarness) -> None:
    # D2: no node has rolled out yet (no StatefulSet reports the new template).
    await _bumped(harness)
    await harness.reconcile()
    rollout = (await harness.group()).status.rollout
    assert rollout is not None
    assert [(n.name, n.ready, n.phase) for n in rollout.nodes or []] == [
        (n, False, "Running") for n in NAMES
    ]


async def test_a_second_change_supersedes_the_rollout(harness: GroupHarness) -> None:
    await _bumped(harness)
    await harness.reconcile()
    await harness.reconcile()  # update-node-specs ran: children on v2, revision 2
    first = (await harness.group()).status
    assert first.rollout is not None
    assert first.plan is not None
    await harness.set_image(IMAGE_V3)
    harness.recorder.clear()
    await harness.reconcile()
    group = await harness.group()
    target = template_hash(group.spec.template.spec)
    assert harness.events() == [
        "Normal RolloutSuperseded Spec changed during active rollout, replacing plan "
        f"(old target: {first.rollout.target_hash})",
        f"Normal RolloutStarted InPlace rollout started (strategy: InPlace, target: {target[:8]})",
        "Normal PlanStarted Plan execution started",
    ]
    rollout, plan = group.status.rollout, group.status.plan
    assert rollout is not None
    assert plan is not None
    assert rollout.target_hash == target
    assert (rollout.incumbent_revision, rollout.entrant_revision) == ("1", "3")
    assert rollout.incumbent_nodes == NAMES
    assert plan.id != first.plan.id
    assert [(t.type, t.status) for t in plan.tasks] == [(t, "Pending") for t in TASKS]
    assert all(t.params and t.params["nodeNames"] == NAMES for t in plan.tasks)


async def test_superseding_plan_moves_the_children_to_the_latest_template(
    harness: GroupHarness,
) -> None:
    await _bumped(harness)
    await harness.reconcile()
    await harness.reconcile()
    await harness.set_image(IMAGE_V3)
    await harness.reconcile()  # superseded
    await harness.reconcile()  # the new update-node-specs
    children = await harness.children()
    assert images(children) == [IMAGE_V3] * 3
    assert revisions(children) == [("3", "3")] * 3
    condition = (await harness.group()).status.condition("PlanInProgress")
    assert condition is not None
    assert condition.status == "True"


async def test_a_group_without_children_starts_no_rollout(harness: GroupHarness) -> None:
    # F9: a changed hash with no child to roll is just the group's new template.
    await harness.create()
    stale = SeiNodeDeployment.from_dict(await harness.group_obj())
    stale.status.template_hash = "oldhash1234"
    await harness.write_status(stale)
    await harness.reconcile()
    group = await harness.group()
    assert group.status.rollout is None
    assert group.status.condition("RolloutInProgress") is None
    assert group.status.plan is None
    assert "RolloutStarted" not in harness.reasons()
    assert group.status.template_hash == template_hash(group.spec.template.spec)
    assert images(await harness.children()) == [IMAGE_V1] * 3


async def test_an_entrypoint_change_replaces_the_childrens_entrypoint(
    harness: GroupHarness,
) -> None:
    await harness.steady_group()
    await harness.patch_spec(
        {"template": {"spec": {"entrypoint": {"command": ["seid"], "args": ["start"]}}}}
    )
    for _ in range(3):  # detect, update-node-specs, ...
        await harness.reconcile()
    await harness.patch_spec({"template": {"spec": {"entrypoint": {"args": None}}}})
    for _ in range(3):  # supersede, update-node-specs, ...
        await harness.reconcile()
    entrypoints = [c["spec"].get("entrypoint") for c in await harness.children()]
    assert entrypoints == [{"command": ["seid"]}] * 3


async def _reverted(harness: GroupHarness) -> None:
    """The operator's rollback: v1 -> v2, children moved to v2, then back to v1 before the
    rollout completed."""
    await _bumped(harness)
    await harness.reconcile()
    await harness.reconcile()  # update-node-specs: children on v2
    assert images(await harness.children()) == [IMAGE_V2] * 3
    await harness.set_image(IMAGE_V1)
    harness.recorder.clear()


async def test_reverting_the_template_mid_rollout_supersedes_it(harness: GroupHarness) -> None:
    await _reverted(harness)
    await harness.reconcile()
    group = await harness.group()
    assert harness.reasons() == ["RolloutSuperseded", "RolloutStarted", "PlanStarted"]
    assert group.status.rollout is not None
    assert group.status.rollout.target_hash == template_hash(group.spec.template.spec)
    assert group.status.rollout.target_hash == group.status.template_hash


async def test_reverting_the_template_mid_rollout_rolls_the_children_back(
    harness: GroupHarness,
) -> None:
    await _reverted(harness)
    await harness.reconcile()
    await harness.reconcile()
    assert images(await harness.children()) == [IMAGE_V1] * 3


def _requests_by_code(harness: GroupHarness) -> dict[str, float]:
    counts: dict[str, float] = {}
    for metric in harness.registry.collect():
        for sample in metric.samples:
            if sample.name == "rest_client_requests_total":
                code = sample.labels["code"]
                counts[code] = counts.get(code, 0) + sample.value
    return counts


async def test_a_rollout_and_its_supersession_draw_no_conflict(harness: GroupHarness) -> None:
    # F6: no write of a pass is refused with 409 (reads are live here, so none is stale).
    await _bumped(harness)
    for _ in range(3):
        await harness.reconcile()
    await harness.set_image(IMAGE_V3)
    for _ in range(3):
        await harness.reconcile()
    assert images(await harness.children()) == [IMAGE_V3] * 3
    codes = _requests_by_code(harness)
    assert codes.get("200", 0) > 0
    assert "409" not in codes
