"""What the group's tasks share: reaching a child's sidecar, and ``await-nodes-running``
(spec 6.7.3), which both the genesis plan and the BlueGreen/HardFork plans run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol, cast

import structlog

from api.v1alpha1 import SeiNodePhase
from controller_runtime.client.errors import ApiError
from controllers.plan.engine import Task, TaskContext, TaskRegistry, TaskState, TerminalTaskError
from controllers.plan.params import TaskParams, parse_params
from controllers.seinodedeployment.children import GROUP_LABEL
from controllers.sidecar.api import DEFAULT_SIDECAR_PORT, SidecarClient

__all__ = [
    "AWAIT_NODES_RUNNING",
    "SEINODE",
    "AwaitNodesRunning",
    "AwaitNodesRunningParams",
    "node_sidecar",
    "register_await_nodes_running",
]

log = structlog.get_logger(__name__)

AWAIT_NODES_RUNNING: Final = "await-nodes-running"
SEINODE: Final = ("sei.io/v1alpha1", "SeiNode")

Object = dict[str, Any]


def node_sidecar(ctx: TaskContext, node: Mapping[str, Any]) -> SidecarClient:
    """The client of a child's sidecar (spec 7.1: ``spec.sidecar.port``, default 7777).
    Raises :class:`TerminalTaskError` when the context has no per-node sidecars."""
    if ctx.sidecars is None:
        raise TerminalTaskError("group tasks need the sidecars of the group's nodes")
    meta, spec = node.get("metadata") or {}, node.get("spec") or {}
    port = int((spec.get("sidecar") or {}).get("port") or DEFAULT_SIDECAR_PORT)
    return ctx.sidecars(meta.get("name", ""), meta.get("namespace", ""), port)


class AwaitNodesRunningParams(TaskParams):
    """``{"groupName", "namespace", "expected", "nodeNames"?}``."""

    _omit_empty = frozenset({"node_names"})

    group_name: str = ""
    namespace: str = ""
    expected: int = 0
    node_names: list[str] | None = None


class _Lister(Protocol):
    """Listing, which the engine's KubeClient protocol leaves out (the manager's client, the
    only one that runs group plans, has it)."""

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str
    ) -> Object: ...


class AwaitNodesRunning:
    """Complete when at least ``expected`` of the target nodes are Running; Failed as soon as
    one target is Failed. Targets: ``nodeNames``, or every SeiNode labelled for the group."""

    def __init__(self, ctx: TaskContext, params: AwaitNodesRunningParams) -> None:
        self.ctx, self.params = ctx, params
        self._error: str | None = None

    async def execute(self) -> None:
        return None

    async def _targets(self) -> list[Object] | None:
        """The target nodes, or None when one could not be read (poll again)."""
        ns = self.params.namespace
        try:
            if self.params.node_names:
                return [
                    await self.ctx.client.get(*SEINODE, name, ns) for name in self.params.node_names
                ]
            lister = cast(_Lister, self.ctx.client)
            selector = f"{GROUP_LABEL}={self.params.group_name}"
            listed = await lister.list(*SEINODE, ns, label_selector=selector)
            return list(listed.get("items") or [])
        except ApiError as err:
            log.info("await-nodes-running: reading nodes failed", error=str(err))
            return None

    async def status(self) -> TaskState:
        if self._error is not None:
            return TaskState.FAILED
        targets = await self._targets()
        if targets is None:
            return TaskState.RUNNING
        running = 0
        for node in targets:
            phase = (node.get("status") or {}).get("phase")
            if phase == SeiNodePhase.FAILED:
                self._error = f"node {node['metadata']['name']} is in Failed phase"
                return TaskState.FAILED
            running += phase == SeiNodePhase.RUNNING
        return TaskState.COMPLETE if running >= self.params.expected else TaskState.RUNNING

    def error(self) -> str | None:
        return self._error


def _build(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
    return AwaitNodesRunning(
        ctx, parse_params(AwaitNodesRunningParams, AWAIT_NODES_RUNNING, params)
    )


def register_await_nodes_running(registry: TaskRegistry) -> None:
    """Registers ``await-nodes-running`` unless it is already (each plan family that runs it
    asks for it; one implementation serves them all)."""
    if AWAIT_NODES_RUNNING not in registry:
        registry.register(AWAIT_NODES_RUNNING, _build)
