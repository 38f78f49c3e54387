"""The InPlace rollout's tasks on an in-memory cluster (spec 6.7.4; 11.1 TestUpdateNodeSpecs_*,
TestAwaitSpecUpdate_*, TestMarkNodesReady_*; decisions F3, F5, F10)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.v1alpha1 import Resource, RolloutStatus, SeiNode, SeiNodeDeployment, UpdateStrategyType
from controllers.operator import group_task_registry
from controllers.plan.engine import Task, TaskContext, TaskState, TerminalTaskError
from controllers.seinode.render import render_statefulset
from controllers.seinodedeployment.children import desired_child
from controllers.seinodedeployment.inplace_tasks import NodeNamesParams
from tests.fixtures.platform import platform_for_tests

from .fakes import FakeKube, NodeSidecar, NodeSidecars
from .fixtures import group

V1, V2 = "ghcr.io/sei-protocol/sei:v1.0.0", "ghcr.io/sei-protocol/sei:v2.0.0"
SIDECAR_V1, SIDECAR_V2 = "ghcr.io/sei-protocol/seictl:v1", "ghcr.io/sei-protocol/seictl:v2"
TEMPLATE_V1 = {"image": V1, "sidecar": {"image": SIDECAR_V1, "port": 7777}}
TEMPLATE_V2 = {"image": V2, "sidecar": {"image": SIDECAR_V2, "port": 7777}}


def _wave(generation: int, template: dict[str, Any]) -> SeiNodeDeployment:
    spec = group().spec.template.spec.to_dict() | template
    return group(metadata__name="wave", metadata__generation=generation, spec__template__spec=spec)


def _rolling_group() -> SeiNodeDeployment:
    """Generation 2 rolls the template from v1 (revision 1) to v2 (revision 2)."""
    grp = _wave(2, TEMPLATE_V2)
    grp.status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash="h2",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        incumbent_nodes=["wave-0", "wave-1"],
        incumbent_revision="1",
        entrant_revision="2",
    )
    return grp


def _node_v1(ordinal: int) -> dict[str, Any]:
    return desired_child(_wave(1, TEMPLATE_V1), ordinal, "1")


def _node_v2(ordinal: int, current_image: str | None = V2) -> dict[str, Any]:
    node = desired_child(_wave(2, TEMPLATE_V2), ordinal, "2")
    node["metadata"]["uid"] = f"00000000-0000-4000-8000-00000000000{ordinal}"
    node["status"] = {"phase": "Running", "currentImage": current_image}
    return node


def _statefulset(node: dict[str, Any], ready: bool = True) -> dict[str, Any]:
    """The node's StatefulSet as our renderer writes it, rolled out by the StatefulSet
    controller (observedGeneration caught up, every replica updated)."""
    sts = render_statefulset(SeiNode.from_dict(node), platform_for_tests())
    sts["metadata"]["generation"] = 2
    sts["status"] = {
        "replicas": 1,
        "observedGeneration": 2,
        "updatedReplicas": 1,
        "readyReplicas": 1 if ready else 0,
    }
    return sts


def _task(
    kube: FakeKube,
    task_type: str,
    params: dict[str, Any],
    owner: Resource | None = None,
    sidecars: NodeSidecars | None = None,
) -> Task:
    def no_assembler() -> Any:
        raise AssertionError("InPlace tasks never use the owner's own sidecar")

    ctx = TaskContext.for_owner(
        owner or _rolling_group(),
        client=kube,
        sidecar=no_assembler,
        sidecars=sidecars if sidecars is not None else NodeSidecars(),
    )
    return group_task_registry().build(ctx, task_type, "task-id", params)


def _update(kube: FakeKube, *names: str, owner: Resource | None = None) -> Task:
    params = {"groupName": "wave", "namespace": "sei", "nodeNames": list(names)}
    return _task(kube, "update-node-specs", params, owner)


def _nodes_params(*names: str) -> dict[str, Any]:
    return {"namespace": "sei", "nodeNames": list(names)}


def _spec(kube: FakeKube, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = kube.stored("sei.io/v1alpha1", "SeiNode", name, "sei")["spec"]
    return spec


# --- update-node-specs ----------------------------------------------------------------------


async def test_update_node_specs_patches_image_and_sidecar_image() -> None:
    kube = FakeKube()
    kube.add(_node_v1(0))
    task = _update(kube, "wave-0")
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert _spec(kube, "wave-0")["image"] == V2
    assert _spec(kube, "wave-0")["sidecar"] == {"image": SIDECAR_V2, "port": 7777}


async def test_update_node_specs_moves_image_and_revision_in_one_patch() -> None:
    kube = FakeKube()
    kube.add(_node_v1(0), _node_v1(1))
    await _update(kube, "wave-0", "wave-1").execute()
    assert sorted((verb, name) for verb, name, _ in kube.writes) == [
        ("patch", "wave-0"),
        ("patch", "wave-1"),
    ]
    patch = next(body for _, name, body in kube.writes if name == "wave-0")
    assert patch["spec"]["image"] == V2
    assert patch["spec"]["podLabels"] == {"sei.io/revision": "2"}
    assert patch["metadata"]["labels"] == {"sei.io/revision": "2"}


async def test_update_node_specs_skips_a_node_already_on_the_template() -> None:
    kube = FakeKube()
    kube.add(_node_v2(0))
    task = _update(kube, "wave-0")
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert _spec(kube, "wave-0")["image"] == V2
    assert kube.writes == []


async def test_update_node_specs_keeps_foreign_labels_and_pod_labels() -> None:
    node = _node_v1(0)
    node["metadata"]["labels"]["team"] = "rpc"
    node["spec"]["podLabels"]["istio"] = "on"
    kube = FakeKube()
    kube.add(node)
    await _update(kube, "wave-0").execute()
    stored = kube.stored("sei.io/v1alpha1", "SeiNode", "wave-0", "sei")
    assert stored["metadata"]["labels"]["team"] == "rpc"
    assert stored["spec"]["podLabels"]["istio"] == "on"


async def test_update_node_specs_keeps_the_childs_ordinal() -> None:
    kube = FakeKube()
    kube.add(_node_v1(1))
    await _update(kube, "wave-1").execute()
    labels = kube.stored("sei.io/v1alpha1", "SeiNode", "wave-1", "sei")["metadata"]["labels"]
    assert labels["sei.io/nodedeployment-ordinal"] == "1"


async def test_update_node_specs_skips_a_node_scaled_away() -> None:
    kube = FakeKube()
    task = _update(kube, "wave-0")
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert kube.writes == []


async def test_update_node_specs_is_terminal_for_an_owner_that_is_no_group() -> None:
    kube = FakeKube()
    kube.add(_node_v1(0))
    owner = SeiNode.from_dict(_node_v1(0))
    with pytest.raises(TerminalTaskError):
        await _update(kube, "wave-0", owner=owner).execute()


# --- await-spec-update ----------------------------------------------------------------------


async def _await_spec(kube: FakeKube, *names: str) -> TaskState:
    task = _task(kube, "await-spec-update", _nodes_params(*names))
    await task.execute()
    return await task.status()


async def test_await_spec_update_completes_when_converged() -> None:
    kube = FakeKube()
    for ordinal in (0, 1):
        node = _node_v2(ordinal)
        kube.add(node, _statefulset(node))
    assert await _await_spec(kube, "wave-0", "wave-1") == TaskState.COMPLETE


async def test_await_spec_update_running_when_not_converged() -> None:
    kube = FakeKube()
    converged, behind = _node_v2(0), _node_v2(1, current_image=V1)
    kube.add(converged, _statefulset(converged), behind, _statefulset(behind))
    assert await _await_spec(kube, "wave-0", "wave-1") == TaskState.RUNNING


async def test_await_spec_update_running_when_node_not_found() -> None:
    kube = FakeKube()
    node = _node_v2(0)
    kube.add(node, _statefulset(node))
    assert await _await_spec(kube, "wave-0", "wave-1") == TaskState.RUNNING


async def test_await_spec_update_running_while_the_old_sidecar_is_rolled_out() -> None:
    # F10: the seid image converged, but the pod template still runs the old sidecar.
    kube = FakeKube()
    node = _node_v2(0)
    old_pod = _node_v2(0)
    old_pod["spec"]["sidecar"]["image"] = SIDECAR_V1
    kube.add(node, _statefulset(old_pod))
    assert await _await_spec(kube, "wave-0") == TaskState.RUNNING


async def test_await_spec_update_running_without_a_statefulset() -> None:
    kube = FakeKube()
    kube.add(_node_v2(0))
    assert await _await_spec(kube, "wave-0") == TaskState.RUNNING


async def test_await_spec_update_completes_on_the_default_sidecar() -> None:
    # A template without a sidecar image rolls out the renderer's default sidecar.
    grp = _wave(2, {"image": V2, "sidecar": {"port": 7777}})
    node = desired_child(grp, 0, "2")
    node["metadata"]["uid"] = "00000000-0000-4000-8000-000000000000"
    node["status"] = {"phase": "Running", "currentImage": V2}
    kube = FakeKube()
    kube.add(node, _statefulset(node))
    task = _task(kube, "await-spec-update", _nodes_params("wave-0"), owner=grp)
    assert await task.status() == TaskState.COMPLETE


# --- mark-nodes-ready -----------------------------------------------------------------------


def test_mark_nodes_ready_deserializes() -> None:
    task = _task(FakeKube(), "mark-nodes-ready", _nodes_params("wave-0", "wave-1"))
    params = getattr(task, "params", None)
    assert isinstance(params, NodeNamesParams)
    assert (params.namespace, params.node_names) == ("sei", ["wave-0", "wave-1"])


async def test_mark_nodes_ready_starts_running() -> None:
    kube = FakeKube()
    node = _node_v2(0)
    kube.add(node, _statefulset(node))
    sidecars = NodeSidecars({"wave-0": NodeSidecar("wave-0", reachable=False)})
    task = _task(kube, "mark-nodes-ready", _nodes_params("wave-0"), sidecars=sidecars)
    await task.execute()
    assert await task.status() == TaskState.RUNNING


async def test_mark_nodes_ready_releases_each_sidecar_with_mark_ready_without_id() -> None:
    kube = FakeKube()
    for ordinal in (0, 1):
        node = _node_v2(ordinal)
        kube.add(node, _statefulset(node))
    sidecars = NodeSidecars()
    task = _task(kube, "mark-nodes-ready", _nodes_params("wave-0", "wave-1"), sidecars=sidecars)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert {name: s.submissions for name, s in sidecars.by_name.items()} == {
        "wave-0": [("mark-ready", None, None)],
        "wave-1": [("mark-ready", None, None)],
    }


async def test_mark_nodes_ready_addresses_the_nodes_sidecar_port() -> None:
    kube = FakeKube()
    node = _node_v2(0)
    node["spec"]["sidecar"]["port"] = 7788
    kube.add(node, _statefulset(node))
    sidecars = NodeSidecars()
    task = _task(kube, "mark-nodes-ready", _nodes_params("wave-0"), sidecars=sidecars)
    await task.status()
    assert sidecars.calls[0] == ("wave-0", "sei", 7788)


async def test_mark_nodes_ready_does_not_resubmit_to_a_ready_sidecar() -> None:
    kube = FakeKube()
    node = _node_v2(0)
    kube.add(node, _statefulset(node))
    sidecars = NodeSidecars({"wave-0": NodeSidecar("wave-0", ready=True)})
    task = _task(kube, "mark-nodes-ready", _nodes_params("wave-0"), sidecars=sidecars)
    assert await task.status() == TaskState.COMPLETE
    assert sidecars.by_name["wave-0"].submissions == []


async def test_mark_nodes_ready_running_while_a_pod_is_not_ready() -> None:
    kube = FakeKube()
    node = _node_v2(0)
    kube.add(node, _statefulset(node, ready=False))
    task = _task(kube, "mark-nodes-ready", _nodes_params("wave-0"), sidecars=NodeSidecars())
    assert await task.status() == TaskState.RUNNING


async def test_mark_nodes_ready_running_when_node_not_found() -> None:
    task = _task(FakeKube(), "mark-nodes-ready", _nodes_params("wave-0"))
    assert await task.status() == TaskState.RUNNING
