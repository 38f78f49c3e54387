"""A Running node's pass (spec 3.7 step 8 Running, decisions F1, F2; monitor tasks 12.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from api.v1alpha1 import SeiNode
from controller_runtime.client import Object
from controller_runtime.client.errors import NotFoundError
from controller_runtime.controller import Result
from controllers.seinode.monitor import ensure_monitor_tasks, poll_monitor_tasks
from controllers.seinode.status import rolled_out_image
from controllers.sidecar.api import SidecarClient, SidecarError, SidecarStatus

if TYPE_CHECKING:
    from controllers.seinode.reconciler import SeiNodeReconciler

log = structlog.get_logger("seinode")

GROUP_API_VERSION = "sei.io/v1alpha1"
GROUP_KIND = "SeiNodeDeployment"
STEADY_STATE_REQUEUE = 30.0
# While a Running node's sidecar is unreachable or not released yet: the task poll interval.
UNSETTLED_REQUEUE = 5.0
IMMEDIATE = 0.001


class RunningNode:
    """One pass over a Running node. Nothing here changes the phase: Running is terminal."""

    def __init__(self, reconciler: SeiNodeReconciler, base: Object, node: SeiNode) -> None:
        self.r, self.base, self.node = reconciler, base, node

    async def reconcile(self) -> Result:
        statefulset = await self.r.apply_workload(self.base, self.node)
        image = rolled_out_image(self.node, statefulset)
        if image is not None:
            self.node.status.current_image = image
            self.base = await self.r.write_status(self.base, self.node)
        try:
            sidecar = self.r.sidecar_for(self.node)
        except Exception as err:  # a URL template that cannot address this node
            meta = self.node.metadata
            self.r.d.metrics.sidecar_unreachable.labels(meta.namespace, meta.name).inc()
            log.warning("building sidecar client failed", error=str(err))
            return Result(requeue_after=STEADY_STATE_REQUEUE)
        settled = await self._heal_readiness(sidecar)
        result = await self._monitor(sidecar)
        if not settled and result.requeue_after > UNSETTLED_REQUEUE:
            return Result(requeue_after=UNSETTLED_REQUEUE)
        return result

    async def _monitor(self, sidecar: SidecarClient) -> Result:
        """Monitor tasks (12.6): submit once, then poll; one status write for both."""
        d, node = self.r.d, self.node
        ensured = await ensure_monitor_tasks(node, d.platform, sidecar, d.now)
        polled = await poll_monitor_tasks(node, sidecar, d.now)
        if ensured.error is not None:
            log.info("submitting a monitor task failed", error=str(ensured.error))
        if ensured.changed or polled.changed:
            self.base = await self.r.write_status(self.base, node)
        meta = node.metadata
        for change in (*ensured.transitions, *polled.transitions):
            d.metrics.set_monitor_status(
                meta.namespace or "", meta.name or "", change.task_type, change.status.value
            )
            if change.reason:
                d.metrics.monitor_task_completed.labels(
                    meta.namespace, meta.name, change.task_type, change.reason
                ).inc()
            if change.event is not None:
                self.r.event(node, change.event.type, change.event.reason, change.event.message)
        if polled.terminal:
            return Result(requeue_after=IMMEDIATE)
        return Result(requeue_after=STEADY_STATE_REQUEUE)

    async def _heal_readiness(self, sidecar: SidecarClient) -> bool:
        """F2: a restarted sidecar of a Running node comes up Initializing and holds seid back
        until someone submits mark-ready. The group's rollout plan releases the nodes it is
        rolling; every other Running node is released here. Returns True once nothing is left
        to do (Ready, or the group's to release), False to look again soon: a fresh pod's
        sidecar is often not listening yet when its pod's first events arrive."""
        try:
            if await sidecar.status() != SidecarStatus.INITIALIZING:
                return True
            if await self._gated_by_group_rollout():
                return True
            await sidecar.submit_task("mark-ready")
            log.info("sidecar restarted: submitted mark-ready", sidecar=sidecar.base_url)
            return await sidecar.status() == SidecarStatus.READY
        except SidecarError as err:
            log.info("sidecar not reachable", error=str(err))
            return False

    async def _gated_by_group_rollout(self) -> bool:
        owner = next(
            (
                ref
                for ref in self.node.metadata.owner_references or ()
                if ref.controller and ref.kind == GROUP_KIND
            ),
            None,
        )
        if owner is None:
            return False
        try:
            group = await self.r.d.client.get(
                GROUP_API_VERSION, GROUP_KIND, owner.name, self.node.metadata.namespace
            )
        except NotFoundError:
            return False
        return (group.get("status") or {}).get("rollout") is not None
