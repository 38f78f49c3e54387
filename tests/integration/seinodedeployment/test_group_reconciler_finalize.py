"""Plan finalization and group deletion, pass by pass on the real API server (spec 6.5, 8.4,
8.8, 4.10; decisions F7): a plan persisted Complete or Failed is finalized by the next pass;
Retain orphans the children, Delete leaves them to the garbage collector."""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import (
    ConditionStatus,
    RolloutStatus,
    SeiNodeDeployment,
    TaskPlanPhase,
    TaskStatus,
    UpdateStrategyType,
    utc_now,
)
from api.v1alpha1.template_hash import template_hash
from controller_runtime.client.errors import NotFoundError
from controller_runtime.envtest import eventually
from controllers.seinodedeployment.plans import build_inplace_plan

from .conftest import GROUP, IMAGE_V2, IMAGE_V3, GroupHarness


async def _group_with_persisted_plan(
    harness: GroupHarness, phase: TaskPlanPhase, *child_phases: str
) -> SeiNodeDeployment:
    """Generation 3 of a group mid-rollout whose plan was persisted ``phase`` by a pass that
    did not get to finalize it (the reference's 8.8 gap): PlanInProgress and
    RolloutInProgress still True, the rollout still recorded."""
    await harness.steady_group(replicas=len(child_phases))
    await harness.set_image(IMAGE_V2)
    await harness.set_image(IMAGE_V3)
    await harness.set_child_phases(*child_phases)
    group = await harness.group()
    assert group.metadata.generation == 3
    names = [f"{GROUP}-{i}" for i in range(len(child_phases))]
    status, generation = group.status, group.metadata.generation
    status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash=template_hash(group.spec.template.spec),
        started_at=utc_now(),
        incumbent_nodes=names,
        incumbent_revision="1",
        entrant_revision="3",
    )
    plan = build_inplace_plan(group)
    plan.phase = phase
    for task in plan.tasks:
        task.status = TaskStatus.COMPLETE
    if phase == TaskPlanPhase.FAILED:
        plan.tasks[0].status = TaskStatus.FAILED
        plan.tasks[0].error = "owner is not a group"
        plan.failed_task_index = 0
    status.plan = plan
    status.set_condition(
        "PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "Plan execution started", generation
    )
    status.set_condition(
        "RolloutInProgress", ConditionStatus.TRUE, "TemplateChanged", "changed", generation
    )
    await harness.write_status(group)
    harness.recorder.clear()
    return group


def _condition(group: SeiNodeDeployment, type_: str) -> tuple[str, str, str]:
    found = group.status.condition(type_)
    assert found is not None, type_
    return (found.status.value, found.reason, found.message)


# --- F7: completion ---------------------------------------------------------------------------


async def test_complete_plan_clears_rollout_in_progress(harness: GroupHarness) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.COMPLETE, "Running")
    await harness.reconcile()
    group = await harness.group()
    assert group.status.rollout is None
    assert group.status.plan is None
    assert _condition(group, "RolloutInProgress") == (
        "False",
        "RolloutComplete",
        "Deployment completed successfully",
    )
    assert _condition(group, "PlanInProgress") == (
        "False",
        "PlanComplete",
        "Plan completed successfully",
    )


async def test_complete_plan_advances_the_baseline(harness: GroupHarness) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.COMPLETE, "Running")
    await harness.reconcile()
    group = await harness.group()
    assert group.status.observed_generation == 3
    assert group.status.template_hash == template_hash(group.spec.template.spec)
    assert group.status.phase == "Ready"


async def test_complete_plan_emits_rollout_complete_and_plan_complete(
    harness: GroupHarness,
) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.COMPLETE, "Running")
    await harness.reconcile()
    assert harness.events() == [
        "Normal RolloutComplete Deployment rollout completed successfully",
        "Normal PlanComplete Plan completed successfully",
    ]


async def test_a_finalized_plan_is_finalized_once(harness: GroupHarness) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.COMPLETE, "Running")
    await harness.reconcile()
    finalized = await harness.group_obj()
    harness.recorder.clear()
    await harness.reconcile()
    assert harness.events() == []
    again = await harness.group_obj()
    assert again["status"] == finalized["status"]


# --- F7: failure ------------------------------------------------------------------------------


