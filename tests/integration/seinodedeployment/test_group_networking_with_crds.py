"""Group networking and monitoring with the real upstream CRDs installed (spec 5.5, 5.6, 4.11;
decision F14): Gateway API's HTTPRoute and the Prometheus Operator's ServiceMonitor, copied from
their Go modules by hack/fetch-upstream-crds.sh, so every object we apply is validated by their
schemas. CRDs are cluster-scoped and the other suites expect these kinds absent, so this module
runs on its own short-lived control plane (API server only)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from api.v1alpha1 import SeiNode, SeiNodeDeployment
from controller_runtime.client.errors import InvalidError, NotFoundError
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions, eventually
from controller_runtime.labels import from_label_selector
from controllers.platform import Platform
from controllers.seinode.render import render_headless_service, render_statefulset
from controllers.seinodedeployment.monitoring import service_monitor
from controllers.seinodedeployment.networking import http_route, resolve_effective_routes
from tests.fixtures.goldens import golden_platform
from tests.fixtures.managed_fields import applied_by, field_set
from tests.fixtures.platform import PLATFORM_TEST_ENV

from .conftest import CRD_DIR, GROUP, GroupHarness

REPO = Path(__file__).resolve().parents[3]
UPSTREAM_CRDS = (
    "gateway.networking.k8s.io_httproutes.yaml",
    "monitoring.coreos.com_servicemonitors.yaml",
)
HTTPROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
SERVICEMONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")
MANAGER = "seinodedeployment-controller"
PROTOCOLS = ("evm", "rpc", "rest", "grpc")
NETWORKED: dict[str, Any] = {
    "networking": {},
    "monitoring": {"serviceMonitor": {"labels": {"release": "prometheus"}}},
}


def _upstream_crds(assets: Path) -> Path:
    directory = assets / "upstream-crds"
    if not all((directory / name).is_file() for name in UPSTREAM_CRDS):
        subprocess.run([str(REPO / "hack" / "fetch-upstream-crds.sh"), str(assets)], check=True)
    return directory


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crd_plane(envtest_assets: Path) -> AsyncIterator[ControlPlane]:
    crds = _upstream_crds(envtest_assets)
    plane = ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets, full=False))
    await plane.start()
    try:
        await plane.install_crds([CRD_DIR, crds])
        yield plane
    finally:
        await plane.stop()


@pytest.fixture
def cluster(crd_plane: ControlPlane) -> ControlPlane:
    """``kube``, ``api_client`` and ``namespace`` of this module use the CRD plane."""
    return crd_plane


@pytest.fixture
def sei_crds(crd_plane: ControlPlane) -> list[dict[str, Any]]:
    return []  # installed with the plane


def _contains(live: Any, sent: Any) -> bool:
    """Everything we sent is in the live object (which may add server defaults)."""
    if isinstance(sent, dict):
        return isinstance(live, dict) and all(
            key in live and _contains(live[key], value) for key, value in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(live, list)
            and len(live) == len(sent)
            and all(_contains(a, b) for a, b in zip(live, sent, strict=True))
        )
    return bool(live == sent)


async def _get(harness: GroupHarness, kind: tuple[str, str], name: str) -> dict[str, Any] | None:
    try:
        return await harness.kube.get(*kind, name, harness.namespace)
    except NotFoundError:
        return None


async def _route_names(harness: GroupHarness) -> list[str]:
    listed = await harness.kube.list(*HTTPROUTE, harness.namespace)
    return sorted(r["metadata"]["name"] for r in listed.get("items") or [])


def _condition(group: SeiNodeDeployment, type_: str) -> tuple[str, str, str] | None:
    found = group.status.condition(type_)
    return None if found is None else (found.status.value, found.reason, found.message)


# --- routes ------------------------------------------------------------------------------------


async def test_routes_are_created_with_the_specified_content(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    group = await harness.group()
    for route in resolve_effective_routes(group, golden_platform()):
        live = await _get(harness, HTTPROUTE, route.name)
        assert live is not None, route.name
        sent = http_route(group, route, golden_platform())
        assert _contains(live, sent), route.name
        # What our field manager owns is exactly the metadata and spec we send.
        owned = applied_by(live, field_set(live, MANAGER, "Apply"))
        assert owned["metadata"]["labels"] == sent["metadata"]["labels"]
        assert owned["metadata"]["annotations"] == sent["metadata"]["annotations"]
        assert sorted(owned["spec"]) == ["hostnames", "parentRefs", "rules"]


async def test_routes_make_route_ready_true_with_one_event(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.reconcile()
    group = await harness.group()
    assert _condition(group, "RouteReady") == (
        "True",
        "HTTPRouteReady",
        "4 HTTPRoute(s) reconciled successfully",
    )
    assert harness.events("HTTPRouteReady") == [
        "Normal HTTPRouteReady HTTPRoute reconciled successfully"
    ]
    assert harness.events("CRDNotInstalled") == []


async def test_routes_follow_a_changed_gateway_configuration(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    env = {**PLATFORM_TEST_ENV, "SEI_GATEWAY_DOMAIN": "prod.platform.sei.io"}
    harness.reconciler.exposure.platform = Platform.from_env(env)
    await harness.reconcile()
    live = await _get(harness, HTTPROUTE, f"{GROUP}-rpc")
    assert live is not None
    assert live["spec"]["hostnames"] == [f"{GROUP}-rpc.prod.platform.sei.io"]


async def test_a_route_changed_by_someone_else_is_restored(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    live = await _get(harness, HTTPROUTE, f"{GROUP}-rest")
    assert live is not None
    await harness.kube.patch(live, {"spec": {"hostnames": ["hijacked.example.com"]}})
    await harness.reconcile()
    restored = await _get(harness, HTTPROUTE, f"{GROUP}-rest")
    assert restored is not None
    assert "hijacked.example.com" not in restored["spec"]["hostnames"]


async def test_orphan_routes_of_the_group_are_deleted_others_kept(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    for name, labels in (
        (f"{GROUP}-legacy", {"sei.io/nodedeployment": GROUP}),
        ("someone-elses", {"app": "web"}),
    ):
        await harness.kube.create(
            {
                "apiVersion": HTTPROUTE[0],
                "kind": HTTPROUTE[1],
                "metadata": {"name": name, "namespace": harness.namespace, "labels": labels},
                "spec": {"hostnames": [f"{name}.example.com"]},
            }
        )
    await harness.reconcile()
    assert await _route_names(harness) == sorted(
        [f"{GROUP}-{p}" for p in PROTOCOLS] + ["someone-elses"]
    )


async def test_removing_networking_removes_routes_service_and_condition(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.patch_spec({"networking": None})
    await harness.reconcile()
    assert await _route_names(harness) == []
    assert await _get(harness, ("v1", "Service"), f"{GROUP}-external") is None
    group = await harness.group()
    assert _condition(group, "RouteReady") is None
    assert group.status.networking_status is None


async def test_delete_policy_deletes_the_routes(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.kube.delete(await harness.group_obj())
    await harness.reconcile()
    # No garbage collector runs on this control plane: only our deletion removes them.
    assert await _route_names(harness) == []


async def test_retain_policy_orphans_routes_and_service_monitor(harness: GroupHarness) -> None:
    await harness.create(deletionPolicy="Retain", **NETWORKED)
    await harness.reconcile()
    await harness.kube.delete(await harness.group_obj())
    await harness.reconcile()
    for kind, name in [(HTTPROUTE, f"{GROUP}-{p}") for p in PROTOCOLS] + [(SERVICEMONITOR, GROUP)]:
        live = await _get(harness, kind, name)
        assert live is not None, name
        assert live["metadata"].get("ownerReferences") is None, name


# --- ServiceMonitor ----------------------------------------------------------------------------


async def test_service_monitor_is_created_with_the_specified_content(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    live = await _get(harness, SERVICEMONITOR, GROUP)
    assert live is not None
    sent = service_monitor(await harness.group())
    assert sent is not None
    assert _contains(live, sent)
    assert live["spec"]["selector"] == sent["spec"]["selector"]


async def test_service_monitor_ready_true_with_one_event(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.reconcile()
    assert _condition(await harness.group(), "ServiceMonitorReady") == (
        "True",
        "ServiceMonitorReady",
        "ServiceMonitor reconciled successfully",
    )
    assert harness.events("ServiceMonitorReady") == [
        "Normal ServiceMonitorReady ServiceMonitor reconciled successfully"
    ]


async def test_service_monitor_follows_a_changed_spec(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.patch_spec(
        {
            "monitoring": {
                "serviceMonitor": {"interval": "15s", "labels": {"release": None, "team": "sei"}}
            }
        }
    )
    await harness.reconcile()
    live = await _get(harness, SERVICEMONITOR, GROUP)
    assert live is not None
    assert live["spec"]["endpoints"] == [{"port": "metrics", "interval": "15s"}]
    # A label no longer applied is dropped (server-side apply owns the set we send).
    assert live["metadata"]["labels"] == {"team": "sei", "sei.io/nodedeployment": GROUP}


async def test_removing_monitoring_removes_the_service_monitor_and_condition(
    harness: GroupHarness,
) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await harness.patch_spec({"monitoring": None})
    await harness.reconcile()
    assert await _get(harness, SERVICEMONITOR, GROUP) is None
    assert _condition(await harness.group(), "ServiceMonitorReady") is None


# --- F14: each pod is a scrape target exactly once --------------------------------------------


async def _scrape_targets(harness: GroupHarness, selector: dict[str, Any]) -> dict[str, int]:
    """Targets per pod the way the Prometheus Operator finds them: the ServiceMonitor selects
    Services (server-side label selection), each Service's endpoints are the pods its own
    selector matches (what the EndpointSlice controller would publish; this plane runs none),
    and a Service is scraped only if it has the endpoint's port (``metrics``)."""
    services = await harness.kube.list(
        "v1", "Service", harness.namespace, label_selector=str(from_label_selector(selector))
    )
    pods = (await harness.kube.list("v1", "Pod", harness.namespace)).get("items") or []
    targets: dict[str, int] = {p["metadata"]["name"]: 0 for p in pods}
    for service in services.get("items") or []:
        if "metrics" not in {port.get("name") for port in service["spec"]["ports"]}:
            continue
        matcher = from_label_selector({"matchLabels": service["spec"].get("selector") or {}})
        for pod in pods:
            if matcher.matches(pod["metadata"].get("labels") or {}):
                targets[pod["metadata"]["name"]] += 1
    return targets


