"""A SeiNode from nothing to Running on the local cluster (issue 10 acceptance): the whole init
plan against real `seictl serve` processes, the pod Running/Ready, transitions as events and
metrics; and deletion leaving nothing behind."""

from __future__ import annotations

from typing import Any

from controller_runtime.client import Client
from controller_runtime.client.errors import NotFoundError
from controller_runtime.envtest import eventually

from .conftest import OperatorFactory, phase_is, seinode


async def _pod(kube: Client, name: str, namespace: str) -> dict[str, Any] | None:
    try:
        return await kube.get("v1", "Pod", f"{name}-0", namespace)
    except NotFoundError:
        return None


def _ready(pod: dict[str, Any] | None) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def test_full_node_reaches_running_on_real_seictl(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        await kube.create(seinode("full-0", namespace))
        node = await op.wait_node("full-0", phase_is("Running"))
        plan = node["status"]["plan"]
        assert plan["phase"] == "Complete"
        assert [t["type"] for t in plan["tasks"]] == [
            "configure-genesis",
            "config-apply",
            "config-validate",
            "mark-ready",
        ]
        assert all(t["status"] == "Complete" for t in plan["tasks"])
        pod = await eventually(lambda: _pod(kube, "full-0", namespace), _ready, timeout=60)
        assert pod is not None
        assert pod["status"]["phase"] == "Running"
        assert op.fleet is not None
        sidecar = op.fleet.sidecar(namespace, "full-0")
        assert sidecar is not None


async def test_phase_transitions_are_events_and_metrics(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        await kube.create(seinode("full-1", namespace))
        await op.wait_node("full-1", phase_is("Running"))
        events = await eventually(
            lambda: op.events("full-1"),
            lambda evs: len([e for e in evs if e["reason"] == "PhaseTransition"]) >= 2,
            timeout=30,
        )
        transitions_seen = [e for e in events if e["reason"] == "PhaseTransition"]
        assert sorted(e["message"] for e in transitions_seen) == [
            "Phase changed from Initializing to Running",
            "Phase changed from Pending to Initializing",
        ]
        assert {e["source"]["component"] for e in transitions_seen} == {"seinode-controller"}
        transitions = "sei_controller_seinode_phase_transitions_total"
        labels = {"namespace": namespace}
        assert op.metric(transitions, **labels, **{"from": "Pending", "to": "Initializing"}) == 1
        assert op.metric(transitions, **labels, **{"from": "Initializing", "to": "Running"}) == 1
        phase = "sei_controller_seinode_phase"
        assert op.metric(phase, namespace=namespace, name="full-1", phase="Running") == 1
        assert op.metric(phase, namespace=namespace, name="full-1", phase="Initializing") == 0
        init = "sei_controller_seinode_init_duration_seconds_count"
        assert op.metric(init, namespace=namespace, chain_id="pacific-1") == 1


async def test_deleting_a_node_removes_its_objects(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        await kube.create(seinode("gone-0", namespace))
        node = await op.wait_node("gone-0", phase_is("Running"))
        assert node["metadata"]["finalizers"] == ["sei.io/seinode-finalizer"]
        await kube.delete(node)

        async def leftovers() -> list[str]:
            found = []
            for api_version, kind, name in (
                ("sei.io/v1alpha1", "SeiNode", "gone-0"),
                ("v1", "PersistentVolumeClaim", "data-gone-0"),
                ("apps/v1", "StatefulSet", "gone-0"),
                ("v1", "Service", "gone-0"),
                ("v1", "Pod", "gone-0-0"),
            ):
                try:
                    await kube.get(api_version, kind, name, namespace)
                    found.append(kind)
                except NotFoundError:
                    pass
            return found

        await eventually(leftovers, lambda left: left == [], timeout=90, message="cleanup")
