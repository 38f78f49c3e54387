"""Resource labels (TestResourceLabelsForNode_*) and the node mode."""

from __future__ import annotations

from controllers.seinode.render import node_mode, resource_labels
from tests.fixtures.nodes import genesis_node, node_from_spec, replayer_node, snapshot_node


def test_resource_labels_without_pod_labels_are_only_the_node_label() -> None:
    assert resource_labels(snapshot_node("snap-0")) == {"sei.io/node": "snap-0"}


def test_resource_labels_include_pod_labels() -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"team": "infra", "sei.io/role": "rpc"}
    assert resource_labels(node) == {
        "team": "infra",
        "sei.io/role": "rpc",
        "sei.io/node": "snap-0",
    }


def test_resource_labels_system_node_label_wins_over_a_user_one() -> None:
    node = snapshot_node("snap-0")
    node.spec.pod_labels = {"sei.io/node": "impostor"}
    assert resource_labels(node) == {"sei.io/node": "snap-0"}


def test_full_node_mode_is_full() -> None:
    assert node_mode(snapshot_node()) == "full"


def test_replayer_mode_is_full() -> None:
    assert node_mode(replayer_node()) == "full"


def test_validator_mode_is_validator() -> None:
    assert node_mode(genesis_node()) == "validator"


def test_archive_mode_is_archive() -> None:
    archive = node_from_spec({"chainId": "c", "image": "i", "archive": {}})
    assert node_mode(archive) == "archive"