async def test_fail_plan_clears_rollout_in_progress(harness: GroupHarness) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.FAILED, "Running", "Failed", "Failed")
    await harness.reconcile()
    group = await harness.group()
    assert group.status.rollout is None
    assert group.status.plan is None
    assert group.status.phase == "Degraded"
    assert _condition(group, "RolloutInProgress") == (
        "False",
        "RolloutFailed",
        "Deployment plan failed",
    )
    assert _condition(group, "PlanInProgress") == ("False", "PlanFailed", "Plan failed")


async def test_fail_plan_emits_a_warning(harness: GroupHarness) -> None:
    await _group_with_persisted_plan(harness, TaskPlanPhase.FAILED, "Running", "Failed", "Failed")
    await harness.reconcile()
    assert harness.events() == ["Warning PlanFailed Plan failed"]


async def test_a_failed_change_is_not_retried(harness: GroupHarness) -> None:
    # 8.4: the failed template becomes the baseline; only a new change starts a rollout.
    await _group_with_persisted_plan(harness, TaskPlanPhase.FAILED, "Running", "Failed", "Failed")
    await harness.reconcile()
    harness.recorder.clear()
    await harness.reconcile()
    group = await harness.group()
    assert group.status.template_hash == template_hash(group.spec.template.spec)
    assert group.status.rollout is None
    assert "RolloutStarted" not in harness.reasons()


# --- deletion (4.10) --------------------------------------------------------------------------


async def _children_or_none(harness: GroupHarness) -> list[dict[str, Any]]:
    return await harness.children()


async def _delete_group(harness: GroupHarness) -> None:
    await harness.kube.delete(await harness.group_obj())


async def test_retain_orphans_the_children(harness: GroupHarness) -> None:
    await harness.steady_group(deletionPolicy="Retain")
    await _delete_group(harness)
    await harness.reconcile()
    children = await harness.children()
    assert [c["metadata"]["name"] for c in children] == [f"{GROUP}-{i}" for i in range(3)]
    assert [c["metadata"].get("ownerReferences") for c in children] == [None] * 3
    assert harness.events() == [
        "Normal RetainResources Orphaning child SeiNodes and networking resources"
    ]


async def test_deletion_removes_the_finalizer(harness: GroupHarness) -> None:
    await harness.steady_group(deletionPolicy="Retain")
    await _delete_group(harness)
    await harness.reconcile()
    try:
        await harness.group_obj()
    except NotFoundError:
        return
    raise AssertionError("the group outlived its finalizer")


async def test_delete_leaves_the_children_to_the_garbage_collector(
    harness: GroupHarness,
) -> None:
    await harness.steady_group()
    await _delete_group(harness)
    await harness.reconcile()
    assert "RetainResources" not in harness.reasons()
    await eventually(
        lambda: _children_or_none(harness),
        lambda children: children == [],
        timeout=60,
        message="children garbage-collected",
    )


async def test_deletion_forgets_the_groups_gauges(harness: GroupHarness) -> None:
    await harness.steady_group()
    ns = harness.namespace
    phase = "sei_controller_seinodedeployment_phase"
    assert harness.metric(phase, namespace=ns, name=GROUP, phase="Ready") == 1
    await _delete_group(harness)
    await harness.reconcile()
    assert harness.metric(phase, namespace=ns, name=GROUP, phase="Ready") is None
    replicas = "sei_controller_seinodedeployment_replicas"
    assert harness.metric(replicas, namespace=ns, name=GROUP, type="desired") is None


async def test_retain_during_a_rollout_orphans_every_child(harness: GroupHarness) -> None:
    # F3: mid-rollout the children carry two revisions; every one of them is found.
    await harness.steady_group(deletionPolicy="Retain")
    await harness.set_image(IMAGE_V2)
    await harness.reconcile()
    await harness.reconcile()  # update-node-specs: children on the entrant revision
    await _delete_group(harness)
    await harness.reconcile()
    children = await harness.children()
    assert len(children) == 3
    assert [c["metadata"].get("ownerReferences") for c in children] == [None] * 3


async def test_deletion_marks_the_group_terminating_and_drops_only_our_finalizer(
    harness: GroupHarness,
) -> None:
    await harness.steady_group()
    stored = await harness.group_obj()
    await harness.kube.patch(
        stored,
        {"metadata": {"finalizers": [*stored["metadata"]["finalizers"], "example.com/hold"]}},
    )
    await _delete_group(harness)
    await harness.reconcile()
    group = await harness.group()
    assert group.status.phase == "Terminating"
    assert group.metadata.finalizers == ["example.com/hold"]
    await harness.kube.patch(await harness.group_obj(), {"metadata": {"finalizers": None}})
