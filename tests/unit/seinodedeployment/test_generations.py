"""Which children serve, and how they are named, across BlueGreen/HardFork generations
(decisions F3, F12; controllers/seinodedeployment/generations.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import RolloutStatus, SeiNodeDeployment, UpdateStrategyType
from controllers.seinodedeployment.generations import (
    child_stem,
    entrant_child,
    rollout_leftovers,
    service_revision,
    serving,
)
from controllers.seinodedeployment.rollout import tracked_nodes

from .fixtures import GROUP_UID, child, group

INCUMBENTS = [child(f"archive-rpc-{i}", i, "1") for i in range(3)]
ENTRANTS = [child(f"archive-rpc-g2-{i}", i, "2") for i in range(3)]


def _rolling(strategy: UpdateStrategyType, switched: bool = False) -> SeiNodeDeployment:
    grp = group(metadata__generation=2)
    grp.status.rollout = RolloutStatus(
        strategy=strategy,
        target_hash="h2",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        incumbent_nodes=[c["metadata"]["name"] for c in INCUMBENTS],
        entrant_nodes=[c["metadata"]["name"] for c in ENTRANTS],
        incumbent_revision="2" if switched else "1",
        entrant_revision="2",
    )
    return grp


def _names(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["metadata"]["name"] for n in nodes]


def _detached(node: dict[str, Any]) -> dict[str, Any]:
    del node["metadata"]["labels"]["sei.io/nodedeployment-ordinal"]
    return node


def test_incumbents_serve_until_the_switch() -> None:
    grp = _rolling(UpdateStrategyType.BLUE_GREEN)
    assert _names(serving(grp, INCUMBENTS + ENTRANTS)) == _names(INCUMBENTS)
    assert service_revision(grp, INCUMBENTS + ENTRANTS) == "1"


def test_entrants_serve_after_the_switch() -> None:
    grp = _rolling(UpdateStrategyType.HARD_FORK, switched=True)
    assert _names(serving(grp, INCUMBENTS + ENTRANTS)) == _names(ENTRANTS)
    assert service_revision(grp, INCUMBENTS + ENTRANTS) == "2"


def test_in_place_rollouts_serve_every_child_through_the_group_label() -> None:
    grp = _rolling(UpdateStrategyType.IN_PLACE)
    assert _names(serving(grp, INCUMBENTS)) == _names(INCUMBENTS)
    assert service_revision(grp, INCUMBENTS) is None


def test_steady_state_selects_by_group_label_only() -> None:
    assert service_revision(group(), INCUMBENTS) is None


def test_detached_nodes_of_a_failed_rollout_neither_serve_nor_get_traffic() -> None:
    leftovers = [_detached(child(f"archive-rpc-g2-{i}", i, "2")) for i in range(3)]
    assert _names(serving(group(), INCUMBENTS + leftovers)) == _names(INCUMBENTS)
    assert service_revision(group(), INCUMBENTS + leftovers) == "1"


def test_leftovers_of_a_rollout_are_its_nodes_that_do_not_serve() -> None:
    grp = _rolling(UpdateStrategyType.BLUE_GREEN)
    children = INCUMBENTS + ENTRANTS
    left = rollout_leftovers(grp.status.rollout, children, _names(INCUMBENTS))
    assert _names(left) == _names(ENTRANTS)


def test_new_children_are_named_like_their_entrant_siblings() -> None:
    assert child_stem("archive-rpc", ENTRANTS) == "archive-rpc-g2"


def test_new_children_of_a_never_swapped_group_use_the_group_name() -> None:
    assert child_stem("archive-rpc", INCUMBENTS) == "archive-rpc"
    assert child_stem("archive-rpc", []) == "archive-rpc"


def test_a_foreign_name_never_becomes_a_stem() -> None:
    assert child_stem("archive-rpc", [child("other-g2-0", 0)]) == "archive-rpc"


def test_entrants_carry_only_the_system_labels_and_the_entrant_revision() -> None:
    grp = group(
        metadata__generation=2,
        spec__template__metadata={"labels": {"team": "rpc"}, "annotations": {"a": "b"}},
    )
    node = entrant_child(grp, "archive-rpc-g2-1", 1, "2")
    assert node["metadata"]["name"] == "archive-rpc-g2-1"
    assert node["metadata"]["labels"] == {
        "sei.io/nodedeployment": "archive-rpc",
        "sei.io/nodedeployment-ordinal": "1",
        "sei.io/revision": "2",
    }
    assert "annotations" not in node["metadata"]
    assert node["spec"]["podLabels"] == {
        "sei.io/nodedeployment": "archive-rpc",
        "sei.io/revision": "2",
    }
    assert node["metadata"]["ownerReferences"][0]["uid"] == GROUP_UID


def test_entrant_validators_get_no_genesis_ceremony() -> None:
    grp = group(
        spec__genesis={"chainId": "devnet-1"},
        spec__template__spec={"chainId": "devnet-1", "image": "seid:v2", "validator": {}},
    )
    node = entrant_child(grp, "archive-rpc-g2-0", 0, "2")
    assert "genesisCeremony" not in node["spec"]["validator"]


def test_progress_of_a_swap_rollout_tracks_the_entrants() -> None:
    assert tracked_nodes(_rolling(UpdateStrategyType.BLUE_GREEN)) == _names(ENTRANTS)


def test_progress_of_an_in_place_rollout_tracks_the_incumbents() -> None:
    assert tracked_nodes(_rolling(UpdateStrategyType.IN_PLACE)) == _names(INCUMBENTS)


def test_after_the_switch_the_leftovers_of_a_rollout_are_the_incumbents() -> None:
    grp = _rolling(UpdateStrategyType.BLUE_GREEN, switched=True)
    children = INCUMBENTS + ENTRANTS
    serving_names = _names(serving(grp, children))
    left = rollout_leftovers(grp.status.rollout, children, serving_names)
    assert _names(left) == _names(INCUMBENTS)
