"""Parsing and dumping the sei.io/v1alpha1 models: the wire contract of api/v1alpha1/base.py."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from api.v1alpha1 import (
    ConditionStatus,
    DeletionPolicy,
    EntrypointConfig,
    FullNodeSpec,
    GenesisCeremonyConfig,
    MonitoringConfig,
    ObjectMeta,
    PeerSource,
    PlannedTask,
    RolloutNodeStatus,
    RolloutStatus,
    SeiNode,
    SeiNodeDeployment,
    SeiNodeDeploymentSpec,
    SeiNodePhase,
    SeiNodeSpec,
    SeiNodeTemplate,
    ServiceMonitorConfig,
    SidecarConfig,
    StaticPeerSource,
    TaskPlan,
    TaskPlanPhase,
    TaskStatus,
    UpdateStrategy,
    UpdateStrategyType,
    ValidatorSpec,
    format_time,
)


def minimal_spec(**extra: Any) -> dict[str, Any]:
    return {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}, **extra}


# --- round trips --------------------------------------------------------------------------


def test_stored_seinode_round_trips_unchanged(stored_seinode: dict[str, Any]) -> None:
    original = copy.deepcopy(stored_seinode)
    assert SeiNode.from_dict(stored_seinode).to_dict() == original
    assert stored_seinode == original  # parsing does not mutate the input


def test_stored_seinodedeployment_round_trips_unchanged(
    stored_seinodedeployment: dict[str, Any],
) -> None:
    original = copy.deepcopy(stored_seinodedeployment)
    assert SeiNodeDeployment.from_dict(stored_seinodedeployment).to_dict() == original


def test_list_order_is_kept(stored_seinodedeployment: dict[str, Any]) -> None:
    status = stored_seinodedeployment["status"]
    status["conditions"].reverse()
    status["incumbentNodes"] = ["grp-1", "grp-0"]
    dumped = SeiNodeDeployment.from_dict(stored_seinodedeployment).to_dict()["status"]
    assert [c["type"] for c in dumped["conditions"]] == ["PlanInProgress", "RolloutInProgress"]
    assert dumped["incumbentNodes"] == ["grp-1", "grp-0"]
    assert [t["type"] for t in dumped["plan"]["tasks"]] == [
        "update-node-specs",
        "await-spec-update",
    ]


@pytest.mark.parametrize(
    "obj",
    [
        # Absent fields stay absent: no Python default (port, replicas, deletionPolicy,
        # interval, stakingAmount) is added by the dump.
        {"apiVersion": "sei.io/v1alpha1", "kind": "SeiNode", "spec": minimal_spec(sidecar={})},
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {"name": "g"},
            "spec": {
                "template": {"spec": minimal_spec()},
                "genesis": {"chainId": "c-1"},
                "monitoring": {"serviceMonitor": {}},
            },
        },
        # Explicit nulls are kept (a merge patch uses them to delete).
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "spec": minimal_spec(peers=None),
            "status": {"plan": None, "phase": "Initializing"},
        },
    ],
)
def test_sparse_objects_round_trip_unchanged(obj: dict[str, Any]) -> None:
    model = SeiNode if obj["kind"] == "SeiNode" else SeiNodeDeployment
    assert model.from_dict(obj).to_dict() == obj


def test_unknown_fields_are_kept_everywhere(stored_seinodedeployment: dict[str, Any]) -> None:
    obj = stored_seinodedeployment
    obj["futureTopLevel"] = {"x": 1}
    obj["metadata"]["futureMeta"] = "m"
    obj["spec"]["futureSpec"] = [1, 2]
    obj["spec"]["template"]["spec"]["futureNodeField"] = {"deep": {"er": None}}
    obj["spec"]["updateStrategy"]["canary"] = {"steps": 3}
    obj["status"]["conditions"][0]["futureConditionField"] = True
    obj["status"]["plan"]["tasks"][1]["futureTaskField"] = "t"
    obj["status"]["rollout"]["nodes"][0]["lag"] = 12
    expected = copy.deepcopy(obj)

    group = SeiNodeDeployment.from_dict(obj)
    assert group.spec.update_strategy is not None
    assert group.spec.update_strategy.model_extra == {"canary": {"steps": 3}}
    assert group.to_dict() == expected

    # ... and survive a modification next to them.
    group.status.phase = group.status.phase.READY if group.status.phase else None
    expected["status"]["phase"] = "Ready"
    assert group.to_dict() == expected


def test_dump_uses_json_names_and_parse_accepts_both() -> None:
    spec = SeiNodeSpec.from_dict(
        {"chain_id": "c", "image": "i", "pod_labels": {"a": "b"}, "full_node": {}}
    )
    assert spec.to_dict() == {"chainId": "c", "image": "i", "podLabels": {"a": "b"}, "fullNode": {}}
    status = SeiNodeDeployment.from_dict(
        {"spec": {"template": {"spec": minimal_spec()}}, "status": {"genesisS3URI": "s3://b/g"}}
    ).status
    assert status.genesis_s3_uri == "s3://b/g"
    assert status.to_dict() == {"genesisS3URI": "s3://b/g"}


# --- what the code sets is what gets dumped -------------------------------------------------


def test_object_built_in_code_dumps_only_what_was_set() -> None:
    node = SeiNode(
        metadata=ObjectMeta(name="n", namespace="sei"),
        spec=SeiNodeSpec(
            chain_id="pacific-1",
            image="seid:v1",
            sidecar=SidecarConfig(),
            full_node=FullNodeSpec(),
        ),
    )
    assert node.spec.sidecar is not None
    assert node.spec.sidecar.port == 7777
    assert node.to_dict() == {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {"name": "n", "namespace": "sei"},
        "spec": {"chainId": "pacific-1", "image": "seid:v1", "sidecar": {}, "fullNode": {}},
    }


def test_python_defaults_mirror_crd_defaults_without_being_dumped() -> None:
    spec = SeiNodeDeploymentSpec(
        template=SeiNodeTemplate(spec=SeiNodeSpec.from_dict(minimal_spec())),
        update_strategy=UpdateStrategy(type=UpdateStrategyType.IN_PLACE),
        genesis=GenesisCeremonyConfig(chain_id="c-1"),
        monitoring=MonitoringConfig(service_monitor=ServiceMonitorConfig()),
    )
    assert spec.replicas == 1
    assert spec.deletion_policy is DeletionPolicy.DELETE
    assert spec.genesis is not None
    assert spec.genesis.staking_amount == "10000000usei"
    assert spec.genesis.account_balance.startswith("1000000000000000000000usei,")
    assert spec.monitoring is not None
    assert spec.monitoring.service_monitor is not None
    assert spec.monitoring.service_monitor.interval == "30s"
    assert spec.to_dict() == {
        "template": {"spec": minimal_spec()},
        "genesis": {"chainId": "c-1"},
        "monitoring": {"serviceMonitor": {}},
        "updateStrategy": {"type": "InPlace"},
    }


def test_changes_to_a_default_status_are_dumped(stored_seinode: dict[str, Any]) -> None:
    del stored_seinode["status"]
    node = SeiNode.from_dict(stored_seinode)
    assert node.status.phase is None
    assert "status" not in node.to_dict()

    node.status.phase = SeiNodePhase.INITIALIZING
    node.status.plan = TaskPlan(
        id="p",
        phase=TaskPlanPhase.ACTIVE,
        tasks=[PlannedTask(type="mark-ready", id="t", status=TaskStatus.PENDING)],
    )
    assert node.to_dict()["status"] == {
        "phase": "Initializing",
        "plan": {
            "id": "p",
            "phase": "Active",
            "tasks": [{"type": "mark-ready", "id": "t", "status": "Pending"}],
        },
    }


def test_in_place_mutations_of_parsed_containers_are_dumped(
    stored_seinode: dict[str, Any],
) -> None:
    node = SeiNode.from_dict(stored_seinode)
    assert node.metadata.labels is not None
    assert node.status.plan is not None
    node.metadata.labels["extra"] = "1"
    node.status.plan.tasks[0].params = None
    node.status.plan.tasks[1].status = TaskStatus.COMPLETE
    dumped = node.to_dict()
    assert dumped["metadata"]["labels"]["extra"] == "1"
    assert dumped["status"]["plan"]["tasks"][0]["params"] is None
    assert dumped["status"]["plan"]["tasks"][1]["status"] == "Complete"


def test_assigning_none_emits_null_for_merge_patches(
    stored_seinodedeployment: dict[str, Any],
) -> None:
    group = SeiNodeDeployment.from_dict(stored_seinodedeployment)
    group.status.plan = None
    group.status.rollout = None
    status = group.to_dict()["status"]
    assert status["plan"] is None
    assert status["rollout"] is None


def test_deep_copy_keeps_dump_semantics(stored_seinode: dict[str, Any]) -> None:
    node = SeiNode.from_dict(stored_seinode)
    base = node.model_copy(deep=True)
    node.status.current_image = "seid:v2"
    assert base.to_dict() == stored_seinode
    assert node.to_dict()["status"]["currentImage"] == "seid:v2"


def test_api_version_and_kind_are_always_emitted() -> None:
    node = SeiNode.from_dict({"spec": minimal_spec()})
    assert node.to_dict()["apiVersion"] == "sei.io/v1alpha1"
    assert node.to_dict()["kind"] == "SeiNode"
    with pytest.raises(ValidationError):
        SeiNode.from_dict({"kind": "SeiNodeDeployment", "spec": minimal_spec()})


def test_go_written_task_params_round_trip_verbatim() -> None:
    params = {"nodeNames": None, "expected": 0, "nested": {"l": [None, 1.5, True, "s"]}}
    task = PlannedTask.from_dict({"type": "t", "id": "i", "status": "Pending", "params": params})
    assert task.params == params
    assert task.to_dict()["params"] == params


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z"),
        ("2025-03-01T10:00:00.25Z", "2025-03-01T10:00:00.25Z"),
        ("2025-03-01T10:00:00.123456789Z", "2025-03-01T10:00:00.123456Z"),
        ("2025-03-01T12:00:00+02:00", "2025-03-01T10:00:00Z"),
    ],
)
def test_time_is_rfc3339_utc(wire: str, expected: str) -> None:
    task = PlannedTask.from_dict({"type": "t", "id": "i", "status": "Pending", "submittedAt": wire})
    assert task.submitted_at is not None
    assert task.submitted_at.tzinfo is not None
    assert task.to_dict()["submittedAt"] == expected


def test_naive_time_is_rejected() -> None:
    with pytest.raises(ValidationError, match="UTC offset"):
        PlannedTask(type="t", id="i", status=TaskStatus.PENDING, submitted_at=datetime(2025, 1, 1))
    assert format_time(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"


# --- helpers -------------------------------------------------------------------------------


def test_set_condition_follows_set_status_condition() -> None:
    group = SeiNodeDeployment.from_dict({"spec": {"template": {"spec": minimal_spec()}}})
    status = group.status
    assert status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "m1", 3)
    first = status.condition("PlanInProgress")
    assert first is not None
    assert status.is_condition_true("PlanInProgress")
    started = first.last_transition_time
    first.last_transition_time = started.replace(year=2000)

    # Same status: reason/message/observedGeneration change, transition time does not.
    assert status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "m2", 4)
    assert first.message == "m2"
    assert first.observed_generation == 4
    assert first.last_transition_time.year == 2000
    assert not status.set_condition("PlanInProgress", ConditionStatus.TRUE, "PlanStarted", "m2", 4)

    # Status change: transition time moves.
    assert status.set_condition("PlanInProgress", ConditionStatus.FALSE, "PlanComplete", "m3", 4)
    assert first.last_transition_time.year != 2000
    assert not status.is_condition_true("PlanInProgress")

    assert status.remove_condition("PlanInProgress")
    assert not status.remove_condition("PlanInProgress")
    assert group.to_dict()["status"] == {"conditions": []}


def test_snapshot_source_helper() -> None:
    spec = SeiNodeSpec.from_dict(minimal_spec(fullNode={"snapshot": {"s3": {"targetHeight": 5}}}))
    source = spec.snapshot_source()
    assert source is not None
    assert source.s3 is not None
    assert source.s3.target_height == 5
    assert (
        SeiNodeSpec.from_dict({"chainId": "c", "image": "i", "archive": {}}).snapshot_source()
        is None
    )
    validator = SeiNodeSpec(chain_id="c", image="i", validator=ValidatorSpec())
    assert validator.snapshot_source() is None


def test_rollout_status_with_nodes_from_code() -> None:
    rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash="347bc046dd25de17",
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        nodes=[RolloutNodeStatus(name="grp-0", ready=False, phase=SeiNodePhase.RUNNING)],
    )
    assert rollout.to_dict() == {
        "strategy": "InPlace",
        "targetHash": "347bc046dd25de17",
        "startedAt": "2025-01-01T00:00:00Z",
        "nodes": [{"name": "grp-0", "ready": False, "phase": "Running"}],
    }


def test_entrypoint_and_peer_models_build_in_code() -> None:
    spec = SeiNodeSpec(
        chain_id="c",
        image="i",
        entrypoint=EntrypointConfig(command=["seid"]),
        peers=[PeerSource(static=StaticPeerSource(addresses=["n@h:26656"]))],
        full_node=FullNodeSpec(),
    )
    assert spec.to_dict()["peers"] == [{"static": {"addresses": ["n@h:26656"]}}]
    with pytest.raises(ValidationError, match="exactly one of ec2Tags"):
        PeerSource()
