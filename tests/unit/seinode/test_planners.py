"""Node planners of spec 6.3 and validation of 3.9 (and the planner rows of spec 11.2)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.v1alpha1 import SeiNode, StateSyncSource, TaskPlan, TaskPlanPhase, TaskStatus
from controllers.plan.ids import task_id
from controllers.plan.params import SnapshotRestoreParams, parse_params
from controllers.seinode.planners import (
    PlannerError,
    build_node_plan,
    common_overrides,
    config_apply_params,
    needs_bootstrap,
    planner_for_node,
    validate,
)
from tests.unit.plan.nodes import (
    EC2_PEERS,
    genesis_node,
    node,
    peer_sync_node,
    replayer_node,
    s3_source,
    snapshot_node,
    snapshotter_node,
)

PLANS = Path(__file__).parent / "testdata" / "plans"
CEREMONY = {"chainId": "fresh-1", "stakingAmount": "10usei", "accountBalance": "20usei", "index": 0}


def _types(plan: TaskPlan) -> list[str]:
    return [t.type for t in plan.tasks]


def _params(plan: TaskPlan, task_type: str) -> dict[str, Any]:
    (params,) = [t.params for t in plan.tasks if t.type == task_type]
    assert params is not None
    return params


# --- recorded plans of the reference operator ------------------------------------------------


@pytest.mark.parametrize("recorded", sorted(PLANS.glob("*.yaml")), ids=lambda p: p.stem)
def test_plan_equals_the_one_the_reference_operator_built(recorded: Path) -> None:
    obj = yaml.safe_load(recorded.read_text())
    want = obj["status"]["plan"]

    got = build_node_plan(SeiNode.from_dict(obj), plan_id=want["id"]).to_dict()

    strip = ("status", "submittedAt")
    expected = [{k: v for k, v in t.items() if k not in strip} for t in want["tasks"]]
    assert [{k: v for k, v in t.items() if k not in strip} for t in got["tasks"]] == expected
    assert {t["status"] for t in got["tasks"]} == {"Pending"}


# --- base plans --------------------------------------------------------------------------------


def test_snapshot_plan_order() -> None:
    assert _types(build_node_plan(snapshot_node())) == [
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]


def test_snapshot_plan_with_peers_discovers_peers_after_config_apply() -> None:
    assert _types(build_node_plan(snapshot_node(peers=EC2_PEERS))) == [
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]


def test_state_sync_plan_order() -> None:
    assert _types(build_node_plan(peer_sync_node())) == [
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]


def test_genesis_plan_order() -> None:
    assert _types(build_node_plan(genesis_node())) == [
        "configure-genesis",
        "config-apply",
        "config-validate",
        "mark-ready",
    ]


def test_genesis_plan_with_peers_order() -> None:
    assert _types(build_node_plan(genesis_node(peers=EC2_PEERS))) == [
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "config-validate",
        "mark-ready",
    ]


def test_replayer_plan_order() -> None:
    assert _types(build_node_plan(replayer_node())) == [
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]


def test_archive_plan_with_peers_state_syncs() -> None:
    assert _types(build_node_plan(snapshotter_node())) == [
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]


def test_archive_plan_without_peers_state_syncs_without_params() -> None:
    plan = build_node_plan(node(archive={}))
    assert _types(plan) == [
        "configure-genesis",
        "config-apply",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
    ]
    assert _params(plan, "configure-state-sync") == {}


def test_snapshot_plan_is_active_with_pending_identified_tasks() -> None:
    plan = build_node_plan(snapshot_node())
    assert plan.phase == TaskPlanPhase.ACTIVE
    assert len(plan.tasks) == 6
    assert plan.tasks[0].type == "snapshot-restore"
    for index, task in enumerate(plan.tasks):
        assert task.status == TaskStatus.PENDING
        assert task.params is not None
        assert task.id == task_id(plan.id or "", task.type, index)


def test_rebuilt_plans_have_new_plan_and_task_ids() -> None:
    first, second = build_node_plan(snapshot_node()), build_node_plan(snapshot_node())
    assert first.id != second.id
    assert not {t.id for t in first.tasks} & {t.id for t in second.tasks}
    assert len({t.id for t in first.tasks}) == len(first.tasks)
    assert uuid.UUID(first.id or "").version == 4


def test_snapshot_restore_params_round_trip_the_target_height() -> None:
    stored = _params(build_node_plan(snapshot_node()), "snapshot-restore")
    parsed = parse_params(SnapshotRestoreParams, "snapshot-restore", stored)
    assert parsed.target_height == 100000000


def test_config_apply_params_carry_mode_and_user_overrides() -> None:
    plan = build_node_plan(snapshot_node(overrides={"giga_executor.enabled": "true"}))
    assert _params(plan, "config-apply") == {
        "mode": "full",
        "overrides": {"giga_executor.enabled": "true"},
    }


def test_config_apply_without_overrides_stores_mode_only() -> None:
    assert _params(build_node_plan(snapshot_node()), "config-apply") == {"mode": "full"}


def test_s3_state_sync_params_use_the_local_snapshot() -> None:
    params = _params(build_node_plan(snapshot_node()), "configure-state-sync")
    assert params == {"useLocalSnapshot": True, "trustPeriod": "9999h0m0s"}


def test_state_sync_params_carry_backfill_blocks_and_no_local_snapshot() -> None:
    source = {"stateSync": {}, "trustPeriod": "168h0m0s", "backfillBlocks": 500}
    params = _params(build_node_plan(node(fullNode={"snapshot": source})), "configure-state-sync")
    assert params == {"trustPeriod": "168h0m0s", "backfillBlocks": 500}


def test_discover_peers_keeps_source_order_and_maps_labels_to_resolved_endpoints() -> None:
    peers = [
        {"static": {"addresses": ["id@host:26656"]}},
        {"label": {"selector": {"role": "seed"}}},
        *EC2_PEERS,
    ]
    sei_node = genesis_node(peers=peers)
    sei_node.status.resolved_peers = ["a-0.a.default.svc.cluster.local"]

    assert _params(build_node_plan(sei_node), "discover-peers") == {
        "sources": [
            {"type": "static", "addresses": ["id@host:26656"]},
            {"type": "dnsEndpoints", "endpoints": ["a-0.a.default.svc.cluster.local"]},
            {
                "type": "ec2Tags",
                "region": "eu-central-1",
                "tags": {"ChainIdentifier": "atlantic-2"},
            },
        ]
    }


def test_unresolved_label_source_is_stored_without_endpoints() -> None:
    sei_node = genesis_node(peers=[{"label": {"selector": {"role": "seed"}}}])
    sources = _params(build_node_plan(sei_node), "discover-peers")["sources"]
    assert sources == [{"type": "dnsEndpoints"}]


# --- bootstrap and ceremony plans --------------------------------------------------------------


def _bootstrap_node() -> SeiNode:
    source = s3_source(200, bootstrapImage="sei:bootstrap")
    return node(name="boot", namespace="ns", fullNode={"snapshot": source}, peers=EC2_PEERS)


def test_bootstrap_plan_wraps_the_snapshot_plan_in_job_tasks() -> None:
    assert _types(build_node_plan(_bootstrap_node())) == [
        "deploy-bootstrap-service",
        "deploy-bootstrap-job",
        "snapshot-restore",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "configure-state-sync",
        "config-validate",
        "mark-ready",
        "await-bootstrap-complete",
        "teardown-bootstrap",
        "configure-genesis",
        "config-apply",
        "discover-peers",
        "config-validate",
        "mark-ready",
    ]


def test_bootstrap_plan_gives_repeated_types_distinct_ids() -> None:
    plan = build_node_plan(_bootstrap_node())
    assert len({t.id for t in plan.tasks}) == 16


def test_bootstrap_plan_params_name_the_job_and_service() -> None:
    plan = build_node_plan(_bootstrap_node())
    assert _params(plan, "deploy-bootstrap-service") == {"serviceName": "boot", "namespace": "ns"}
    assert _params(plan, "deploy-bootstrap-job") == {"jobName": "boot-bootstrap", "namespace": "ns"}
    assert _params(plan, "await-bootstrap-complete") == {
        "jobName": "boot-bootstrap",
        "namespace": "ns",
    }
    assert _params(plan, "teardown-bootstrap") == {
        "jobName": "boot-bootstrap",
        "serviceName": "boot",
        "namespace": "ns",
    }


def test_validator_with_bootstrap_image_gets_the_bootstrap_plan() -> None:
    source = s3_source(200, bootstrapImage="sei:bootstrap")
    plan = build_node_plan(node(validator={"snapshot": source}))
    assert _types(plan)[:2] == ["deploy-bootstrap-service", "deploy-bootstrap-job"]


def test_genesis_ceremony_plan_order_and_configure_genesis_retries() -> None:
    plan = build_node_plan(node(name="val-0", validator={"genesisCeremony": CEREMONY}))
    assert _types(plan) == [
        "generate-identity",
        "generate-gentx",
        "upload-genesis-artifacts",
        "configure-genesis",
        "config-apply",
        "set-genesis-peers",
        "config-validate",
        "mark-ready",
    ]
    retries = {t.type: t.max_retries for t in plan.tasks}
    assert retries.pop("configure-genesis") == 180
    assert set(retries.values()) == {None}


def test_genesis_ceremony_params() -> None:
    ceremony = {**CEREMONY, "genesisParams": '{"a":1}'}
    plan = build_node_plan(node(name="val-0", validator={"genesisCeremony": ceremony}))
    assert _params(plan, "generate-identity") == {"chainId": "fresh-1", "moniker": "val-0"}
    assert _params(plan, "generate-gentx") == {
        "chainId": "fresh-1",
        "stakingAmount": "10usei",
        "accountBalance": "20usei",
        "genesisParams": '{"a":1}',
    }
    assert _params(plan, "upload-genesis-artifacts") == {"nodeName": "val-0"}
    assert _params(plan, "config-apply") == {"mode": "validator"}


def test_genesis_ceremony_never_bootstraps() -> None:
    source = s3_source(200, bootstrapImage="sei:bootstrap")
    sei_node = node(validator={"genesisCeremony": CEREMONY, "snapshot": source})
    assert _types(build_node_plan(sei_node))[0] == "generate-identity"


# --- overrides ---------------------------------------------------------------------------------


def test_common_overrides_carry_the_external_address() -> None:
    sei_node = snapshot_node()
    sei_node.status.external_address = "1.2.3.4:26656"
    assert common_overrides(sei_node) == {"network.p2p.external_address": "1.2.3.4:26656"}
    assert config_apply_params(sei_node).overrides == {
        "network.p2p.external_address": "1.2.3.4:26656"
    }


def test_common_overrides_without_external_address_are_null() -> None:
    assert common_overrides(snapshot_node()) == {}
    assert config_apply_params(snapshot_node()).overrides is None


def test_user_override_wins_over_the_external_address() -> None:
    sei_node = snapshot_node(overrides={"network.p2p.external_address": "user:1"})
    sei_node.status.external_address = "1.2.3.4:26656"
    assert config_apply_params(sei_node).overrides == {"network.p2p.external_address": "user:1"}


def test_full_node_snapshot_generation_overrides() -> None:
    sei_node = node(fullNode={"snapshotGeneration": {"keepRecent": 3}})
    assert config_apply_params(sei_node).overrides == {
        "storage.snapshot_interval": "2000",
        "storage.snapshot_keep_recent": "3",
        "storage.pruning_keep_recent": "50000",
        "storage.pruning_keep_every": "0",
        "chain.min_retain_blocks": "50000",
        "network.p2p.max_connections": "500",
        "network.p2p.send_rate": "20971520",
        "network.p2p.recv_rate": "20971520",
    }


def test_archive_snapshot_generation_overrides() -> None:
    params = config_apply_params(snapshotter_node())
    assert params.mode == "archive"
    assert params.overrides == {
        "storage.snapshot_interval": "2000",
        "storage.snapshot_keep_recent": "5",
    }


def test_replayer_overrides_apply_always_and_user_overrides_win() -> None:
    sei_node = replayer_node()
    sei_node.spec.overrides = {"storage.state_commit.async_commit_buffer": "7"}
    params = config_apply_params(sei_node)
    assert params.mode == "full"
    assert params.overrides == {
        "storage.state_commit.async_commit_buffer": "7",
        "storage.state_commit.memiavl.snapshot_keep_recent": "2",
        "storage.state_commit.memiavl.snapshot_min_time_interval": "3600",
    }


def test_validator_gets_common_overrides_only() -> None:
    sei_node = genesis_node()
    sei_node.status.external_address = "5.6.7.8:26656"
    params = config_apply_params(sei_node)
    assert params.mode == "validator"
    assert params.overrides == {"network.p2p.external_address": "5.6.7.8:26656"}


# --- planner selection and validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sei_node", "mode"),
    [
        (snapshot_node(), "full"),
        (snapshotter_node(), "archive"),
        (genesis_node(), "validator"),
        (replayer_node(), "full"),
    ],
    ids=["fullNode", "archive", "validator", "replayer"],
)
def test_planner_mode_strings(sei_node: SeiNode, mode: str) -> None:
    assert planner_for_node(sei_node).mode == mode


def test_node_without_a_mode_sub_spec_has_no_planner() -> None:
    sei_node = genesis_node()
    sei_node.spec.validator = None
    with pytest.raises(PlannerError, match=r"^no mode sub-spec set on SeiNode default/test-node$"):
        planner_for_node(sei_node)


def test_snapshot_node_builds_a_plan() -> None:
    assert build_node_plan(snapshot_node()).tasks


def _invalid(sei_node: SeiNode, message: str) -> None:
    with pytest.raises(PlannerError, match=f"^{message}$"):
        validate(sei_node)
    with pytest.raises(PlannerError):
        build_node_plan(sei_node)


def test_full_node_bootstrap_image_requires_s3() -> None:
    source = {"stateSync": {}, "bootstrapImage": "sei:bootstrap"}
    _invalid(
        node(fullNode={"snapshot": source}),
        "fullNode: bootstrapImage requires s3 with targetHeight > 0",
    )


def test_validator_bootstrap_image_requires_s3() -> None:
    source = {"stateSync": {}, "bootstrapImage": "sei:bootstrap"}
    _invalid(
        node(validator={"snapshot": source}),
        "validator: bootstrapImage requires s3 with targetHeight > 0",
    )


def test_replayer_requires_an_s3_snapshot() -> None:
    sei_node = replayer_node()
    assert sei_node.spec.replayer is not None
    sei_node.spec.replayer.snapshot.s3 = None
    sei_node.spec.replayer.snapshot.state_sync = StateSyncSource()
    _invalid(sei_node, "replayer requires an S3 snapshot source")


def test_replayer_requires_a_positive_target_height() -> None:
    sei_node = replayer_node()
    assert sei_node.spec.replayer is not None
    assert sei_node.spec.replayer.snapshot.s3 is not None
    sei_node.spec.replayer.snapshot.s3.target_height = 0
    _invalid(sei_node, r"replayer: s3\.targetHeight must be > 0")


def test_replayer_requires_a_peer_source() -> None:
    sei_node = replayer_node()
    sei_node.spec.peers = []
    _invalid(sei_node, "replayer requires at least one peer source for block sync")


def test_ceremony_requires_a_chain_id() -> None:
    sei_node = node(validator={"genesisCeremony": CEREMONY})
    assert sei_node.spec.validator is not None
    assert sei_node.spec.validator.genesis_ceremony is not None
    sei_node.spec.validator.genesis_ceremony.chain_id = ""
    _invalid(sei_node, r"validator: genesisCeremony\.chainId is required")


def test_ceremony_requires_a_staking_amount() -> None:
    sei_node = node(validator={"genesisCeremony": CEREMONY})
    assert sei_node.spec.validator is not None
    assert sei_node.spec.validator.genesis_ceremony is not None
    sei_node.spec.validator.genesis_ceremony.staking_amount = ""
    _invalid(sei_node, r"validator: genesisCeremony\.stakingAmount is required")


def test_ceremony_skips_the_bootstrap_image_rule() -> None:
    source = {"stateSync": {}, "bootstrapImage": "sei:bootstrap"}
    validate(node(validator={"genesisCeremony": CEREMONY, "snapshot": source}))


def test_archive_is_always_valid() -> None:
    validate(node(archive={}))


def test_needs_bootstrap_only_with_image_and_s3_height() -> None:
    assert needs_bootstrap(_bootstrap_node())
    assert not needs_bootstrap(snapshot_node())
    assert not needs_bootstrap(node(archive={}))
    assert not needs_bootstrap(
        node(fullNode={"snapshot": {"stateSync": {}, "bootstrapImage": "x"}})
    )
