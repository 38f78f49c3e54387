"""Our rendered children on the real API server: accepted, owning exactly the reference's field
sets, and adopting what the reference wrote without a change (no pod restart).

The reference server-side applies the StatefulSet and headless Service as seinode-controller
(force) and creates the PVC, the bootstrap Service and the bootstrap Job as "manager"; each test
writes ours the same way next to a SeiNode with the golden's name and spec.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.v1alpha1 import SeiNode
from controller_runtime.client import Client
from controllers.platform import Platform
from controllers.seinode import render
from tests.fixtures.goldens import (
    APPLY_MANAGER,
    CREATE_MANAGER,
    GoldenChild,
    Renderer,
    golden_child,
    golden_children,
    golden_platform,
    renderer_for,
)
from tests.fixtures.managed_fields import applied_by, field_set
from tests.integration.seinode.conftest import CreateSeiNode

pytestmark = pytest.mark.integration

CHILDREN = golden_children()
APPLIED = [child for child in CHILDREN if child.is_applied()]
CREATED = [child for child in CHILDREN if not child.is_applied()]
FULL_NODE_STS = golden_child("seinode-full-node/StatefulSet/pacific-1-full-node")
FULL_NODE_SVC = golden_child("seinode-full-node/Service/pacific-1-full-node")


@pytest.fixture(scope="module")
def platform() -> Platform:
    return golden_platform()


def _with_uid(value: Any, old_uid: str, new_uid: str) -> Any:
    """``value`` (JSON) with the golden owner's uid replaced by ours (field keys included)."""
    return json.loads(json.dumps(value).replace(old_uid, new_uid))


async def _owner_like(child: GoldenChild, create_seinode: CreateSeiNode) -> SeiNode:
    return await create_seinode(child.node["metadata"]["name"], child.node["spec"])


def _golden_fields(child: GoldenChild, manager: str, operation: str, node: SeiNode) -> Any:
    """The golden's field set of ``manager``, owned by ``node`` instead of the golden owner."""
    fields = field_set(child.obj, manager, operation)
    return _with_uid(fields, child.node["metadata"]["uid"], node.metadata.uid or "")


@pytest.mark.parametrize("child", APPLIED, ids=lambda child: child.id)
async def test_applied_child_owns_the_references_field_set(
    child: GoldenChild, create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    node = await _owner_like(child, create_seinode)
    rendered = renderer_for(child)(node, platform)
    stored = await kube.apply(rendered, field_manager=APPLY_MANAGER, force=True)
    expected = _golden_fields(child, APPLY_MANAGER, "Apply", node)
    assert field_set(stored, APPLY_MANAGER, "Apply") == expected


@pytest.mark.parametrize("child", CREATED, ids=lambda child: child.id)
async def test_created_child_owns_the_references_field_set(
    child: GoldenChild, create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    node = await _owner_like(child, create_seinode)
    stored = await kube.create(renderer_for(child)(node, platform), field_manager=CREATE_MANAGER)
    expected = _golden_fields(child, CREATE_MANAGER, "Update", node)
    assert field_set(stored, CREATE_MANAGER, "Update") == expected


async def _adopt(
    child: GoldenChild, create_seinode: CreateSeiNode, kube: Client
) -> tuple[SeiNode, dict[str, Any]]:
    """A SeiNode and its child as the reference wrote it (its apply body, re-applied here)."""
    node = await _owner_like(child, create_seinode)
    written = applied_by(child.obj, field_set(child.obj, APPLY_MANAGER, "Apply"))
    written = _with_uid(written, child.node["metadata"]["uid"], node.metadata.uid or "")
    written["metadata"]["namespace"] = node.metadata.namespace
    stored = await kube.apply(written, field_manager=APPLY_MANAGER, force=True)
    return node, stored


async def test_adopted_statefulset_keeps_its_generation(
    create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    node, before = await _adopt(FULL_NODE_STS, create_seinode, kube)
    after = await kube.apply(
        render.render_statefulset(node, platform), field_manager=APPLY_MANAGER, force=True
    )
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


async def test_adopted_headless_service_is_not_written_at_all(
    create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    # No controller writes a Service object, so its resourceVersion moves only if we wrote.
    # (A StatefulSet's moves with status updates; its generation is the spec's witness.)
    node, before = await _adopt(FULL_NODE_SVC, create_seinode, kube)
    after = await kube.apply(
        render.render_headless_service(node, platform), field_manager=APPLY_MANAGER, force=True
    )
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_adopted_statefulset_changes_generation_on_a_new_image(
    create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    # The control of the adoption tests: a real pod-template change is seen as one.
    node, before = await _adopt(FULL_NODE_STS, create_seinode, kube)
    node.spec.image = "ghcr.io/sei-protocol/sei:v6.4.0"
    after = await kube.apply(
        render.render_statefulset(node, platform), field_manager=APPLY_MANAGER, force=True
    )
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


BOOTSTRAP_NODE = golden_child("seinode-shadow-replayer/Job/pacific-1-shadow-replayer-bootstrap")
EVERY_RENDERER = [
    render.render_pvc,
    render.render_statefulset,
    render.render_headless_service,
    render.render_bootstrap_service,
    render.render_bootstrap_job,
]


@pytest.mark.parametrize("renderer", EVERY_RENDERER, ids=lambda renderer: renderer.__name__)
async def test_server_side_apply_stores_the_rendering_as_rendered(
    renderer: Renderer, create_seinode: CreateSeiNode, kube: Client, platform: Platform
) -> None:
    # Whether the reconciler creates or applies, the rendering is a valid apply body and the
    # server keeps every value we own exactly as we wrote it (no normalisation that would make
    # a later apply look like a change).
    node = await _owner_like(BOOTSTRAP_NODE, create_seinode)
    rendered = renderer(node, platform)
    stored = await kube.apply(rendered, field_manager=APPLY_MANAGER, force=True)
    assert applied_by(stored, field_set(stored, APPLY_MANAGER, "Apply")) == rendered
