"""The node StatefulSet and its pod spec (spec 5.3; TestGenerateNodeStatefulSet_*,
TestBuildNodePodSpec_*, TestNodeDataPVCClaimName_*, TestGenesisMode_*)."""

from __future__ import annotations

import pytest

from controllers.platform import Platform
from controllers.seinode.node import RenderError, data_pvc_name
from controllers.seinode.render import render_statefulset
from tests.fixtures.nodes import genesis_node, node_from_spec, snapshot_node
from tests.unit.seinode.helpers import pod


def test_statefulset_pod_labels_propagate_to_metadata_and_template(platform: Platform) -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"team": "infra"}
    sts = render_statefulset(node, platform)
    expected = {"team": "infra", "sei.io/node": "snap-0"}
    assert (sts["metadata"]["labels"], sts["spec"]["template"]["metadata"]["labels"]) == (
        expected,
        expected,
    )


def test_statefulset_selector_is_only_the_node_label(platform: Platform) -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"team": "infra"}
    selector = render_statefulset(node, platform)["spec"]["selector"]
    assert selector == {"matchLabels": {"sei.io/node": "snap-0"}}


def test_statefulset_is_named_after_the_node_in_its_namespace(platform: Platform) -> None:
    metadata = render_statefulset(snapshot_node("snap-0", "chain"), platform)["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("snap-0", "chain")


def test_statefulset_is_owned_by_its_seinode_as_controller(platform: Platform) -> None:
    refs = render_statefulset(snapshot_node("snap-0"), platform)["metadata"]["ownerReferences"]
    assert refs == [
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "name": "snap-0",
            "uid": "uid-snap-0",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_statefulset_has_one_replica(platform: Platform) -> None:
    assert render_statefulset(snapshot_node(), platform)["spec"]["replicas"] == 1


def test_statefulset_service_name_is_the_node_name(platform: Platform) -> None:
    assert render_statefulset(snapshot_node("snap-0"), platform)["spec"]["serviceName"] == "snap-0"


def test_statefulset_has_no_volume_claim_templates(platform: Platform) -> None:
    assert "volumeClaimTemplates" not in render_statefulset(snapshot_node(), platform)["spec"]


def test_statefulset_leaves_the_update_strategy_to_the_server(platform: Platform) -> None:
    assert render_statefulset(snapshot_node(), platform)["spec"]["updateStrategy"] == {}


def test_statefulset_pod_is_marked_do_not_disrupt(platform: Platform) -> None:
    template = render_statefulset(snapshot_node(), platform)["spec"]["template"]
    assert template["metadata"]["annotations"] == {"karpenter.sh/do-not-disrupt": "true"}


def test_statefulset_always_has_seid_init_then_sidecar_init_containers(
    platform: Platform,
) -> None:
    init = pod(render_statefulset(snapshot_node(), platform))["initContainers"]
    assert [c["name"] for c in init] == ["seid-init", "sei-sidecar"]


def test_statefulset_has_exactly_one_container_seid(platform: Platform) -> None:
    containers = pod(render_statefulset(snapshot_node(), platform))["containers"]
    assert [c["name"] for c in containers] == ["seid"]


def test_pod_spec_service_account_comes_from_the_platform(platform: Platform) -> None:
    assert pod(render_statefulset(snapshot_node(), platform))["serviceAccountName"] == "seid-node"


def test_pod_spec_has_one_volume_claiming_the_data_pvc(platform: Platform) -> None:
    volumes = pod(render_statefulset(snapshot_node("snap-0"), platform))["volumes"]
    assert volumes == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-snap-0"}}]


def test_pod_spec_shares_the_process_namespace(platform: Platform) -> None:
    assert pod(render_statefulset(snapshot_node(), platform))["shareProcessNamespace"] is True


def test_pod_spec_tolerates_the_platform_taint(platform: Platform) -> None:
    assert pod(render_statefulset(snapshot_node(), platform))["tolerations"] == [
        {"key": "sei.io/workload", "value": "sei-node", "effect": "NoSchedule"}
    ]


def test_pod_spec_requires_the_platform_node_pool(platform: Platform) -> None:
    affinity = pod(render_statefulset(snapshot_node(), platform))["affinity"]
    expression = {"key": "karpenter.sh/nodepool", "operator": "In", "values": ["sei-node"]}
    required = {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
    node_affinity = affinity["nodeAffinity"]
    assert node_affinity == {"requiredDuringSchedulingIgnoredDuringExecution": required}


def test_data_pvc_claim_name_is_data_dash_node_name() -> None:
    assert data_pvc_name(snapshot_node("snap-0")) == "data-snap-0"


def test_data_pvc_claim_name_follows_another_node_name() -> None:
    assert data_pvc_name(genesis_node("pacific-1-rpc-2")) == "data-pacific-1-rpc-2"


def test_genesis_mode_has_the_sidecar(platform: Platform) -> None:
    init = pod(render_statefulset(genesis_node(), platform))["initContainers"]
    assert "sei-sidecar" in [c["name"] for c in init]


def test_genesis_mode_has_no_snapshot_restore_init_container(platform: Platform) -> None:
    spec = pod(render_statefulset(genesis_node(), platform))
    names = [c["name"] for c in [*spec["initContainers"], *spec["containers"]]]
    assert "snapshot-restore" not in names


def test_genesis_mode_shares_the_process_namespace(platform: Platform) -> None:
    assert pod(render_statefulset(genesis_node(), platform))["shareProcessNamespace"] is True


def test_rendering_a_node_without_uid_is_an_error(platform: Platform) -> None:
    node = node_from_spec({"chainId": "c", "image": "i", "fullNode": {}})
    node.metadata.uid = None
    with pytest.raises(RenderError, match=r"no metadata\.uid"):
        render_statefulset(node, platform)
