"""Manager lifecycle: probes, failures of runnables, the graceful-shutdown bound, log context."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client
from controller_runtime.controller import Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.envtest import eventually
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
        assert len(ctx["reconcile_id"]) == 36
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
    with pytest.raises(GracefulShutdownTimeoutError, match=r"grace period of 0\.5s"):
        await asyncio.wait_for(task, 30)
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
