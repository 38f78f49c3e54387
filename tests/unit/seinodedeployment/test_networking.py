"""Group networking renderers (spec 5.5, 4.2; 11.4 TestBuildNetworkingStatus_*,
TestGenerateExternalService_*, TestResolveEffectiveRoutes_*, TestGenerateHTTPRoute_*,
TestIsProtocolActiveForMode_EVMMapping), and the reference's applied objects as golden vectors."""

from __future__ import annotations

from typing import Any

import pytest

from api.v1alpha1 import RolloutStatus, SeiNodeDeployment, UpdateStrategyType, utc_now
from controllers.platform import Platform
from controllers.seinodedeployment.networking import (
    EffectiveRoute,
    build_networking_status,
    external_service,
    http_route,
    is_protocol_active_for_mode,
    resolve_effective_routes,
)
from tests.fixtures.goldens import GOLDENS_DIR, golden_platform, load
from tests.fixtures.managed_fields import applied_by, field_set
from tests.fixtures.platform import PLATFORM_TEST_ENV

from .fixtures import group

MANAGER = "seinodedeployment-controller"
GOLDEN = GOLDENS_DIR / "snd-rpc-group"


def _platform(domain: str = "prod.platform.sei.io", public: str = "") -> Platform:
    env = {**PLATFORM_TEST_ENV, "SEI_GATEWAY_DOMAIN": domain, "SEI_GATEWAY_NAMESPACE": "gateway"}
    if public:
        env["SEI_GATEWAY_PUBLIC_DOMAIN"] = public
    return Platform.from_env(env)


def _wave(mode: str = "fullNode", name: str = "pacific-1-wave") -> SeiNodeDeployment:
    """The reference tests' group: ``pacific-1-wave`` in namespace ``pacific-1``."""
    spec: dict[str, Any] = {"chainId": "pacific-1", "image": "seid:v1", mode: {}}
    if mode == "replayer":
        spec[mode] = {"snapshot": {"s3": {"targetHeight": 1}}}
        spec["peers"] = [{"ec2Tags": {"region": "eu-central-1", "tags": {"Chain": "pacific-1"}}}]
    return group(
        metadata__name=name,
        metadata__namespace="pacific-1",
        spec__networking={},
        spec__template__spec=spec,
    )


DUAL = _platform(public="platform.sei.io")


# --- networkingStatus ------------------------------------------------------------------------


def test_build_networking_status_full_mode_dual_domain_has_two_hostnames_per_protocol() -> None:
    status = build_networking_status(_wave(), DUAL)
    assert status is not None
    assert status.routes is not None
    hostnames = [r.hostname for r in status.routes]
    assert len(hostnames) == 8
    assert "pacific-1-wave-evm.prod.platform.sei.io" in hostnames
    assert "pacific-1-wave-evm.pacific-1.platform.sei.io" in hostnames


def test_build_networking_status_single_domain_has_one_hostname_per_protocol() -> None:
    status = build_networking_status(_wave(), _platform("dev.platform.sei.io"))
    assert status is not None
    assert status.routes is not None
    assert len(status.routes) == 4
    assert all(r.hostname.endswith(".dev.platform.sei.io") for r in status.routes)


def test_build_networking_status_validator_mode_is_none() -> None:
    assert build_networking_status(_wave("validator"), DUAL) is None


def test_build_networking_status_without_networking_is_none() -> None:
    assert build_networking_status(group(), DUAL) is None


def test_build_networking_status_protocol_values_in_route_order() -> None:
    status = build_networking_status(_wave(), _platform())
    assert status is not None
    assert status.routes is not None
    assert [r.protocol for r in status.routes] == ["evm", "rpc", "rest", "grpc"]


# --- external Service ------------------------------------------------------------------------


def test_generate_external_service_name_labels_selector_type_and_no_annotations() -> None:
    svc = external_service(_wave())
    assert svc["metadata"]["name"] == "pacific-1-wave-external"
    assert svc["metadata"]["namespace"] == "pacific-1"
    assert svc["metadata"]["labels"] == {"sei.io/nodedeployment": "pacific-1-wave"}
    assert "annotations" not in svc["metadata"]
    assert svc["spec"]["type"] == "ClusterIP"


def test_generate_external_service_selects_the_whole_group_even_during_a_rollout() -> None:
    rolling = _wave()
    rolling.status.rollout = RolloutStatus(
        strategy=UpdateStrategyType.IN_PLACE,
        target_hash="new",
        started_at=utc_now(),
        incumbent_revision="1",
        entrant_revision="2",
    )
    svc = external_service(rolling)
    assert svc["spec"]["selector"] == {"sei.io/nodedeployment": "pacific-1-wave"}


def test_generate_external_service_full_mode_has_seven_named_ports_in_order() -> None:
    ports = external_service(_wave())["spec"]["ports"]
    assert [p["name"] for p in ports] == [
        "evm-rpc",
        "evm-ws",
        "grpc",
        "rest",
        "p2p",
        "rpc",
        "metrics",
    ]
    assert all(p["targetPort"] == p["port"] and p["protocol"] == "TCP" for p in ports)


