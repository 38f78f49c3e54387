"""Desired children and their sync (spec 4.8, 4.9; 11.4 TestGenerateSeiNode_*; F4, F5)."""

from __future__ import annotations

from controllers.seinodedeployment.children import (
    child_sync_patch,
    current_revision,
    desired_child,
    go_json_string_map,
    overlay,
    owned_children,
    scale_down_victims,
)

from .fixtures import child, group


def test_name_and_namespace() -> None:
    grp = group()
    assert desired_child(grp, 0, "1")["metadata"]["name"] == "archive-rpc-0"
    assert desired_child(grp, 2, "1")["metadata"]["name"] == "archive-rpc-2"
    assert desired_child(grp, 0, "1")["metadata"]["namespace"] == "sei"


def test_system_labels() -> None:
    labels = desired_child(group(), 1, "4")["metadata"]["labels"]
    assert labels["sei.io/nodedeployment"] == "archive-rpc"
    assert labels["sei.io/nodedeployment-ordinal"] == "1"
    assert labels["sei.io/revision"] == "4"


def test_user_labels_are_merged() -> None:
    grp = group(spec__template__metadata={"labels": {"team": "rpc"}})
    assert desired_child(grp, 0, "1")["metadata"]["labels"]["team"] == "rpc"


def test_system_labels_override_user() -> None:
    grp = group(spec__template__metadata={"labels": {"sei.io/nodedeployment": "evil"}})
    labels = desired_child(grp, 0, "1")["metadata"]["labels"]
    assert labels["sei.io/nodedeployment"] == "archive-rpc"


def test_injects_pod_labels() -> None:
    pod_labels = desired_child(group(), 0, "7")["spec"]["podLabels"]
    assert pod_labels == {"sei.io/nodedeployment": "archive-rpc", "sei.io/revision": "7"}


def test_preserves_existing_pod_labels() -> None:
    grp = group(spec__template__spec__podLabels={"app": "sei"})
    assert desired_child(grp, 0, "1")["spec"]["podLabels"]["app"] == "sei"


def test_copies_spec() -> None:
    spec = desired_child(group(), 0, "1")["spec"]
    assert spec["image"] == "ghcr.io/sei-protocol/seid:v1.0.0"
    assert spec["fullNode"] == {"snapshot": {"s3": {"targetHeight": 100000}}}


def test_deep_copies_template() -> None:
    grp = group(spec__template__spec__overrides={"a": "1"})
    desired_child(grp, 0, "1")["spec"]["overrides"]["a"] = "2"
    assert grp.spec.template.spec.overrides == {"a": "1"}


def test_annotations() -> None:
    grp = group(spec__template__metadata={"annotations": {"note": "x"}})
    assert desired_child(grp, 0, "1")["metadata"]["annotations"] == {"note": "x"}


def test_no_annotations_when_nil() -> None:
    assert "annotations" not in desired_child(group(), 0, "1")["metadata"]


