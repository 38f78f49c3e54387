"""The InPlace rollout's tasks (spec 6.6, 6.7.4; decisions F3, F6, F10, F16).

``update-node-specs`` moves each target child to the template and to the rollout's entrant
revision in one merge patch (one pod restart per node, and never a 409: no resourceVersion
precondition, only the keys we own). ``await-spec-update`` waits until each child's pod runs the
target template (seid and sidecar image, F10). ``mark-nodes-ready`` releases each new sidecar
and completes once every node's sidecar is Ready and its pod is Ready on the new template;
nodes that never get there are what stall escalation (D1) reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog

from api.v1alpha1 import SeiNodeDeployment
from controller_runtime.client import PatchType
from controller_runtime.client.errors import ApiError, NotFoundError
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskFactory,
    TaskRegistry,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
)
from controllers.plan.params import TaskParams, parse_params
from controllers.seinodedeployment.children import child_sync_patch, ordinal_of
from controllers.seinodedeployment.rollout import pods_ready, rolled_out
from controllers.sidecar.api import DEFAULT_SIDECAR_PORT, SidecarError, SidecarStatus

log = structlog.get_logger(__name__)

UPDATE_NODE_SPECS = "update-node-specs"
AWAIT_SPEC_UPDATE = "await-spec-update"
MARK_NODES_READY = "mark-nodes-ready"

Object = dict[str, Any]
T = TypeVar("T")


class NodeNamesParams(TaskParams):
    """``{"groupName"?, "namespace", "nodeNames"}``; nodeNames may be null (a nil Go slice)."""

    group_name: str = ""
    namespace: str = ""
    node_names: list[str] | None = None


class UpdateNodeSpecsParams(NodeNamesParams):
    pass


class AwaitNodesParams(NodeNamesParams):
    _omit_empty = frozenset({"group_name"})


def _group(ctx: TaskContext) -> SeiNodeDeployment:
    if not isinstance(ctx.owner, SeiNodeDeployment):
        raise TerminalTaskError(f"owner {ctx.kind} {ctx.namespace}/{ctx.name} is not a group")
    return ctx.owner


# Nodes handled at once by one task step: a rollout's per-node calls (patches, sidecar status)
# are independent, and doing them one after another made a 30-node step take seconds.
FAN_OUT = 16


async def _each(names: list[str], work: Callable[[str], Awaitable[T]]) -> list[T]:
    """``work`` for every name, at most FAN_OUT at a time, results in order."""
    limit = asyncio.Semaphore(FAN_OUT)

    async def bounded(name: str) -> T:
        async with limit:
            return await work(name)

    return list(await asyncio.gather(*(bounded(name) for name in names)))


async def _get(ctx: TaskContext, api_version: str, kind: str, name: str, ns: str) -> Object | None:
    try:
        return await ctx.client.get(api_version, kind, name, ns)
    except NotFoundError:
        return None


class UpdateNodeSpecs:
    def __init__(self, ctx: TaskContext, params: NodeNamesParams) -> None:
        self.ctx, self.params = ctx, params
        self._done = False

    async def execute(self) -> None:
        group = _group(self.ctx)
        rollout = group.status.rollout
        revision = rollout.entrant_revision if rollout is not None else None

        async def update(name: str) -> None:
            node = await _get(self.ctx, "sei.io/v1alpha1", "SeiNode", name, self.params.namespace)
            if node is None:
                return  # scaled away meanwhile: nothing to roll
            patch = child_sync_patch(group, node, ordinal_of(node) or 0, revision=revision)
            if not patch:
                return
            try:
                await self.ctx.client.patch(node, patch, PatchType.MERGE)
            except ApiError as err:
                raise TransientTaskError(f"updating SeiNode {name}: {err}") from err

        await _each(list(self.params.node_names or ()), update)
        self._done = True

    async def status(self) -> TaskState:
        return TaskState.COMPLETE if self._done else TaskState.RUNNING

    def error(self) -> str | None:
        return None


class AwaitSpecUpdate:
    """Complete once every target node's pod runs the target template. Never fails."""

    def __init__(self, ctx: TaskContext, params: NodeNamesParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        _group(self.ctx)

    async def status(self) -> TaskState:
        group = _group(self.ctx)
        ns = self.params.namespace
        for name in self.params.node_names or ():
            node = await _get(self.ctx, "sei.io/v1alpha1", "SeiNode", name, ns)
            sts = await _get(self.ctx, "apps/v1", "StatefulSet", name, ns)
            if node is None or not rolled_out(group, node, sts):
                return TaskState.RUNNING
        return TaskState.COMPLETE

    def error(self) -> str | None:
        return None


class MarkNodesReady:
    """Releases every target node's new sidecar (mark-ready without an id: a restarted sidecar
    has already completed the plan's original mark-ready id, spec 7.3) and completes when all
    sidecars report Ready and all pods are Ready. Never fails: a node that does not get there
    stalls the rollout, which escalation reports (D1) and a new template supersedes."""

    def __init__(self, ctx: TaskContext, params: NodeNamesParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        _group(self.ctx)

    async def status(self) -> TaskState:
        ns = self.params.namespace

        async def ready(name: str) -> bool:
            node = await _get(self.ctx, "sei.io/v1alpha1", "SeiNode", name, ns)
            if node is None or not await self._release(node):
                return False
            return pods_ready(await _get(self.ctx, "apps/v1", "StatefulSet", name, ns))

        results = await _each(list(self.params.node_names or ()), ready)
        return TaskState.COMPLETE if all(results) else TaskState.RUNNING

    async def _release(self, node: Mapping[str, Any]) -> bool:
        """True if the node's sidecar is Ready; otherwise submits mark-ready (once per poll)."""
        meta, spec = node.get("metadata") or {}, node.get("spec") or {}
        port = int((spec.get("sidecar") or {}).get("port") or DEFAULT_SIDECAR_PORT)
        factory = self.ctx.sidecars
        if factory is None:
            raise TerminalTaskError("mark-nodes-ready needs the sidecars of the group's nodes")
        try:
            sidecar = factory(meta.get("name", ""), meta.get("namespace", ""), port)
            if await sidecar.status() == SidecarStatus.READY:
                return True
            await sidecar.submit_task("mark-ready")
            # mark-ready completes at once on the sidecar: look again rather than a poll later.
            return await sidecar.status() == SidecarStatus.READY
        except SidecarError as err:
            log.info("sidecar not ready yet", node=meta.get("name"), error=str(err))
        return False

    def error(self) -> str | None:
        return None


def _factory(
    cls: type[UpdateNodeSpecs | AwaitSpecUpdate | MarkNodesReady], task_type: str
) -> TaskFactory:
    def build(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return cls(ctx, parse_params(NodeNamesParams, task_type, params))

    return build


def register_inplace_tasks(registry: TaskRegistry) -> None:
    registry.register(UPDATE_NODE_SPECS, _factory(UpdateNodeSpecs, UPDATE_NODE_SPECS))
    registry.register(AWAIT_SPEC_UPDATE, _factory(AwaitSpecUpdate, AWAIT_SPEC_UPDATE))
    registry.register(MARK_NODES_READY, _factory(MarkNodesReady, MARK_NODES_READY))
