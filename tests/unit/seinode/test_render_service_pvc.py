"""Headless Service and data PVC (spec 5.2, 5.4; TestGenerateNodeHeadlessService,
TestServicePorts_SevenExpectedPorts, TestGenerateNodeDataPVC)."""

from __future__ import annotations

from controllers.platform import Platform
from controllers.seinode.render import render_headless_service, render_pvc
from tests.fixtures.nodes import node_from_spec, replayer_node, snapshot_node


def test_headless_service_identity_and_labels(platform: Platform) -> None:
    metadata = render_headless_service(snapshot_node("snap-0", "chain"), platform)["metadata"]
    observed = (metadata["name"], metadata["namespace"], metadata["labels"])
    assert observed == ("snap-0", "chain", {"sei.io/node": "snap-0"})


def test_headless_service_is_headless(platform: Platform) -> None:
    assert render_headless_service(snapshot_node(), platform)["spec"]["clusterIP"] == "None"


def test_headless_service_publishes_not_ready_addresses(platform: Platform) -> None:
    spec = render_headless_service(snapshot_node(), platform)["spec"]
    assert spec["publishNotReadyAddresses"] is True


def test_headless_service_selects_only_the_node_label(platform: Platform) -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"team": "infra"}
    assert render_headless_service(node, platform)["spec"]["selector"] == {"sei.io/node": "snap-0"}


def test_headless_service_ports_in_order_with_grpc_as_h2c(platform: Platform) -> None:
    ports = render_headless_service(snapshot_node(), platform)["spec"]["ports"]
    assert ports == [
        {"name": "evm-rpc", "port": 8545, "targetPort": 8545, "protocol": "TCP"},
        {"name": "evm-ws", "port": 8546, "targetPort": 8546, "protocol": "TCP"},
        {
            "name": "grpc",
            "port": 9090,
            "targetPort": 9090,
            "protocol": "TCP",
            "appProtocol": "kubernetes.io/h2c",
        },
        {"name": "rest", "port": 1317, "targetPort": 1317, "protocol": "TCP"},
        {"name": "p2p", "port": 26656, "targetPort": 26656, "protocol": "TCP"},
        {"name": "rpc", "port": 26657, "targetPort": 26657, "protocol": "TCP"},
        {"name": "metrics", "port": 26660, "targetPort": 26660, "protocol": "TCP"},
    ]


def test_service_ports_are_the_seven_expected_numbers(platform: Platform) -> None:
    ports = render_headless_service(snapshot_node(), platform)["spec"]["ports"]
    assert {p["port"] for p in ports} == {1317, 8545, 8546, 9090, 26656, 26657, 26660}


def test_headless_service_does_not_expose_the_sidecar_port(platform: Platform) -> None:
    ports = render_headless_service(snapshot_node(), platform)["spec"]["ports"]
    assert 7777 not in {p["port"] for p in ports}


def test_data_pvc_name_labels_and_access_mode(platform: Platform) -> None:
    pvc = render_pvc(snapshot_node("snap-0"), platform)
    observed = (pvc["metadata"]["name"], pvc["metadata"]["labels"], pvc["spec"]["accessModes"])
    assert observed == ("data-snap-0", {"sei.io/node": "snap-0"}, ["ReadWriteOnce"])


def test_data_pvc_requests_the_default_size_on_the_perf_class(platform: Platform) -> None:
    spec = render_pvc(snapshot_node(), platform)["spec"]
    observed = (spec["storageClassName"], spec["resources"])
    assert observed == ("gp3-10k-750", {"requests": {"storage": "2000Gi"}})


def test_archive_data_pvc_requests_the_archive_size(platform: Platform) -> None:
    archive = node_from_spec({"chainId": "c", "image": "i", "archive": {}})
    assert render_pvc(archive, platform)["spec"]["resources"]["requests"]["storage"] == "4000Gi"


def test_replayer_data_pvc_is_sized_like_a_full_node(platform: Platform) -> None:
    assert render_pvc(replayer_node(), platform)["spec"]["resources"]["requests"] == {
        "storage": "2000Gi"
    }


def test_data_pvc_carries_pod_labels(platform: Platform) -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"team": "infra"}
    labels = render_pvc(node, platform)["metadata"]["labels"]
    assert labels == {"team": "infra", "sei.io/node": "snap-0"}
