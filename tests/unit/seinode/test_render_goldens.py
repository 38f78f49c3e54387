"""Our rendering equals what the reference operator wrote for the same SeiNode (goldens).

Each golden child is projected onto the field set its writer owns (managedFields): for the
server-side applied StatefulSet and headless Service that is exactly the apply body the
reference sent; for the created PVC, bootstrap Service and Job the API server's defaults are
removed first (tests.fixtures.goldens.SERVER_DEFAULTED). Equality of the whole dict means: every
field the reference wrote we render with the same value (scripts byte for byte), and we render
nothing it did not.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from api.v1alpha1 import SeiNode
from controllers.platform import Platform
from controllers.seinode import render
from tests.fixtures.goldens import (
    APPLY_MANAGER,
    CREATE_MANAGER,
    GOLDENS_DIR,
    SERVER_DEFAULTED,
    GoldenChild,
    golden_children,
    golden_platform,
    renderer_for,
)
from tests.fixtures.managed_fields import applied_by, field_set, without_paths

CHILDREN = golden_children()


def _written_by_reference(child: GoldenChild) -> dict[str, Any]:
    if child.is_applied():
        fields = field_set(child.obj, APPLY_MANAGER, "Apply")
    else:
        fields = without_paths(
            field_set(child.obj, CREATE_MANAGER, "Update"), SERVER_DEFAULTED[child.kind]
        )
    return applied_by(child.obj, fields)


@pytest.fixture(scope="module")
def platform() -> Platform:
    return golden_platform()


def test_goldens_cover_every_rendered_kind() -> None:
    kinds = {(child.kind, child.is_applied()) for child in CHILDREN}
    assert kinds == {
        ("StatefulSet", True),
        ("Service", True),
        ("Service", False),
        ("PersistentVolumeClaim", False),
        ("Job", False),
    }


@pytest.mark.parametrize("child", CHILDREN, ids=lambda child: child.id)
def test_rendering_equals_what_the_reference_wrote(child: GoldenChild, platform: Platform) -> None:
    rendered = renderer_for(child)(child.seinode(), platform)
    assert rendered == _written_by_reference(child)


@pytest.mark.parametrize("scenario", ["seinode-full-node", "seinode-shadow-replayer"])
def test_manifest_as_written_renders_like_the_stored_node(
    scenario: str, platform: Platform
) -> None:
    # The stored SeiNode carries CRD defaults (sidecar.port 7777); the user's manifest does
    # not, and must render the same objects.
    manifest = yaml.safe_load((GOLDENS_DIR / scenario / "input.yaml").read_text())
    stored = next(child.seinode() for child in CHILDREN if child.scenario == scenario)
    manifest["metadata"]["uid"] = stored.metadata.uid
    from_manifest = SeiNode.from_dict(manifest)
    renderers = [render.render_pvc, render.render_statefulset, render.render_headless_service]
    if render.needs_bootstrap(stored):
        renderers += [render.render_bootstrap_service, render.render_bootstrap_job]
    for renderer in renderers:
        assert renderer(from_manifest, platform) == renderer(stored, platform)
