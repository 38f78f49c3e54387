"""Objects read from the API server go through the models unchanged, and what a reconciler
writes back through them (status merge patch, status update, spec update) is accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from kubernetes_asyncio.client.exceptions import ApiException

from api.v1alpha1 import (
    ConditionStatus,
    GroupNodeStatus,
    MonitorTask,
    NetworkingStatus,
    PlannedTask,
    RolloutNodeStatus,
    RolloutStatus,
    RouteStatus,
    SeiNode,
    SeiNodeDeployment,
    SeiNodeDeploymentPhase,
    SeiNodePhase,
    TaskPlan,
    TaskPlanPhase,
    TaskStatus,
    UpdateStrategyType,
    template_hash,
    utc_now,
)
from tests.integration.api.sei_api_helpers import (
    SAMPLES_DIR,
    SeiObjects,
    group_manifest,
    node_manifest,
)

pytestmark = pytest.mark.integration

STARTED = datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)


def a_plan() -> TaskPlan:
    return TaskPlan(
        id="11111111-1111-4111-8111-111111111111",
        phase=TaskPlanPhase.ACTIVE,
        tasks=[
            PlannedTask(
                type="update-node-specs",
                id="b9d69009-f302-5308-864e-653a8a1244d8",
                status=TaskStatus.COMPLETE,
                params={"groupName": "g", "namespace": "ns", "nodeNames": None},
                submitted_at=STARTED,
            ),
            PlannedTask(
                type="await-spec-update",
                id="87a5767d-fc2d-5613-9d34-e17b60e15b41",
                status=TaskStatus.PENDING,
                params={"namespace": "ns", "nodeNames": ["g-0", "g-1"], "deep": {"x": [1, None]}},
                max_retries=180,
                retry_count=0,
            ),
        ],
    )


async def test_full_group_status_written_by_the_models_round_trips(sei: SeiObjects) -> None:
    created = SeiNodeDeployment.from_dict(await sei.create(group_manifest("g", replicas=2)))
    status = created.status
    status.observed_generation = 1
    status.template_hash = template_hash(created.spec.template.spec)
    status.phase = SeiNodeDeploymentPhase.UPGRADING
    status.replicas = 2
    status.ready_replicas = 1
    status.nodes = [
        GroupNodeStatus(name="g-0", phase=SeiNodePhase.RUNNING),
        GroupNodeStatus(name="g-1"),
    ]
    status.plan = a_plan()
    status.incumbent_nodes = ["g-0", "g-1"]
    status.genesis_s3_uri = "s3://bucket/genesis.json"
    status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash="347bc046dd25de17",
        started_at=STARTED,
        incumbent_nodes=["g-0", "g-1"],
        incumbent_revision="1",
        entrant_revision="2",
        nodes=[
            RolloutNodeStatus(name="g-0", ready=True, phase=SeiNodePhase.RUNNING),
            RolloutNodeStatus(name="g-1", ready=False, phase=SeiNodePhase.INITIALIZING),
        ],
    )
    status.networking_status = NetworkingStatus(
        routes=[RouteStatus(hostname="g-evm.example.com", protocol="evm")]
    )
    status.set_condition(
        "PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "Plan execution started", 1
    )
    status.set_condition(
        "RolloutInProgress",
        ConditionStatus.TRUE,
        "TemplateChanged",
        "templateHash changed from 9c13d843e3cbbdb0 to 347bc046dd25de17",
        1,
    )

    sent = created.to_dict()
    updated = await sei.replace_status(sent)
    assert updated["status"] == sent["status"]  # stored exactly as the models dumped it

    stored = await sei.get("SeiNodeDeployment", "g")
    assert SeiNodeDeployment.from_dict(stored).to_dict() == stored


async def test_reconciler_update_cycle(sei: SeiObjects) -> None:
    """parse -> change a few fields -> dump -> status update / spec update (optimistic lock)."""
    await sei.create(node_manifest("n", sidecar={"image": "seictl:v1"}))
    node = SeiNode.from_dict(await sei.get("SeiNode", "n"))
    node.status.phase = SeiNodePhase.INITIALIZING
    node.status.plan = a_plan()
    node.status.monitor_tasks = {
        "snapshot-upload": MonitorTask(
            id="0aeb61e9-375f-5430-a2ad-f6d83f4cee3d",
            status=TaskStatus.PENDING,
            submitted_at=utc_now(),
        )
    }
    updated = await sei.replace_status(node.to_dict())
    assert updated["status"]["phase"] == "Initializing"
    assert updated["metadata"]["generation"] == 1  # status writes do not bump generation

    node = SeiNode.from_dict(updated)
    assert node.status.plan is not None
    node.status.plan.tasks[1].status = TaskStatus.COMPLETE
    node.status.plan = None  # finished plans may be dropped: a merge patch null deletes
    await sei.merge_patch_status("SeiNode", "n", {"plan": None})
    after = SeiNode.from_dict(await sei.get("SeiNode", "n"))
    assert after.status.plan is None
    assert "plan" not in after.to_dict()["status"]

    after.spec.image = "seid:v2"
    assert after.metadata.labels is None
    after.metadata.labels = {"team": "rpc"}
    replaced = await sei.replace(after.to_dict())
    assert replaced["spec"]["image"] == "seid:v2"
    assert replaced["metadata"]["generation"] == 2
    assert replaced["status"]["phase"] == "Initializing"  # spec updates keep status
    assert SeiNode.from_dict(replaced).to_dict() == replaced


async def test_stale_write_conflicts(sei: SeiObjects) -> None:
    await sei.create(node_manifest("stale"))
    first = SeiNode.from_dict(await sei.get("SeiNode", "stale"))
    second = first.model_copy(deep=True)
    first.status.phase = SeiNodePhase.INITIALIZING
    await sei.replace_status(first.to_dict())
    second.status.phase = SeiNodePhase.FAILED
    with pytest.raises(ApiException) as caught:
        await sei.replace_status(second.to_dict())
    assert caught.value.status == 409


async def test_samples_round_trip_after_server_defaulting(sei: SeiObjects) -> None:
    for path in sorted(SAMPLES_DIR.glob("sei_*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        await sei.create(manifest)
        stored = await sei.get(manifest["kind"], manifest["metadata"]["name"])
        model = SeiNode if manifest["kind"] == "SeiNode" else SeiNodeDeployment
        parsed = model.from_dict(stored)
        assert parsed.to_dict() == stored, path.name
        # A server-side apply body built from the manifest says only what the manifest says.
        assert model.from_dict(manifest).to_dict() == manifest


async def test_nulls_inside_task_params_survive_updates_but_not_merge_patches(
    sei: SeiObjects,
) -> None:
    # params is free-form JSON: an update (PUT) stores a Go-style `"nodeNames": null` verbatim,
    # while a JSON merge patch reads the same null as "delete this key" (RFC 7386). Both shapes
    # parse, and each round-trips through the models unchanged.
    await sei.create(group_manifest("nulls"))
    group = SeiNodeDeployment.from_dict(await sei.get("SeiNodeDeployment", "nulls"))
    group.status.plan = a_plan()
    put = await sei.replace_status(group.to_dict())
    assert put["status"]["plan"]["tasks"][0]["params"]["nodeNames"] is None
    assert SeiNodeDeployment.from_dict(put).to_dict() == put

    await sei.create(group_manifest("nulls-merge"))
    sent = {"plan": a_plan().to_dict()}
    merged = await sei.merge_patch_status("SeiNodeDeployment", "nulls-merge", sent)
    assert "nodeNames" not in merged["status"]["plan"]["tasks"][0]["params"]
    assert SeiNodeDeployment.from_dict(merged).to_dict() == merged
