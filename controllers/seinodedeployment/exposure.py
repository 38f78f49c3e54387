"""Applying a group's networking and monitoring objects (spec 5.5, 5.6, 4.10, 4.11).

The rendering is pure (``networking``, ``monitoring``); this module writes it: server-side
apply as ``seinodedeployment-controller`` with force, orphan HTTPRoutes deleted by label, the
``RouteReady`` / ``ServiceMonitorReady`` conditions set in memory (persisted by the pass's one
status write) and their events emitted only when the condition's reason changes.

Invariants:
- HTTPRoutes and ServiceMonitors are read and written through the direct client: they are not
  watched (spec 4.12), and an informer on a kind the server does not serve would never sync.
- A kind the server does not serve (``NoKindMatchError``: the Gateway API or Prometheus
  Operator CRD is not installed) is a condition, never an error: everything else in the pass
  goes on. The REST mapper re-reads discovery on a miss (rate-limited), so a CRD installed
  later is picked up by a later pass without a restart.
- The DNS gate of the reference (4.7 step 6) is not implemented: children are never held back
  waiting for DNS, so no pass can end early and lose a template change (F8).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

from api.v1alpha1 import ConditionStatus, SeiNodeDeployment
from controller_runtime.client.errors import NoKindMatchError, NotFoundError
from controller_runtime.manager import CachedClient
from controllers.platform import Platform
from controllers.seinodedeployment.children import GROUP_LABEL
from controllers.seinodedeployment.monitoring import (
    SERVICEMONITOR_API_VERSION,
    SERVICEMONITOR_KIND,
    service_monitor,
)
from controllers.seinodedeployment.networking import (
    HTTPROUTE_API_VERSION,
    HTTPROUTE_KIND,
    build_networking_status,
    external_service,
    external_service_name,
    http_route,
    resolve_effective_routes,
)
from controllers.seinodedeployment.rollout import Event

__all__ = [
    "FIELD_MANAGER",
    "ROUTE_READY",
    "SERVICE_MONITOR_READY",
    "GroupExposure",
]

Object = dict[str, Any]

FIELD_MANAGER: Final = "seinodedeployment-controller"
ROUTE_READY: Final = "RouteReady"
SERVICE_MONITOR_READY: Final = "ServiceMonitorReady"
CRD_NOT_INSTALLED: Final = "CRDNotInstalled"
ROUTE_CRD_MISSING: Final = "Gateway API CRD (HTTPRoute) is not installed"
MONITOR_CRD_MISSING: Final = "Prometheus Operator CRD (ServiceMonitor) is not installed"


class GroupExposure:
    """The networking (5.5) and monitoring (5.6) substeps and their deletion (4.10)."""

    def __init__(
        self,
        client: CachedClient,
        platform: Platform | None,
        emit: Callable[[SeiNodeDeployment, Event], None],
    ) -> None:
        self.client = client
        self.direct = client.direct
        self.platform = platform
        self.emit = emit

    # --- networking (5.5) ----------------------------------------------------------------------

    async def reconcile_networking(
        self, group: SeiNodeDeployment, revision: str | None = None
    ) -> None:
        """``revision``: the external Service selects only the pods of this revision."""
        status = group.status
        if group.spec.networking is None:
            status.remove_condition(ROUTE_READY)
            status.networking_status = None
            await self._delete_external_service(group)
            await self._delete_routes(group, keep=frozenset())
            return
        if self.platform is None:
            raise RuntimeError("networking needs the platform configuration (SEI_GATEWAY_*)")
        await self.client.apply(
            external_service(group, revision), field_manager=FIELD_MANAGER, force=True
        )
        routes = resolve_effective_routes(group, self.platform)
        status.networking_status = build_networking_status(group, self.platform)
        if not routes:
            status.remove_condition(ROUTE_READY)
            await self._delete_routes(group, keep=frozenset())
            return
        try:
            for route in routes:
                await self.direct.apply(
                    http_route(group, route, self.platform), field_manager=FIELD_MANAGER, force=True
                )
        except NoKindMatchError:
            self._set(group, ROUTE_READY, False, CRD_NOT_INSTALLED, ROUTE_CRD_MISSING)
            return
        await self._delete_routes(group, keep=frozenset(r.name for r in routes))
        message = f"{len(routes)} HTTPRoute(s) reconciled successfully"
        self._set(group, ROUTE_READY, True, "HTTPRouteReady", message)

    async def _delete_external_service(self, group: SeiNodeDeployment) -> None:
        name, namespace = external_service_name(group), group.metadata.namespace
        try:
            service = await self.client.get("v1", "Service", name, namespace)
        except NotFoundError:
            return
        with contextlib.suppress(NotFoundError):
            await self.client.delete(service)

    async def _group_objects(
        self, group: SeiNodeDeployment, api_version: str, kind: str
    ) -> list[Object]:
        """Objects of ``kind`` labelled for the group; none when the kind is not served."""
        try:
            listed = await self.direct.list(
                api_version,
                kind,
                group.metadata.namespace,
                label_selector=f"{GROUP_LABEL}={group.metadata.name}",
            )
        except NoKindMatchError:
            return []
        items: list[Object] = listed.get("items") or []
        return items

    async def _delete_routes(self, group: SeiNodeDeployment, keep: frozenset[str]) -> None:
        for route in await self._group_objects(group, HTTPROUTE_API_VERSION, HTTPROUTE_KIND):
            if route["metadata"]["name"] in keep:
                continue
            # A list's items need not carry apiVersion/kind; delete() maps the object by them.
            route.setdefault("apiVersion", HTTPROUTE_API_VERSION)
            route.setdefault("kind", HTTPROUTE_KIND)
            with contextlib.suppress(NotFoundError):
                await self.direct.delete(route)

    # --- monitoring (5.6) ----------------------------------------------------------------------

    async def reconcile_monitoring(self, group: SeiNodeDeployment) -> None:
        desired = service_monitor(group)
        if desired is None:
            group.status.remove_condition(SERVICE_MONITOR_READY)
            await self._delete_service_monitor(group)
            return
        try:
            await self.direct.apply(desired, field_manager=FIELD_MANAGER, force=True)
        except NoKindMatchError:
            self._set(group, SERVICE_MONITOR_READY, False, CRD_NOT_INSTALLED, MONITOR_CRD_MISSING)
            return
        message = "ServiceMonitor reconciled successfully"
        self._set(group, SERVICE_MONITOR_READY, True, "ServiceMonitorReady", message)

    async def _delete_service_monitor(self, group: SeiNodeDeployment) -> None:
        ref = {
            "apiVersion": SERVICEMONITOR_API_VERSION,
            "kind": SERVICEMONITOR_KIND,
            "metadata": {"name": group.metadata.name, "namespace": group.metadata.namespace},
        }
        with contextlib.suppress(NotFoundError, NoKindMatchError):
            await self.direct.delete(ref)

    # --- deletion of the group (4.10) ------------------------------------------------------------

    async def delete_networking(self, group: SeiNodeDeployment) -> None:
        """Delete policy: the external Service and the routes go now; the ServiceMonitor and
        the children go with the group through garbage collection."""
        try:
            await self._delete_external_service(group)
            await self._delete_routes(group, keep=frozenset())
        except Exception as err:
            message = f"Failed to clean up networking resources: {err}"
            self.emit(group, Event("Warning", "DeleteFailed", message))
            raise

    async def orphan_networking(
        self, group: SeiNodeDeployment, orphan: Callable[[Object], Awaitable[None]]
    ) -> None:
        """Retain policy: the external Service, routes and ServiceMonitor lose the group's
        owner reference (``orphan``) so garbage collection keeps them."""
        try:
            service = await self.client.get(
                "v1", "Service", external_service_name(group), group.metadata.namespace
            )
        except NotFoundError:
            pass
        else:
            await orphan(service)
        for api_version, kind in (
            (HTTPROUTE_API_VERSION, HTTPROUTE_KIND),
            (SERVICEMONITOR_API_VERSION, SERVICEMONITOR_KIND),
        ):
            for obj in await self._group_objects(group, api_version, kind):
                obj.setdefault("apiVersion", api_version)
                obj.setdefault("kind", kind)
                await orphan(obj)

    # --- conditions and their events (4.5, 4.11) -------------------------------------------------

    def _set(
        self, group: SeiNodeDeployment, type_: str, ok: bool, reason: str, message: str
    ) -> None:
        """Sets the condition; emits its event only when the reason changes (edge-triggered)."""
        current = group.status.condition(type_)
        if current is None or current.reason != reason:
            self.emit(group, _EVENTS[(type_, reason)])
        status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
        group.status.set_condition(type_, status, reason, message, group.metadata.generation)


_EVENTS: Final = {
    (ROUTE_READY, "HTTPRouteReady"): Event(
        "Normal", "HTTPRouteReady", "HTTPRoute reconciled successfully"
    ),
    (ROUTE_READY, CRD_NOT_INSTALLED): Event(
        "Warning",
        CRD_NOT_INSTALLED,
        "Gateway API CRD (HTTPRoute) is not installed; HTTPRoute will not be created",
    ),
    (SERVICE_MONITOR_READY, "ServiceMonitorReady"): Event(
        "Normal", "ServiceMonitorReady", "ServiceMonitor reconciled successfully"
    ),
    (SERVICE_MONITOR_READY, CRD_NOT_INSTALLED): Event(
        "Warning",
        CRD_NOT_INSTALLED,
        "Prometheus Operator CRD (ServiceMonitor) is not installed; "
        "monitoring will not be configured",
    ),
}
