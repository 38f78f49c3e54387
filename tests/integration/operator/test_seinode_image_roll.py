"""Changing the image of a Running SeiNode (issue 10 acceptance; spec 3.4, 3.5, decisions F1,
F2): the StatefulSet rolls the pod, `status.currentImage` follows only once the roll really
happened, and the fresh sidecar of the new pod is released by the SeiNode controller itself.

All on real `seictl serve` through the local fleet, which restarts a node's sidecar when its pod
is replaced (same home directory, so the task store survives and readiness does not).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from controller_runtime.client import Client
from controller_runtime.client.errors import NotFoundError
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory, OperatorHarness, holds_for, phase_is, seinode

OLD_IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"
NEW_IMAGE = "ghcr.io/sei-protocol/sei:v6.3.1"
HOLD = "sei.io/e2e-hold"


def _seid_image(pod_or_template_spec: dict[str, Any]) -> str:
    containers = pod_or_template_spec["containers"]
    image: str = next(c["image"] for c in containers if c["name"] == "seid")
    return image


def _ready(pod: dict[str, Any] | None) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def _running(op: OperatorHarness, name: str) -> dict[str, Any]:
    """Creates the node and waits until it runs OLD_IMAGE on a Ready pod; returns the pod."""
    await op.kube.create(seinode(name, op.namespace, image=OLD_IMAGE))
    await op.wait_node(
        name, lambda n: phase_is("Running")(n) and n["status"].get("currentImage") == OLD_IMAGE
    )
    pod = await eventually(lambda: op.get("v1", "Pod", f"{name}-0"), _ready, timeout=120)
    assert pod is not None
    return pod


async def _set_image(op: OperatorHarness, name: str, image: str) -> None:
    await op.kube.patch(await op.node(name), {"spec": {"image": image}})


@contextlib.asynccontextmanager
async def _held(kube: Client, pod: dict[str, Any]) -> AsyncIterator[None]:
    """The pod cannot go away while held (a finalizer): deleted, it stays Terminating, and the
    StatefulSet controller does not create its replacement. Released on exit, whatever
    happened, so a failing test leaves nothing stuck behind."""
    await kube.patch(pod, {"metadata": {"finalizers": [HOLD]}})
    try:
        yield
    finally:
        with contextlib.suppress(NotFoundError):
            await kube.patch(pod, {"metadata": {"finalizers": None}})


async def test_current_image_changes_only_after_the_statefulset_rolled(
    run_operator: OperatorFactory,
) -> None:
    async with run_operator(sidecars="seictl") as op:
        old_pod = await _running(op, "roll-0")
        async with _held(op.kube, old_pod):
            await _set_image(op, "roll-0", NEW_IMAGE)
            # The operator applied the new template and the StatefulSet controller acted on it:
            # it deleted the old pod, which the hold keeps Terminating.
            await eventually(
                lambda: op.get("apps/v1", "StatefulSet", "roll-0"),
                lambda sts: (
                    sts is not None
                    and _seid_image(sts["spec"]["template"]["spec"]) == NEW_IMAGE
                    and sts["status"].get("observedGeneration") == sts["metadata"]["generation"]
                ),
                timeout=120,
                message="new template observed by the StatefulSet controller",
            )
            await eventually(
                lambda: op.get("v1", "Pod", "roll-0-0"),
                lambda pod: pod is not None and "deletionTimestamp" in pod["metadata"],
                timeout=120,
                message="old pod Terminating",
            )

            async def observed() -> dict[str, Any]:
                node = await op.node("roll-0")
                sts = await op.get("apps/v1", "StatefulSet", "roll-0")
                pod = await op.get("v1", "Pod", "roll-0-0")
                assert sts is not None
                assert pod is not None
                status = sts["status"]
                return {
                    "currentImage": node["status"].get("currentImage"),
                    "generation": sts["metadata"]["generation"],
                    "observedGeneration": status.get("observedGeneration"),
                    "updatedReplicas": status.get("updatedReplicas", 0),
                    "rolled": status.get("updateRevision") == status.get("currentRevision"),
                    "pod": pod["metadata"]["uid"],
                }

            not_yet = {
                "currentImage": OLD_IMAGE,
                "updatedReplicas": 0,
                "rolled": False,
                "pod": old_pod["metadata"]["uid"],
            }

            def not_rolled(seen: dict[str, Any]) -> bool:
                return seen["observedGeneration"] == seen["generation"] and not_yet.items() <= (
                    seen.items()
                )

            await holds_for(observed, not_rolled, seconds=3.0, polls=7)

        new_pod = await eventually(
            lambda: op.get("v1", "Pod", "roll-0-0"),
            lambda pod: pod is not None and pod["metadata"]["uid"] != old_pod["metadata"]["uid"],
            timeout=120,
            message="replacement pod",
        )
        assert new_pod is not None
        assert _seid_image(new_pod["spec"]) == NEW_IMAGE
        node = await op.wait_node("roll-0", lambda n: n["status"].get("currentImage") == NEW_IMAGE)
        assert node["status"]["phase"] == "Running"
        sts = await op.get("apps/v1", "StatefulSet", "roll-0")
        assert sts is not None
        assert sts["status"]["updatedReplicas"] == sts["spec"]["replicas"] == 1


async def test_the_rolled_pods_fresh_sidecar_is_marked_ready_by_the_controller(
    run_operator: OperatorFactory,
) -> None:
    """Decision F2: a standalone Running node's new pod comes with a sidecar that is
    Initializing (seid held back); nobody but the SeiNode controller submits mark-ready."""
    async with run_operator(sidecars="seictl") as op:
        old_pod = await _running(op, "heal-0")
        assert op.fleet is not None
        fleet = op.fleet
        first = fleet.sidecar(op.namespace, "heal-0")
        assert first is not None
        assert first.pod_uid == old_pod["metadata"]["uid"]

        await _set_image(op, "heal-0", NEW_IMAGE)
        fresh = await eventually(
            lambda: fleet.sidecar(op.namespace, "heal-0"),
            lambda sidecar: sidecar is not None and sidecar.pod_uid != first.pod_uid,
            timeout=120,
            message="a sidecar for the replacement pod",
        )
        assert fresh is not None
        # Started again for the new pod (how often in between is the fleet's business: it stops
        # a Terminating pod's sidecar and may see the pods in any order).
        assert fresh.starts > first.starts
        await eventually(
            lambda: op.sidecar_get("heal-0", "status"),
            lambda answer: answer == (200, {"status": "Ready"}),
            timeout=120,
            message="fresh sidecar Ready",
        )

        node = await op.node("heal-0")
        planned = {t["id"] for t in node["status"]["plan"]["tasks"]}
        status, listed = await op.sidecar_get("heal-0", "tasks")
        assert status == 200
        healing = [t for t in listed if t["type"] == "mark-ready" and t["id"] not in planned]
        assert healing
        assert {t["status"] for t in healing} == {"completed"}
        assert fleet.sidecar(op.namespace, "heal-0") == fresh
