"""Manager lifecycle: probes, failures of runnables, the order of start and stop, the
graceful-shutdown bound, the HTTP clients it owns, log context."""

from __future__ import annotations

import asyncio
import gc
import re
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client
from controller_runtime.controller import Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.envtest import ControlPlane, eventually
from controller_runtime.manager import GracefulShutdownTimeoutError, Manager, ManagerOptions

REPO = Path(__file__).resolve().parents[3]


def new_manager(kube: Client, namespace: str, **options: Any) -> Manager:
    return Manager(
        kube.rest,
        ManagerOptions(
            namespace=namespace,
            metrics_bind_address="0",
            registry=CollectorRegistry(),
            **options,
        ),
    )


async def test_probes_and_reconcile_log_context(kube: Client, namespace: str) -> None:
    manager = new_manager(kube, namespace, health_probe_bind_address="127.0.0.1:0")
    contexts: list[dict[str, Any]] = []

    async def reconcile(request: Request) -> Result:
        contexts.append(structlog.contextvars.get_contextvars())
        return Result()

    Builder(manager).for_("v1", "ConfigMap").named("logctx").complete(reconcile)
    task = asyncio.create_task(manager.start())
    try:
        await eventually(manager.elected.is_set, timeout=30)
        assert manager.health_server is not None
        base = f"http://127.0.0.1:{manager.health_server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz?verbose") as resp:
                body = await resp.text()
                assert resp.status == 200, body
                assert "[+]cache-sync ok" in body
            async with http.get(f"{base}/healthz") as resp:
                assert (resp.status, await resp.text()) == (200, "ok")

        cm = {"apiVersion": "v1", "kind": "ConfigMap"}
        await kube.create({**cm, "metadata": {"name": "ctx", "namespace": namespace}})
        found = await eventually(
            lambda: [c for c in contexts if c.get("name") == "ctx"], timeout=30
        )
        ctx = found[0]
        assert ctx["controller"] == "logctx"
        assert ctx["controllerKind"] == "ConfigMap"
        assert ctx["namespace"] == namespace
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9]+", ctx["reconcile_id"])
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Failing:
    need_leader_election = False

    async def start(self) -> None:
        raise RuntimeError("runnable broke")


async def test_a_failing_runnable_stops_the_manager(kube: Client, namespace: str) -> None:
    manager = new_manager(kube, namespace)
    manager.add(Failing())
    with pytest.raises(RuntimeError, match="runnable broke"):
        await asyncio.wait_for(manager.start(), 60)


class Stubborn:
    """Ignores the first cancellation for much longer than the grace period."""

    def __init__(self) -> None:
        self.running = asyncio.Event()

    async def start(self) -> None:
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(3600)  # cleanup that takes far too long; cancelled again


async def test_graceful_shutdown_is_bounded(kube: Client, namespace: str) -> None:
    manager = new_manager(kube, namespace, graceful_shutdown_timeout=0.5)
    stubborn = Stubborn()
    manager.add(stubborn)
    task = asyncio.create_task(manager.start())
    await asyncio.wait_for(stubborn.running.wait(), 60)
    task.cancel()
    with pytest.raises(GracefulShutdownTimeoutError, match=r"grace period of 0\.5s") as raised:
        await asyncio.wait_for(task, 30)
    assert raised.value.still_running == ["Stubborn"]
    assert "still running: Stubborn" in str(raised.value)
    with pytest.raises(RuntimeError, match="started manager"):
        manager.add(Stubborn())


async def test_controller_waits_for_a_crd_installed_after_start(
    control_plane: Any, kube: Client, namespace: str
) -> None:
    manager = new_manager(kube, namespace)
    seen: list[str] = []

    async def reconcile(request: Request) -> Result:
        seen.append(request.name)
        return Result()

    Builder(manager).for_("envtest.example.com/v1", "Gadget").complete(reconcile)
    task = asyncio.create_task(manager.start())
    try:
        await eventually(manager.elected.is_set, timeout=30)
        assert not task.done()  # the missing kind is waited for, not fatal
        await control_plane.install_crds([REPO / "tests/integration/testdata/late-crds"])
        gadget = {"apiVersion": "envtest.example.com/v1", "kind": "Gadget"}
        await kube.create({**gadget, "metadata": {"name": "late", "namespace": namespace}})
        await eventually(lambda: "late" in seen, timeout=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Probe:
    """Records its start and stop, and what the rest of the manager looked like then."""

    def __init__(self, manager: Manager, namespace: str, tag: str, log: list[str]) -> None:
        self.manager, self.namespace, self.tag, self.log = manager, namespace, tag, log
        self.need_leader_election = tag == "leader"

    async def cache_serves(self) -> bool:
        try:
            await self.manager.cache.list("v1", "ConfigMap", self.namespace)
        except Exception:
            return False
        return True

    async def start(self) -> None:
        self.log.append(f"{self.tag} start, cache serves: {await self.cache_serves()}")
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"{self.tag} stop, cache serves: {await self.cache_serves()}")


async def test_groups_start_in_order_and_stop_in_reverse(kube: Client, namespace: str) -> None:
    manager = new_manager(kube, namespace, health_probe_bind_address="127.0.0.1:0")
    log: list[str] = []
    manager.add(Probe(manager, namespace, "leader", log))
    manager.add(Probe(manager, namespace, "other", log))
    task = asyncio.create_task(manager.start())
    await eventually(lambda: len(log) == 2, timeout=60)
    assert manager.health_server is not None
    health = f"http://127.0.0.1:{manager.health_server.port}/readyz"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # Caches before the other runnables, leader-gated ones last; stopped in reverse, the
    # cache still serving them both; the servers after everything else.
    assert log == [
        "other start, cache serves: True",
        "leader start, cache serves: True",
        "other stop, cache serves: True",
        "leader stop, cache serves: True",
    ]
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(health):
            pass


async def test_the_http_clients_the_manager_created_are_closed_when_it_stops(
    control_plane: ControlPlane, namespace: str
) -> None:
    def open_sessions() -> set[int]:
        return {
            id(o) for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed
        }

    before = open_sessions()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        manager = await Manager.create(
            control_plane.kubeconfig,
            ManagerOptions(
                namespace=namespace,
                metrics_bind_address="0",
                registry=CollectorRegistry(),
                leader_election=True,
                leader_election_id="closing",
                leader_election_namespace=namespace,
            ),
        )
        task = asyncio.create_task(manager.start())
        await eventually(manager.elected.is_set, timeout=60)
        await manager.api_reader.list("v1", "ConfigMap", namespace)  # the client is in use
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert open_sessions() - before == set()
        del manager, task
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]
