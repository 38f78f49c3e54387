"""The group tasks every genesis ceremony ends with (spec 6.7.3, 12.1, 12.5).

``collect-and-set-peers`` asks each validator's sidecar for its node id (``GET /v0/node-id``)
and writes one static peer source listing every validator (itself included) into each child's
``spec.peers``. ``await-nodes-running`` completes once the named children are Running and fails
the plan as soon as one of them is Failed.

Both read children through the manager's client; the decision "a child is gone" is never
taken from a cache (a lagging cache would not show a child the group just created).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import structlog

from controller_runtime.client import PatchType
from controller_runtime.client.errors import ApiError
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskRegistry,
    TaskState,
    TransientTaskError,
)
from controllers.plan.params import TaskParams, parse_params
from controllers.plan.sidecar_tasks import SIDECAR_TASK_PARAMS, sidecar_task_factory
from controllers.seinode.peers import peer_address
from controllers.seinodedeployment.node_tasks import (
    SEINODE,
    node_sidecar,
    register_await_nodes_running,
)
from controllers.sidecar.api import SidecarError

__all__ = [
    "COLLECT_AND_SET_PEERS",
    "P2P_PORT",
    "CollectAndSetPeersParams",
    "peer_string",
    "register_genesis_tasks",
]

log = structlog.get_logger(__name__)

COLLECT_AND_SET_PEERS: Final = "collect-and-set-peers"
P2P_PORT: Final = 26656

Object = dict[str, Any]


class CollectAndSetPeersParams(TaskParams):
    """``{"groupName", "namespace", "nodeNames"}`` (nodeNames ``null`` when empty)."""

    group_name: str = ""
    namespace: str = ""
    node_names: list[str] | None = None


def peer_string(node_id: str, name: str, namespace: str) -> str:
    """``<nodeId>@<name>-0.<name>.<namespace>.svc.cluster.local:26656``."""
    return f"{node_id}@{peer_address(name, namespace)}:{P2P_PORT}"


def _phase(node: Mapping[str, Any]) -> str:
    return str((node.get("status") or {}).get("phase") or "")


class CollectAndSetPeers:
    """All node ids first (any failure: retry the whole task later, nothing written), then
    ``spec.peers`` on every node: a node is given the whole list or nothing."""

    def __init__(self, ctx: TaskContext, params: CollectAndSetPeersParams) -> None:
        self.ctx, self.params = ctx, params

    async def execute(self) -> None:
        ns = self.params.namespace
        names = list(self.params.node_names or ())
        nodes: list[Object] = []
        peers: list[str] = []
        for name in names:
            try:
                node = await self.ctx.client.get(*SEINODE, name, ns)
                node_id = await node_sidecar(self.ctx, node).node_id()
            except (ApiError, SidecarError) as err:
                raise TransientTaskError(f"collecting the node id of {name}: {err}") from err
            nodes.append(node)
            peers.append(peer_string(node_id, name, ns))
        body = {"spec": {"peers": [{"static": {"addresses": peers}}]}}
        for node in nodes:
            name = node["metadata"]["name"]
            try:
                await self.ctx.client.patch(node, body, PatchType.MERGE)
            except ApiError as err:
                raise TransientTaskError(f"setting the peers of {name}: {err}") from err

    async def status(self) -> TaskState:
        # Only reached after Execute succeeded in this attempt (the engine persists the
        # submission and the completion in one write): the peers are written.
        return TaskState.COMPLETE

    def error(self) -> str | None:
        return None


def _build_peers(ctx: TaskContext, task_id: str, params: Mapping[str, Any]) -> Task:
    parsed = parse_params(CollectAndSetPeersParams, COLLECT_AND_SET_PEERS, params)
    return CollectAndSetPeers(ctx, parsed)


def register_genesis_tasks(registry: TaskRegistry) -> None:
    """The ceremony's group tasks: the assembly sidecar tasks (run on the assembler node's
    sidecar, the context's ``sidecar``), peers, and the final wait."""
    for task_type in ("assemble-and-upload-genesis", "assemble-genesis-fork"):
        registry.register(
            task_type, sidecar_task_factory(task_type, SIDECAR_TASK_PARAMS[task_type])
        )
    register_await_nodes_running(registry)
    registry.register(COLLECT_AND_SET_PEERS, _build_peers)