def test_owner_reference_is_the_controller() -> None:
    ref = desired_child(group(), 0, "1")["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "SeiNodeDeployment"
    assert ref["controller"]
    assert ref["blockOwnerDeletion"]


def test_genesis_ceremony_is_set_on_validators() -> None:
    grp = group(
        spec__template__spec={"chainId": "newchain", "image": "img", "validator": {}},
        spec__genesis={
            "chainId": "newchain",
            "stakingAmount": "1usei",
            "accountBalance": "2usei",
            "overrides": {"b": "<x>", "a": "&"},
        },
    )
    spec = desired_child(grp, 2, "1")["spec"]
    assert spec["chainId"] == "newchain"
    assert spec["validator"]["genesisCeremony"] == {
        "chainId": "newchain",
        "stakingAmount": "1usei",
        "accountBalance": "2usei",
        "genesisParams": '{"a":"\\u0026","b":"\\u003cx\\u003e"}',
        "index": 2,
    }


def test_go_json_of_a_string_map_sorts_and_escapes_like_go() -> None:
    assert go_json_string_map({"z": "1", "a": "é<"}) == '{"a":"é\\u003c","z":"1"}'


def test_sync_of_a_child_in_line_is_empty() -> None:
    grp = group()
    existing = desired_child(grp, 0, "1")
    assert child_sync_patch(grp, existing, 0) == {}


def test_sync_keeps_foreign_labels_and_annotations() -> None:
    grp = group(spec__template__metadata={"labels": {"team": "rpc"}})
    existing = desired_child(grp, 0, "1")
    existing["metadata"]["labels"]["kubectl.io/touched"] = "yes"
    existing["metadata"]["annotations"] = {"user": "note"}
    existing["metadata"]["labels"]["team"] = "old"
    patch = child_sync_patch(grp, existing, 0)
    assert patch == {"metadata": {"labels": {"team": "rpc"}}}


def test_sync_keeps_the_childs_revision_in_steady_state() -> None:
    grp = group(metadata__generation=9)  # e.g. a replicas change bumped the generation
    existing = desired_child(grp, 0, "3")
    assert child_sync_patch(grp, existing, 0) == {}


def test_sync_moves_the_revision_when_a_rollout_asks() -> None:
    grp = group()
    patch = child_sync_patch(grp, desired_child(grp, 0, "3"), 0, revision="4")
    assert patch["metadata"]["labels"] == {"sei.io/revision": "4"}
    assert patch["spec"]["podLabels"] == {"sei.io/revision": "4"}


def test_sync_pushes_image_and_entrypoint() -> None:
    grp = group(spec__template__spec__entrypoint={"command": ["seid"], "args": ["start"]})
    existing = desired_child(group(), 0, "1")
    existing["spec"]["image"] = "old"
    patch = child_sync_patch(grp, existing, 0)
    assert patch["spec"]["image"] == "ghcr.io/sei-protocol/seid:v1.0.0"
    assert patch["spec"]["entrypoint"] == {"command": ["seid"], "args": ["start"]}


def test_sync_ignores_a_resources_only_sidecar_difference() -> None:
    grp = group()
    existing = desired_child(grp, 0, "1")
    existing["spec"]["sidecar"]["resources"] = {"requests": {"cpu": "1"}}
    assert child_sync_patch(grp, existing, 0) == {}


def test_sync_replaces_the_sidecar_when_its_image_differs() -> None:
    grp = group(spec__template__spec__sidecar={"image": "seictl:v2", "port": 7777})
    existing = desired_child(group(), 0, "1")
    existing["spec"]["sidecar"]["resources"] = {"requests": {"cpu": "1"}}
    patch = child_sync_patch(grp, existing, 0)
    assert patch["spec"]["sidecar"] == {"image": "seictl:v2", "resources": None}


def test_current_revision_is_the_lowest_ordinals() -> None:
    children = [child("archive-rpc-1", 1, "5"), child("archive-rpc-0", 0, "4")]
    assert current_revision(group(), children) == "4"


def test_current_revision_of_a_group_without_children_is_its_generation() -> None:
    assert current_revision(group(metadata__generation=6), []) == "6"


def test_owned_children_require_the_controller_uid() -> None:
    mine, foreign = child("archive-rpc-0", 0), child("archive-rpc-1", 1, owner_uid="other")
    assert [c["metadata"]["name"] for c in owned_children(group(), [foreign, mine])] == [
        "archive-rpc-0"
    ]


def test_scale_down_removes_ordinals_at_or_above_replicas_only() -> None:
    children = [child(f"archive-rpc-{i}", i) for i in range(5)] + [child("archive-rpc-exporter")]
    victims = scale_down_victims(group(spec__replicas=3), children)
    assert [v["metadata"]["name"] for v in victims] == ["archive-rpc-3", "archive-rpc-4"]


def test_overlay_drops_children_the_pass_deleted() -> None:
    listed = [child("archive-rpc-0", 0), child("archive-rpc-1", 1)]
    seen = overlay(listed, {"archive-rpc-0": None})
    assert [c["metadata"]["name"] for c in seen] == ["archive-rpc-1"]


def test_overlay_shows_children_as_the_pass_wrote_them() -> None:
    rewritten = child("archive-rpc-1", 1, "7")
    seen = overlay([child("archive-rpc-1", 1, "4")], {"archive-rpc-1": rewritten})
    assert seen == [rewritten]


def test_overlay_adds_no_child_the_listing_does_not_hold() -> None:
    seen = overlay([child("archive-rpc-0", 0)], {"archive-rpc-5": child("archive-rpc-5", 5)})
    assert [c["metadata"]["name"] for c in seen] == ["archive-rpc-0"]


def test_overlay_sorts_by_name() -> None:
    seen = overlay([child("archive-rpc-2", 2), child("archive-rpc-0", 0)], {})
    assert [c["metadata"]["name"] for c in seen] == ["archive-rpc-0", "archive-rpc-2"]
