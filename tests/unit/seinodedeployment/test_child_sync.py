"""Syncing an existing child replaces the fields the reference replaces wholesale (spec 4.8):
a merge patch must null what the template dropped."""

from __future__ import annotations

from controllers.seinodedeployment.children import child_sync_patch, desired_child

from .fakes import apply_merge_patch
from .fixtures import group

ENTRYPOINT = {"command": ["seid"], "args": ["start", "--home", "/sei"]}


def test_dropping_the_args_removes_them_from_the_child() -> None:
    old = group(spec__template__spec__entrypoint=ENTRYPOINT)
    new = group(spec__template__spec__entrypoint={"command": ["seid"]})
    existing = desired_child(old, 0, "1")
    synced = apply_merge_patch(existing, child_sync_patch(new, existing, 0))
    assert synced["spec"]["entrypoint"] == {"command": ["seid"]}


def test_dropping_the_entrypoint_removes_it_from_the_child() -> None:
    existing = desired_child(group(spec__template__spec__entrypoint=ENTRYPOINT), 0, "1")
    synced = apply_merge_patch(existing, child_sync_patch(group(), existing, 0))
    assert "entrypoint" not in synced["spec"]


def test_a_synced_child_needs_no_further_patch() -> None:
    old = group(spec__template__spec__entrypoint=ENTRYPOINT)
    new = group(spec__template__spec__entrypoint={"command": ["sh"], "args": ["-c"]})
    existing = desired_child(old, 0, "1")
    synced = apply_merge_patch(existing, child_sync_patch(new, existing, 0))
    assert child_sync_patch(new, synced, 0) == {}


def test_after_a_failed_rollout_sync_leaves_the_hashed_fields_alone() -> None:
    old = group(spec__template__spec__entrypoint=ENTRYPOINT)
    new = group(
        spec__template__spec__image="ghcr.io/sei-protocol/seid:v9",
        spec__template__spec__entrypoint={"command": ["sh"]},
        spec__template__metadata={"labels": {"team": "rpc"}},
    )
    existing = desired_child(old, 0, "1")
    patch = child_sync_patch(new, existing, 0, rollout_fields=False)
    assert patch == {"metadata": {"labels": {"team": "rpc"}}}
