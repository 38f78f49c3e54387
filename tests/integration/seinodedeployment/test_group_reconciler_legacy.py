"""A group stored before ``updateStrategy`` existed (spec 4.1 migration note, 8.5; decision
F11): the rollout is recorded as InPlace, planned by that strategy, and a Warning asks for the
manifest to be fixed.

Today's CRD requires ``updateStrategy``, so such an object can only exist if it was stored
under an older schema. The fixture does exactly that: it serves a copy of the CRD without the
requirement while the group is created and changed, then restores the real CRD before the
reconciler sees the group."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml

from api.v1alpha1.template_hash import template_hash
from controller_runtime.envtest import ControlPlane, eventually

from .conftest import CRD_DIR, GROUP, IMAGE_V1, IMAGE_V2, GroupHarness, group_manifest, images

CRD_FILE = CRD_DIR / "sei.io_seinodedeployments.yaml"
NAMES = [f"{GROUP}-{i}" for i in range(3)]

LegacySchema = Callable[[], Awaitable[None]]


def _without_required_update_strategy(crd: dict[str, Any]) -> dict[str, Any]:
    legacy = copy.deepcopy(crd)
    for version in legacy["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec["required"] = [f for f in spec["required"] if f != "updateStrategy"]
    return legacy


@pytest_asyncio.fixture(loop_scope="session")
async def legacy_schema(
    sei_crds: list[dict[str, Any]], control_plane: ControlPlane, tmp_path: Path
) -> AsyncIterator[LegacySchema]:
    """Serves the pre-updateStrategy schema now; the returned function (and teardown, in any
    case) restores the real CRD."""
    legacy_dir = tmp_path / "legacy-crd"
    legacy_dir.mkdir()
    legacy = _without_required_update_strategy(yaml.safe_load(CRD_FILE.read_text()))
    (legacy_dir / CRD_FILE.name).write_text(yaml.safe_dump(legacy))
    probe = group_manifest("default")
    probe["metadata"]["name"] = "schema-probe"
    del probe["spec"]["updateStrategy"]
    kube = control_plane.rest

    async def legacy_served() -> bool:
        # A CRD's new schema reaches the serving handler a moment after it is Established:
        # ask the server itself (a dry-run create) which schema it applies.
        status, _ = await kube.request(
            "POST",
            "/apis/sei.io/v1alpha1/namespaces/default/seinodedeployments?dryRun=All",
            probe,
            ok=(201, 422),
        )
        return status == 201

    await control_plane.install_crds([legacy_dir])
    await eventually(legacy_served, timeout=60, message="legacy schema served")

    async def restore() -> None:
        await control_plane.install_crds([CRD_FILE])
        await eventually(
            legacy_served, lambda served: not served, timeout=60, message="real schema served"
        )

    try:
        yield restore
    finally:
        await restore()


async def _legacy_group_changed(harness: GroupHarness, restore: LegacySchema) -> None:
    """A steady legacy group (children Running on v1) whose template now says v2."""
    manifest = group_manifest(harness.namespace)
    del manifest["spec"]["updateStrategy"]
    await harness.kube.create(manifest)
    await harness.reconcile()
    await harness.set_child_phases("Running", "Running", "Running")
    await harness.reconcile()
    await harness.set_image(IMAGE_V2)
    await restore()
    harness.recorder.clear()


async def test_the_legacy_group_really_has_no_update_strategy(
    harness: GroupHarness, legacy_schema: LegacySchema
) -> None:
    await _legacy_group_changed(harness, legacy_schema)
    assert "updateStrategy" not in (await harness.group_obj())["spec"]


async def test_empty_update_strategy_records_an_inplace_rollout(
    harness: GroupHarness, legacy_schema: LegacySchema
) -> None:
    await _legacy_group_changed(harness, legacy_schema)
    await harness.reconcile()
    group = await harness.group()
    rollout = group.status.rollout
    assert rollout is not None
    assert rollout.strategy == "InPlace"
    assert rollout.incumbent_nodes == NAMES
    assert group.status.is_condition_true("RolloutInProgress")


async def test_empty_update_strategy_plans_inplace(
    harness: GroupHarness, legacy_schema: LegacySchema
) -> None:
    await _legacy_group_changed(harness, legacy_schema)
    await harness.reconcile()
    plan = (await harness.group()).status.plan
    assert plan is not None
    assert [t.type for t in plan.tasks] == [
        "update-node-specs",
        "await-spec-update",
        "mark-nodes-ready",
    ]
    await harness.reconcile()
    assert images(await harness.children()) == [IMAGE_V2] * 3


async def test_empty_update_strategy_warns_to_fix_the_manifest(
    harness: GroupHarness, legacy_schema: LegacySchema
) -> None:
    await _legacy_group_changed(harness, legacy_schema)
    await harness.reconcile()
    group = await harness.group()
    target = template_hash(group.spec.template.spec)[:8]
    assert harness.events() == [
        "Warning UpdateStrategyMissing "
        "updateStrategy.type is empty, treating as InPlace — update the manifest",
        f"Normal RolloutStarted InPlace rollout started (strategy: InPlace, target: {target})",
        "Normal PlanStarted Plan execution started",
    ]


async def test_a_legacy_group_without_changes_starts_nothing(
    harness: GroupHarness, legacy_schema: LegacySchema
) -> None:
    manifest = group_manifest(harness.namespace)
    del manifest["spec"]["updateStrategy"]
    await harness.kube.create(manifest)
    await legacy_schema()
    await harness.reconcile()
    await harness.reconcile()
    assert images(await harness.children()) == [IMAGE_V1] * 3
    assert (await harness.group()).status.rollout is None
    assert "UpdateStrategyMissing" not in harness.reasons()