async def _play_the_node_controller(harness: GroupHarness) -> None:
    """Per child: the headless Service and the StatefulSet's pod, as the SeiNode controller
    and the StatefulSet controller would create them."""
    platform = golden_platform()
    for child in await harness.children():
        node = SeiNode.from_dict(child)
        service = render_headless_service(node, platform)
        service["metadata"].pop("ownerReferences", None)
        await harness.kube.create(service)
        template = render_statefulset(node, platform)["spec"]["template"]
        await harness.kube.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{child['metadata']['name']}-0",
                    "namespace": harness.namespace,
                    "labels": template["metadata"]["labels"],
                },
                "spec": {"containers": [{"name": "seid", "image": "seid:v1"}]},
            }
        )


async def test_each_pod_is_scraped_exactly_once(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await _play_the_node_controller(harness)
    live = await _get(harness, SERVICEMONITOR, GROUP)
    assert live is not None
    targets = await _scrape_targets(harness, live["spec"]["selector"])
    assert targets == {f"{GROUP}-{i}-0": 1 for i in range(3)}


async def test_the_reference_selector_would_scrape_each_pod_twice(harness: GroupHarness) -> None:
    # The count above can fail: the reference's group-label-only selector also picks the
    # external Service, so each pod is counted twice.
    await harness.create(**NETWORKED)
    await harness.reconcile()
    await _play_the_node_controller(harness)
    reference = {"matchLabels": {"sei.io/nodedeployment": GROUP}}
    targets = await _scrape_targets(harness, reference)
    assert targets == {f"{GROUP}-{i}-0": 2 for i in range(3)}


# --- errors and CRDs that come later -----------------------------------------------------------


async def test_a_rejected_route_fails_the_pass_and_counts_an_error(harness: GroupHarness) -> None:
    await harness.create(**NETWORKED)
    env = {**PLATFORM_TEST_ENV, "SEI_GATEWAY_DOMAIN": "Not_A_Hostname"}
    harness.reconciler.exposure.platform = Platform.from_env(env)
    with pytest.raises(InvalidError):
        await harness.reconcile()
    errors = "sei_controller_reconcile_errors_total"
    labels = {"controller": "seinodedeployment", "namespace": harness.namespace, "name": GROUP}
    assert harness.metric(errors, **labels) == 1


SERVICEMONITOR_CRD = "servicemonitors.monitoring.coreos.com"
CRD_KIND = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


async def _crd_gone(harness: GroupHarness) -> bool:
    try:
        await harness.kube.get(*CRD_KIND, SERVICEMONITOR_CRD)
    except NotFoundError:
        return True
    return False


async def test_a_crd_installed_later_is_picked_up(
    harness: GroupHarness, crd_plane: ControlPlane, envtest_assets: Path
) -> None:
    await harness.kube.delete(await harness.kube.get(*CRD_KIND, SERVICEMONITOR_CRD))
    try:
        await eventually(lambda: _crd_gone(harness), timeout=60, message="CRD deleted")
        await harness.create(**NETWORKED)
        await harness.reconcile()
        missing = _condition(await harness.group(), "ServiceMonitorReady")
        assert missing is not None
        assert missing[1] == "CRDNotInstalled"
    finally:
        crds = _upstream_crds(envtest_assets)
        await crd_plane.install_crds([crds / "monitoring.coreos.com_servicemonitors.yaml"])

    async def reconciled() -> tuple[str, str, str] | None:
        # The client's REST mapper re-reads discovery on a miss at most once a second.
        await harness.reconcile()
        return _condition(await harness.group(), "ServiceMonitorReady")

    ready = await eventually(reconciled, lambda c: c is not None and c[0] == "True", timeout=30)
    assert ready == ("True", "ServiceMonitorReady", "ServiceMonitor reconciled successfully")
    assert await _get(harness, SERVICEMONITOR, GROUP) is not None
    assert harness.events("ServiceMonitorReady") == [
        "Normal ServiceMonitorReady ServiceMonitor reconciled successfully"
    ]
