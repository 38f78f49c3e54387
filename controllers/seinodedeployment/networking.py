"""Pure rules of a group's public networking (spec 5.5, 4.2 ``networkingStatus``; decision F3).

The external Service selects with the group-only selector ``{sei.io/nodedeployment: <name>}``:
our InPlace rollouts keep every child serving (F3), so no revision filter ever black-holes
public traffic. Routes point at that Service, one HTTPRoute per active protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from api.v1alpha1 import NetworkingStatus, RouteStatus, SeiNodeDeployment
from controllers.platform import Platform
from controllers.seinode.node import NodeMode, ports_for_mode
from controllers.seinodedeployment.children import (
    GROUP_LABEL,
    MANAGED_BY,
    MANAGED_BY_ANNOTATION,
    REVISION_LABEL,
    owner_reference,
)

__all__ = [
    "HTTPROUTE_API_VERSION",
    "HTTPROUTE_KIND",
    "EffectiveRoute",
    "build_networking_status",
    "external_service",
    "external_service_name",
    "group_mode",
    "http_route",
    "is_protocol_active_for_mode",
    "resolve_effective_routes",
]

Object = dict[str, Any]

HTTPROUTE_API_VERSION: Final = "gateway.networking.k8s.io/v1"
HTTPROUTE_KIND: Final = "HTTPRoute"
H2C: Final = "kubernetes.io/h2c"

# Fixed order of the effective routes: protocol, the node port that activates it, its port.
PROTOCOLS: Final[tuple[tuple[str, str, int], ...]] = (
    ("evm", "evm-rpc", 8545),
    ("rpc", "rpc", 26657),
    ("rest", "rest", 1317),
    ("grpc", "grpc", 9090),
)
_EVM_WS: Final = ("evm-ws", 8546)
_WEBSOCKET_UPGRADE: Final = {"type": "Exact", "name": "Upgrade", "value": "websocket"}


@dataclass(frozen=True)
class EffectiveRoute:
    name: str
    protocol: str
    hostnames: tuple[str, ...]
    port: int
    ws_port: int | None = None


def group_mode(group: SeiNodeDeployment) -> NodeMode:
    """archive and validator templates keep their mode; anything else (fullNode, replayer)
    is served as ``full``."""
    spec = group.spec.template.spec
    if spec.archive is not None:
        return "archive"
    if spec.validator is not None:
        return "validator"
    return "full"


def _port_names(mode: NodeMode) -> frozenset[str]:
    return frozenset(name for name, _ in ports_for_mode(mode))


def is_protocol_active_for_mode(protocol: str, mode: NodeMode) -> bool:
    """A protocol is active when the mode exposes its port; ``evm`` is served by ``evm-rpc``."""
    port_name = next((port for proto, port, _ in PROTOCOLS if proto == protocol), protocol)
    return port_name in _port_names(mode)


def resolve_effective_routes(group: SeiNodeDeployment, platform: Platform) -> list[EffectiveRoute]:
    """The group's routes in protocol order; none without networking or for validators."""
    if group.spec.networking is None:
        return []
    mode = group_mode(group)
    name, namespace = group.metadata.name or "", group.metadata.namespace or ""
    ws_active = _EVM_WS[0] in _port_names(mode)
    routes: list[EffectiveRoute] = []
    for protocol, _, port in PROTOCOLS:
        if not is_protocol_active_for_mode(protocol, mode):
            continue
        subdomain = f"{name}-{protocol}"
        hostnames = [f"{subdomain}.{platform.gateway_domain}"]
        if platform.gateway_public_domain:
            hostnames.append(f"{subdomain}.{namespace}.{platform.gateway_public_domain}")
        ws_port = _EVM_WS[1] if protocol == "evm" and ws_active else None
        routes.append(EffectiveRoute(subdomain, protocol, tuple(hostnames), port, ws_port))
    return routes


def build_networking_status(
    group: SeiNodeDeployment, platform: Platform
) -> NetworkingStatus | None:
    """``status.networkingStatus``: every hostname of every route, in order; None if none."""
    routes = [
        RouteStatus(hostname=hostname, protocol=route.protocol)
        for route in resolve_effective_routes(group, platform)
        for hostname in route.hostnames
    ]
    return NetworkingStatus(routes=routes) if routes else None


def external_service_name(group: SeiNodeDeployment) -> str:
    return f"{group.metadata.name}-external"


def _group_labels(group: SeiNodeDeployment) -> dict[str, str]:
    return {GROUP_LABEL: group.metadata.name or ""}


def external_service(group: SeiNodeDeployment, revision: str | None = None) -> Object:
    """The Service ``<name>-external`` as applied (SSA: exactly the fields we own). It selects
    the group's pods, only those of ``revision`` when given (which children serve during and
    after a BlueGreen/HardFork rollout: generations.service_revision)."""
    ports: list[Object] = []
    for port_name, port in ports_for_mode(group_mode(group)):
        entry: Object = {"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}
        if port_name == "grpc":
            entry["appProtocol"] = H2C
        ports.append(entry)
    selector = _group_labels(group)
    if revision:
        selector[REVISION_LABEL] = revision
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": external_service_name(group),
            "namespace": group.metadata.namespace,
            "labels": _group_labels(group),
            "ownerReferences": [owner_reference(group)],
        },
        "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
    }


def http_route(group: SeiNodeDeployment, route: EffectiveRoute, platform: Platform) -> Object:
    """One HTTPRoute as applied; ``evm`` also routes WebSocket upgrades to ``evm-ws``."""
    backend = external_service_name(group)
    rules: list[Object] = [{"backendRefs": [{"name": backend, "port": route.port}]}]
    if route.ws_port is not None:
        rules.append(
            {
                "matches": [{"headers": [dict(_WEBSOCKET_UPGRADE)]}],
                "backendRefs": [{"name": backend, "port": route.ws_port}],
            }
        )
    return {
        "apiVersion": HTTPROUTE_API_VERSION,
        "kind": HTTPROUTE_KIND,
        "metadata": {
            "name": route.name,
            "namespace": group.metadata.namespace,
            "labels": _group_labels(group),
            "annotations": {MANAGED_BY_ANNOTATION: MANAGED_BY},
            "ownerReferences": [owner_reference(group)],
        },
        "spec": {
            "parentRefs": [
                {"name": platform.gateway_name, "namespace": platform.gateway_namespace}
            ],
            "hostnames": list(route.hostnames),
            "rules": rules,
        },
    }
