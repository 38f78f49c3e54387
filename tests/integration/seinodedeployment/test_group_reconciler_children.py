"""Children of a group, pass by pass on the real API server (spec 4.7-4.9, 4.4, 4.5, 9.1;
decisions F4, F5)."""

from __future__ import annotations

from api.v1alpha1.template_hash import template_hash

from .conftest import GROUP, IMAGE_V1, GroupHarness, images, revisions

NAMES = [f"{GROUP}-{i}" for i in range(3)]


async def test_first_pass_adds_the_finalizer(harness: GroupHarness) -> None:
    await harness.create()
    await harness.reconcile()
    group = await harness.group()
    assert group.metadata.finalizers == ["sei.io/seinodedeployment-finalizer"]


async def test_first_pass_creates_the_children_with_labels_and_owner(
    harness: GroupHarness,
) -> None:
    created = await harness.create()
    await harness.reconcile()
    children = await harness.children()
    assert [c["metadata"]["name"] for c in children] == NAMES
    for ordinal, child in enumerate(children):
        assert child["metadata"]["labels"] == {
            "sei.io/nodedeployment": GROUP,
            "sei.io/nodedeployment-ordinal": str(ordinal),
            "sei.io/revision": "1",
        }
        assert child["spec"]["podLabels"] == {
            "sei.io/nodedeployment": GROUP,
            "sei.io/revision": "1",
        }
        assert child["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "sei.io/v1alpha1",
                "kind": "SeiNodeDeployment",
                "name": GROUP,
                "uid": created["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    assert images(children) == [IMAGE_V1] * 3


async def test_each_created_child_is_an_event(harness: GroupHarness) -> None:
    await harness.create()
    await harness.reconcile()
    assert harness.events("SeiNodeCreated") == [
        f"Normal SeiNodeCreated Created SeiNode {name}" for name in NAMES
    ]


async def test_first_status_counts_the_children_and_records_the_baseline(
    harness: GroupHarness,
) -> None:
    await harness.create()
    await harness.reconcile()
    group = await harness.group()
    status = group.status
    assert [n.name for n in status.nodes or []] == NAMES
    assert (status.replicas, status.ready_replicas) == (3, 0)
    assert status.incumbent_nodes is None  # children are found before they exist
    assert status.observed_generation == 1
    assert status.template_hash == template_hash(group.spec.template.spec)
    assert status.phase == "Initializing"


async def test_running_children_make_the_group_ready(harness: GroupHarness) -> None:
    group = await harness.steady_group()
    status = group.status
    assert status.phase == "Ready"
    assert status.ready_replicas == 3
    assert status.incumbent_nodes == NAMES
    assert [(n.name, n.phase) for n in status.nodes or []] == [(n, "Running") for n in NAMES]
    nodes_ready = status.condition("NodesReady")
    assert nodes_ready is not None
    assert (nodes_ready.status, nodes_ready.reason, nodes_ready.message) == (
        "True",
        "AllNodesReady",
        "3/3 nodes ready",
    )


async def test_scale_up_creates_only_the_new_ordinals(harness: GroupHarness) -> None:
    await harness.steady_group()
    await harness.patch_spec({"replicas": 5})
    await harness.reconcile()
    children = await harness.children()
    assert [c["metadata"]["name"] for c in children] == [f"{GROUP}-{i}" for i in range(5)]
    assert harness.events("SeiNodeCreated") == [
        f"Normal SeiNodeCreated Created SeiNode {GROUP}-3",
        f"Normal SeiNodeCreated Created SeiNode {GROUP}-4",
    ]


async def test_new_children_get_their_siblings_revision(harness: GroupHarness) -> None:
    # F4: the generation is 2 after the replicas change, but no template changed.
    await harness.steady_group()
    await harness.patch_spec({"replicas": 4})
    await harness.reconcile()
    assert revisions(await harness.children()) == [("1", "1")] * 4


async def test_scaling_leaves_existing_children_untouched(harness: GroupHarness) -> None:
    # F4: a replicas change restarts no pod, so no existing child is written at all.
    await harness.steady_group()
    before = {c["metadata"]["name"]: c for c in await harness.children()}
    await harness.patch_spec({"replicas": 5})
    await harness.reconcile()
    await harness.patch_spec({"replicas": 3})
    await harness.reconcile()
    after = {c["metadata"]["name"]: c for c in await harness.children()}
    assert sorted(after) == NAMES
    for name in NAMES:
        assert (
            after[name]["metadata"]["resourceVersion"]
            == (before[name]["metadata"]["resourceVersion"])
        )


async def test_scale_down_deletes_the_highest_ordinals(harness: GroupHarness) -> None:
    await harness.steady_group()
    await harness.patch_spec({"replicas": 1})
    await harness.reconcile()
    children = await harness.children()
    assert [c["metadata"]["name"] for c in children] == [f"{GROUP}-0"]
    assert harness.events("SeiNodeDeleted") == [
        f"Normal SeiNodeDeleted Scaled down SeiNode {GROUP}-1",
        f"Normal SeiNodeDeleted Scaled down SeiNode {GROUP}-2",
    ]


async def test_status_after_scale_down_counts_the_remaining_children(
    harness: GroupHarness,
) -> None:
    await harness.steady_group()
    await harness.patch_spec({"replicas": 2})
    await harness.reconcile()
    status = (await harness.group()).status
    assert [n.name for n in status.nodes or []] == NAMES[:2]
    assert (status.replicas, status.ready_replicas, status.phase) == (2, 2, "Ready")
    assert status.observed_generation == 2


async def test_foreign_labels_and_annotations_on_children_are_kept(
    harness: GroupHarness,
) -> None:
    # F5: a template label change is propagated key-wise; what others added stays.
    await harness.steady_group()
    child = await harness.child(f"{GROUP}-0")
    await harness.kube.patch(
        child,
        {
            "metadata": {
                "labels": {"team": "rpc"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            }
        },
    )
    await harness.patch_spec({"template": {"metadata": {"labels": {"tier": "archive"}}}})
    await harness.reconcile()
    meta = (await harness.child(f"{GROUP}-0"))["metadata"]
    assert meta["labels"]["team"] == "rpc"
    assert meta["labels"]["tier"] == "archive"
    assert meta["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "{}"}


async def test_a_template_label_change_does_not_touch_the_childrens_spec(
    harness: GroupHarness,
) -> None:
    await harness.steady_group()
    before = [c["metadata"]["generation"] for c in await harness.children()]
    await harness.patch_spec({"template": {"metadata": {"labels": {"tier": "archive"}}}})
    await harness.reconcile()
    assert [c["metadata"]["generation"] for c in await harness.children()] == before


async def test_children_of_another_owner_are_not_counted(harness: GroupHarness) -> None:
    await harness.steady_group()
    child = await harness.child(f"{GROUP}-2")
    await harness.kube.patch(child, {"metadata": {"ownerReferences": None}})
    await harness.patch_spec({"replicas": 2})
    await harness.reconcile()
    status = (await harness.group()).status
    assert [n.name for n in status.nodes or []] == NAMES[:2]
    # Not ours to delete: scale-down only removes children this group controls.
    assert [c["metadata"]["name"] for c in await harness.children()] == NAMES


async def test_gauges_after_a_pass(harness: GroupHarness) -> None:
    await harness.steady_group()
    ns = harness.namespace
    phase = "sei_controller_seinodedeployment_phase"
    assert harness.metric(phase, namespace=ns, name=GROUP, phase="Ready") == 1
    for other in ("Pending", "Initializing", "Upgrading", "Degraded", "Failed", "Terminating"):
        assert harness.metric(phase, namespace=ns, name=GROUP, phase=other) == 0
    replicas = "sei_controller_seinodedeployment_replicas"
    assert harness.metric(replicas, namespace=ns, name=GROUP, type="desired") == 3
    assert harness.metric(replicas, namespace=ns, name=GROUP, type="ready") == 3
    condition = "sei_controller_seinodedeployment_condition"
    nodes_ready = {"namespace": ns, "name": GROUP, "type": "NodesReady"}
    assert harness.metric(condition, **nodes_ready, status="True") == 1
    assert harness.metric(condition, **nodes_ready, status="False") == 0
    assert harness.metric(condition, **nodes_ready, status="Unknown") == 0


async def test_gauges_follow_the_children(harness: GroupHarness) -> None:
    await harness.steady_group()
    await harness.set_child_phases("Running", "Failed", "Running")
    await harness.reconcile()
    ns = harness.namespace
    phase = "sei_controller_seinodedeployment_phase"
    assert harness.metric(phase, namespace=ns, name=GROUP, phase="Degraded") == 1
    assert harness.metric(phase, namespace=ns, name=GROUP, phase="Ready") == 0
    replicas = "sei_controller_seinodedeployment_replicas"
    assert harness.metric(replicas, namespace=ns, name=GROUP, type="ready") == 2
    condition = "sei_controller_seinodedeployment_condition"
    nodes_ready = {"namespace": ns, "name": GROUP, "type": "NodesReady"}
    assert harness.metric(condition, **nodes_ready, status="False") == 1
