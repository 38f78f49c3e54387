"""Group networking and monitoring on an API server without the Gateway API and Prometheus
Operator CRDs (spec 5.5, 5.6, 4.5, 4.10, 4.11): the conditions say CRDNotInstalled, one
Warning event each, and everything else (external Service, children, status) reconciles."""

from __future__ import annotations

from typing import Any

from controller_runtime.client.errors import NotFoundError

from .conftest import GROUP, GroupHarness

NETWORKED: dict[str, Any] = {
    "networking": {},
    "monitoring": {"serviceMonitor": {"labels": {"release": "prometheus"}}},
}
ROUTE_WARNING = (
    "Warning CRDNotInstalled "
    "Gateway API CRD (HTTPRoute) is not installed; HTTPRoute will not be created"
)
MONITOR_WARNING = (
    "Warning CRDNotInstalled "
    "Prometheus Operator CRD (ServiceMonitor) is not installed; monitoring will not be configured"
)


async def _external(harness: GroupHarness) -> dict[str, Any] | None:
    try:
        return await harness.kube.get("v1", "Service", f"{GROUP}-external", harness.namespace)
    except NotFoundError:
        return None


def _condition(obj: dict[str, Any], type_: str) -> tuple[str, str, str] | None:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c["type"] == type_:
            return c["status"], c["reason"], c["message"]
    return None


async def test_missing_crds_set_both_conditions_to_crd_not_installed(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    group = await harness.group_obj()
    assert _condition(group, "RouteReady") == (
        "False",
        "CRDNotInstalled",
        "Gateway API CRD (HTTPRoute) is not installed",
    )
    assert _condition(group, "ServiceMonitorReady") == (
        "False",
        "CRDNotInstalled",
        "Prometheus Operator CRD (ServiceMonitor) is not installed",
    )


async def test_missing_crds_warn_once_each_across_passes(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.reconcile()
    await harness.reconcile()
    assert harness.events("CRDNotInstalled") == [ROUTE_WARNING, MONITOR_WARNING]


async def test_missing_crds_do_not_stop_the_rest_of_the_pass(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    assert [c["metadata"]["name"] for c in await harness.children()] == [
        f"{GROUP}-{i}" for i in range(3)
    ]
    service = await _external(harness)
    assert service is not None
    assert service["spec"]["selector"] == {"sei.io/nodedeployment": GROUP}
    status = (await harness.group_obj())["status"]
    assert status["replicas"] == 3
    assert [r["protocol"] for r in status["networkingStatus"]["routes"]] == [
        "evm",
        "evm",
        "rpc",
        "rpc",
        "rest",
        "rest",
        "grpc",
        "grpc",
    ]


async def test_external_service_is_applied_by_the_group_field_manager(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    service = await _external(harness)
    assert service is not None
    managers = {(m["manager"], m["operation"]) for m in service["metadata"]["managedFields"]}
    assert managers == {("seinodedeployment-controller", "Apply")}
    assert service["metadata"]["ownerReferences"][0]["kind"] == "SeiNodeDeployment"


async def test_removing_networking_deletes_the_service_and_clears_its_status(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.patch_spec({"networking": None, "monitoring": None})
    await harness.reconcile()
    assert await _external(harness) is None
    group = await harness.group_obj()
    assert _condition(group, "RouteReady") is None
    assert _condition(group, "ServiceMonitorReady") is None
    assert "networkingStatus" not in group["status"]


async def test_networking_and_monitoring_substeps_are_timed(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    metric = "sei_controller_seinodedeployment_reconcile_substep_duration_seconds_count"
    for substep in ("reconcileNetworking", "reconcileMonitoring"):
        assert harness.metric(metric, controller="seinodedeployment", substep=substep) == 1


async def test_condition_gauges_report_the_false_conditions(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    gauge = "sei_controller_seinodedeployment_condition"
    for type_ in ("RouteReady", "ServiceMonitorReady"):
        labels = {"namespace": harness.namespace, "name": GROUP, "type": type_}
        assert harness.metric(gauge, **labels, status="False") == 1


async def test_delete_policy_deletes_the_external_service(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    # Without its owner reference the garbage collector would keep it: only we delete it.
    service = await _external(harness)
    assert service is not None
    await harness.kube.patch(service, {"metadata": {"ownerReferences": None}})
    await harness.kube.delete(await harness.group_obj())
    await harness.reconcile()
    assert await _external(harness) is None


async def test_retain_policy_orphans_the_external_service(harness: GroupHarness) -> None:
    await harness.create(deletionPolicy="Retain", **NETWORKED)
    await harness.reconcile()
    await harness.kube.delete(await harness.group_obj())
    await harness.reconcile()
    service = await _external(harness)
    assert service is not None
    assert service["metadata"].get("ownerReferences") is None
