"""Fixtures for informer tests: a recording event handler and a control plane to break.

The fault control plane has two API servers on one etcd: `primary` (normal, watch cache on)
and `secondary` (--watch-cache=false, so a resourceVersion older than an etcd compaction is
really Gone). Tests write through one while the other is down or cut off.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.cache import DeletedFinalStateUnknown, object_key
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions


@dataclass
class Recorder:
    """Records informer notifications as (event, key, resourceVersion)."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    initial_adds: int = 0

    def on_add(self, obj: dict[str, Any], is_in_initial_list: bool) -> None:
        self.initial_adds += is_in_initial_list
        self.events.append(("add", object_key(obj), obj["metadata"]["resourceVersion"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.events.append(("update", object_key(new), new["metadata"]["resourceVersion"]))

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(("tombstone", obj.key, obj.obj["metadata"]["resourceVersion"]))
        else:
            self.events.append(("delete", object_key(obj), obj["metadata"]["resourceVersion"]))

    def of(self, kind: str) -> set[str]:
        return {key for event, key, _ in self.events if event == kind}


@dataclass
class FaultCluster:
    cp: ControlPlane
    secondary_url: str

    async def client(self, server: str | None = None) -> Client:
        cfg = await load_config(self.cp.kubeconfig)
        if server:
            cfg.host = server
        return Client(RestClient(cfg, registry=CollectorRegistry()))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fault_cluster(envtest_assets: Path) -> AsyncIterator[FaultCluster]:
    cp = ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets))
    await cp.start()
    try:
        secondary = await cp.start_extra_apiserver("kube-apiserver-2", ["--watch-cache=false"])
        yield FaultCluster(cp, secondary)
    finally:
        await cp.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def namespace_on() -> Callable[[Client], Awaitable[str]]:
    """Creates a fresh namespace through a given client (the fault cluster is discarded
    whole at the end of the module, so nothing is deleted)."""

    async def make(client: Client) -> str:
        name = f"f-{uuid.uuid4().hex[:10]}"
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    return make