def test_generate_external_service_validator_mode_has_p2p_and_metrics() -> None:
    ports = external_service(_wave("validator"))["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [("p2p", 26656), ("metrics", 26660)]


def test_generate_external_service_grpc_has_h2c_app_protocol_only() -> None:
    ports = external_service(_wave())["spec"]["ports"]
    assert {p["name"]: p.get("appProtocol") for p in ports if "appProtocol" in p} == {
        "grpc": "kubernetes.io/h2c"
    }


def test_generate_external_service_is_controlled_by_the_group() -> None:
    ref = external_service(_wave())["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["controller"], ref["blockOwnerDeletion"]) == (
        "SeiNodeDeployment",
        True,
        True,
    )


# --- effective routes ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fullNode", "archive", "replayer"])
def test_resolve_effective_routes_serving_modes_have_four_routes(mode: str) -> None:
    routes = resolve_effective_routes(_wave(mode), DUAL)
    assert [(r.protocol, r.port) for r in routes] == [
        ("evm", 8545),
        ("rpc", 26657),
        ("rest", 1317),
        ("grpc", 9090),
    ]
    assert all(len(r.hostnames) == 2 for r in routes)


def test_resolve_effective_routes_validator_mode_has_none() -> None:
    assert resolve_effective_routes(_wave("validator"), DUAL) == []


def test_resolve_effective_routes_no_public_domain_single_hostname() -> None:
    evm = resolve_effective_routes(_wave(), _platform("dev.platform.sei.io"))[0]
    assert evm.hostnames == ("pacific-1-wave-evm.dev.platform.sei.io",)


def test_resolve_effective_routes_only_evm_has_a_websocket_port() -> None:
    routes = resolve_effective_routes(_wave(), DUAL)
    assert [(r.name, r.ws_port) for r in routes] == [
        ("pacific-1-wave-evm", 8546),
        ("pacific-1-wave-rpc", None),
        ("pacific-1-wave-rest", None),
        ("pacific-1-wave-grpc", None),
    ]


def test_is_protocol_active_for_mode_evm_mapping() -> None:
    assert is_protocol_active_for_mode("evm", "full")
    assert is_protocol_active_for_mode("rpc", "full")
    assert not is_protocol_active_for_mode("evm", "validator")
    assert not is_protocol_active_for_mode("grpc", "validator")


# --- HTTPRoute -------------------------------------------------------------------------------


def _route(protocol: str) -> dict[str, Any]:
    wave = _wave()
    route = next(r for r in resolve_effective_routes(wave, DUAL) if r.protocol == protocol)
    return http_route(wave, route, DUAL)


def test_generate_http_route_hostnames_follow_the_pattern() -> None:
    assert _route("rpc")["spec"]["hostnames"] == [
        "pacific-1-wave-rpc.prod.platform.sei.io",
        "pacific-1-wave-rpc.pacific-1.platform.sei.io",
    ]


def test_generate_http_route_parent_ref_is_the_platform_gateway() -> None:
    assert _route("rest")["spec"]["parentRefs"] == [{"name": "sei-gateway", "namespace": "gateway"}]


def test_generate_http_route_labels_and_managed_by_annotation() -> None:
    meta = _route("rpc")["metadata"]
    assert meta["labels"] == {"sei.io/nodedeployment": "pacific-1-wave"}
    assert meta["annotations"] == {"sei.io/managed-by": "seinodedeployment"}


def test_generate_http_route_backend_is_the_external_service_on_the_route_port() -> None:
    rules = _route("grpc")["spec"]["rules"]
    assert rules == [{"backendRefs": [{"name": "pacific-1-wave-external", "port": 9090}]}]


def test_generate_http_route_evm_is_one_route_with_a_websocket_rule() -> None:
    rules = _route("evm")["spec"]["rules"]
    assert rules[0] == {"backendRefs": [{"name": "pacific-1-wave-external", "port": 8545}]}
    assert rules[1] == {
        "matches": [{"headers": [{"type": "Exact", "name": "Upgrade", "value": "websocket"}]}],
        "backendRefs": [{"name": "pacific-1-wave-external", "port": 8546}],
    }


@pytest.mark.parametrize("protocol", ["rpc", "rest", "grpc"])
def test_generate_http_route_other_protocols_have_a_single_rule(protocol: str) -> None:
    assert len(_route(protocol)["spec"]["rules"]) == 1


def test_generate_http_route_api_version_kind_and_name() -> None:
    route = _route("evm")
    assert (route["apiVersion"], route["kind"], route["metadata"]["name"]) == (
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "pacific-1-wave-evm",
    )


def test_generate_http_route_without_ws_port_has_no_upgrade_rule() -> None:
    route = EffectiveRoute("g-evm", "evm", ("g-evm.example",), 8545, None)
    assert len(http_route(_wave(), route, DUAL)["spec"]["rules"]) == 1


# --- golden vectors: exactly what the reference applied -------------------------------------


def _golden_group() -> SeiNodeDeployment:
    group_obj = load(GOLDEN / "input.yaml")
    uid = load(GOLDEN / "services-pacific-1-rpc-external.yaml")["metadata"]["ownerReferences"][0]
    group_obj["metadata"]["uid"] = uid["uid"]
    group_obj["metadata"]["generation"] = 1
    return SeiNodeDeployment.from_dict(group_obj)


def _applied(file: str) -> dict[str, Any]:
    golden = load(GOLDEN / file)
    return applied_by(golden, field_set(golden, MANAGER, "Apply"))


def test_external_service_is_what_the_reference_applied() -> None:
    assert external_service(_golden_group()) == _applied("services-pacific-1-rpc-external.yaml")


@pytest.mark.parametrize("protocol", ["evm", "rpc", "rest", "grpc"])
def test_http_route_is_what_the_reference_applied(protocol: str) -> None:
    snd, platform = _golden_group(), golden_platform()
    route = next(r for r in resolve_effective_routes(snd, platform) if r.protocol == protocol)
    expected = _applied(f"httproutes-pacific-1-rpc-{protocol}.yaml")
    assert http_route(snd, route, platform) == expected


def test_networking_status_is_what_the_reference_wrote() -> None:
    snd = _golden_group()
    written = load(GOLDEN / "seinodedeployments-pacific-1-rpc.yaml")["status"]["networkingStatus"]
    status = build_networking_status(snd, golden_platform())
    assert status is not None
    assert status.to_dict() == written
