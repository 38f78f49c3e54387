"""The tasks of BlueGreen (and HardFork) rollouts that bring up, wait for, switch to and tear
down a new set of nodes (spec 6.7.3 ``await-nodes-running``, 6.7.4; decisions F12).

Where we differ from the reference, and why:
- ``await-nodes-caught-up`` also waits until each entrant's pod is Ready: the external Service
  only publishes Ready pods, so switching to entrants whose pods are not Ready yet would leave
  the group without endpoints.
- ``switch-traffic`` changes the group in memory; the reconciler's one status write of the pass
  persists it, and the reconciler re-applies the external Service (and persists the switch)
  before any later task runs, so teardown never precedes the switch-over.
- ``teardown-nodes`` completes when the incumbents are gone and their pods gone or terminating,
  not when their deletion was asked: after the rollout the group has exactly ``replicas``
  children (F12), and the external Service, which selects by group label again, finds no ready
  incumbent pod.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import structlog

from api.v1alpha1 import SeiNodeDeployment
from controller_runtime.client.errors import AlreadyExistsError, ApiError, NotFoundError
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskRegistry,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
)
from controllers.plan.params import TaskParams, parse_params
from controllers.seinodedeployment.generations import entrant_child
from controllers.seinodedeployment.inplace_tasks import NodeNamesParams, _each, _get
from controllers.seinodedeployment.node_tasks import (
    SEINODE,
    node_sidecar,
    register_await_nodes_running,
)
from controllers.seinodedeployment.rollout import pods_ready
from controllers.sidecar.api import (
    SidecarError,
    SidecarStatus,
)

log = structlog.get_logger(__name__)

CREATE_ENTRANT_NODES = "create-entrant-nodes"
AWAIT_NODES_CAUGHT_UP = "await-nodes-caught-up"
SWITCH_TRAFFIC = "switch-traffic"
TEARDOWN_NODES = "teardown-nodes"

Object = dict[str, Any]


class CreateEntrantNodesParams(TaskParams):
    group_name: str = ""
    namespace: str = ""
    entrant_revision: str = ""
    node_names: list[str] | None = None


class SwitchTrafficParams(TaskParams):
    group_name: str = ""
    namespace: str = ""
    entrant_revision: str = ""


def _group(ctx: TaskContext) -> SeiNodeDeployment:
    if not isinstance(ctx.owner, SeiNodeDeployment):
        raise TerminalTaskError(f"owner {ctx.kind} {ctx.namespace}/{ctx.name} is not a group")
    return ctx.owner


class _Once:
    """A task whose Execute does all the work: Complete once Execute returned."""

    done = False

    async def status(self) -> TaskState:
        return TaskState.COMPLETE if self.done else TaskState.RUNNING

    def error(self) -> str | None:
        return None


class CreateEntrantNodes(_Once):
    def __init__(self, ctx: TaskContext, params: CreateEntrantNodesParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        group = _group(self.ctx)
        for ordinal, name in enumerate(self.params.node_names or ()):
            if await _get(self.ctx, *SEINODE, name, self.params.namespace) is not None:
                continue
            node = entrant_child(group, name, ordinal, self.params.entrant_revision)
            try:
                await self.ctx.client.create(node)
            except AlreadyExistsError:
                continue
            except ApiError as err:
                raise TransientTaskError(f"creating entrant SeiNode {name}: {err}") from err
        self.done = True


class AwaitNodesCaughtUp:
    """Complete once every entrant's sidecar reports Ready and its pod is Ready. Never fails:
    an entrant that never gets there stalls the rollout (D1)."""

    def __init__(self, ctx: TaskContext, params: NodeNamesParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        return None

    async def status(self) -> TaskState:
        ns = self.params.namespace

        async def caught_up(name: str) -> bool:
            node = await _get(self.ctx, *SEINODE, name, ns)
            if node is None:
                return False
            try:
                if await node_sidecar(self.ctx, node).status() != SidecarStatus.READY:
                    return False
            except SidecarError as err:
                log.info("entrant sidecar not reachable", node=name, error=str(err))
                return False
            return pods_ready(await _get(self.ctx, "apps/v1", "StatefulSet", name, ns))

        results = await _each(list(self.params.node_names or ()), caught_up)
        return TaskState.COMPLETE if all(results) else TaskState.RUNNING

    def error(self) -> str | None:
        return None


class SwitchTraffic(_Once):
    def __init__(self, ctx: TaskContext, params: SwitchTrafficParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        group = _group(self.ctx)
        if group.status.rollout is None:
            raise TerminalTaskError(f"no rollout status on group {group.metadata.name}")
        group.status.rollout.incumbent_revision = self.params.entrant_revision
        self.done = True


class TeardownNodes:
    """Deletes the named nodes; Complete once none of them exists any more."""

    def __init__(self, ctx: TaskContext, params: NodeNamesParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        for name in self.params.node_names or ():
            node = await self._get(name)
            if node is None:
                continue
            try:
                with contextlib.suppress(NotFoundError):
                    await self.ctx.client.delete(node)
            except ApiError as err:
                raise TransientTaskError(f"deleting SeiNode {name}: {err}") from err

    async def _get(self, name: str) -> Object | None:
        try:
            return await _get(self.ctx, *SEINODE, name, self.params.namespace)
        except ApiError as err:
            raise TransientTaskError(f"reading SeiNode {name}: {err}") from err

    async def status(self) -> TaskState:
        # The pod too: the Service goes back to the group label once the rollout completes,
        # and must not find an incumbent's pod that garbage collection has not reached yet. A
        # terminating pod is never a ready endpoint (and its StatefulSet is gone by then), so
        # its grace period is not waited for.
        reader = self.ctx.api_reader or self.ctx.client
        ns = self.params.namespace
        for name in self.params.node_names or ():
            try:
                if await _get(self.ctx, *SEINODE, name, ns) is not None:
                    return TaskState.RUNNING
                pod = await reader.get("v1", "Pod", f"{name}-0", ns)
            except NotFoundError:
                continue
            except ApiError:
                return TaskState.RUNNING
            if not (pod.get("metadata") or {}).get("deletionTimestamp"):
                return TaskState.RUNNING
        return TaskState.COMPLETE

    def error(self) -> str | None:
        return None


def register_bluegreen_tasks(registry: TaskRegistry) -> None:
    def entrants(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return CreateEntrantNodes(
            ctx, parse_params(CreateEntrantNodesParams, CREATE_ENTRANT_NODES, params)
        )

    def caught_up(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return AwaitNodesCaughtUp(ctx, parse_params(NodeNamesParams, AWAIT_NODES_CAUGHT_UP, params))

    def switch(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return SwitchTraffic(ctx, parse_params(SwitchTrafficParams, SWITCH_TRAFFIC, params))

    def teardown(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
        return TeardownNodes(ctx, parse_params(NodeNamesParams, TEARDOWN_NODES, params))

    registry.register(CREATE_ENTRANT_NODES, entrants)
    register_await_nodes_running(registry)
    registry.register(AWAIT_NODES_CAUGHT_UP, caught_up)
    registry.register(SWITCH_TRAFFIC, switch)
    registry.register(TEARDOWN_NODES, teardown)
