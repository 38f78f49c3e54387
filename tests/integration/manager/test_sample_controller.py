"""A sample controller built with the builder converges, heals and filters.

Widget (custom resource with a status subresource) -> owned ConfigMap carrying its size.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, NotFoundError
from controller_runtime.controller import (
    ControllerOptions,
    GenerationChanged,
    Request,
    Result,
)
from controller_runtime.controller.builder import Builder
from controller_runtime.controller.controllerutil import create_or_update, set_controller_reference
from controller_runtime.envtest import eventually
from controller_runtime.manager import Manager, ManagerOptions

W_API = "envtest.example.com/v1"


class WidgetReconciler:
    def __init__(self, manager: Manager) -> None:
        self.client = manager.client
        self.calls: Counter[str] = Counter()

    async def reconcile(self, request: Request) -> Result:
        self.calls[request.name] += 1
        try:
            widget = await self.client.get(W_API, "Widget", request.name, request.namespace)
        except NotFoundError:
            return Result()  # deleted: the garbage collector removes what it owned
        desired = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{request.name}-config", "namespace": request.namespace},
        }

        def mutate(cm: dict[str, Any]) -> None:
            cm["data"] = {"size": str(widget["spec"]["size"])}
            set_controller_reference(widget, cm)

        await create_or_update(self.client, desired, mutate)
        return Result()


@dataclass
class Sample:
    manager: Manager
    reconciler: WidgetReconciler
    kube: Client
    namespace: str


@pytest_asyncio.fixture(loop_scope="session")
async def sample(
    control_plane: Any, kube: Client, namespace: str, widget_crd: dict[str, Any]
) -> AsyncIterator[Sample]:
    manager = Manager(
        kube.rest,
        ManagerOptions(namespace=namespace, metrics_bind_address="0", registry=CollectorRegistry()),
    )
    reconciler = WidgetReconciler(manager)
    (
        Builder(manager)
        .for_(W_API, "Widget", predicates=[GenerationChanged()])
        .owns("v1", "ConfigMap")
        .with_options(ControllerOptions(max_concurrent_reconciles=4))
        .complete(reconciler)
    )
    task = asyncio.create_task(manager.start())
    await eventually(manager.elected.is_set, timeout=30)
    try:
        yield Sample(manager, reconciler, kube, namespace)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def widget(name: str, namespace: str, size: int) -> dict[str, Any]:
    return {
        "apiVersion": W_API,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size},
    }


async def configs(kube: Client, namespace: str) -> dict[str, str]:
    items = (await kube.list("v1", "ConfigMap", namespace))["items"]
    return {
        i["metadata"]["name"]: i["data"]["size"]
        for i in items
        if i["metadata"]["name"].endswith("-config")
    }


async def test_converges_500_objects_and_heals(sample: Sample) -> None:
    kube, ns = sample.kube, sample.namespace
    gate = asyncio.Semaphore(16)

    async def make(i: int) -> None:
        async with gate:
            await kube.create(widget(f"w{i:03d}", ns, i % 100 + 1))

    await asyncio.gather(*(make(i) for i in range(500)))
    expected = {f"w{i:03d}-config": str(i % 100 + 1) for i in range(500)}
    await eventually(lambda: configs(kube, ns), lambda c: c == expected, timeout=120)

    # Deleting an owned object brings it back.
    await kube.delete({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "w007-config", "namespace": ns}})  # fmt: skip
    await eventually(lambda: configs(kube, ns), lambda c: c.get("w007-config") == "8", timeout=60)

    # A spec change propagates.
    await kube.patch(widget("w001", ns, 0), {"spec": {"size": 42}})
    await eventually(lambda: configs(kube, ns), lambda c: c.get("w001-config") == "42", timeout=60)


async def test_status_only_updates_are_filtered(
    kube: Client, namespace: str, widget_crd: dict[str, Any]
) -> None:
    # Only the For() watch and one worker: every event comes from the one Widget informer, in
    # order, so "b was reconciled after a's status write" proves a's event was dropped.
    manager = Manager(
        kube.rest,
        ManagerOptions(namespace=namespace, metrics_bind_address="0", registry=CollectorRegistry()),
    )
    calls: Counter[str] = Counter()

    async def count(request: Request) -> Result:
        calls[request.name] += 1
        return Result()

    Builder(manager).for_(W_API, "Widget", predicates=[GenerationChanged()]).named(
        "filter"
    ).complete(count)
    task = asyncio.create_task(manager.start())
    try:
        await eventually(manager.elected.is_set, timeout=30)
        for name in ("a", "b"):
            await kube.create(widget(name, namespace, 1))
        await eventually(lambda: (calls["a"], calls["b"]), lambda c: c == (1, 1), timeout=30)

        await kube.status().patch(widget("a", namespace, 1), {"status": {"phase": "Busy"}})
        await kube.patch(widget("b", namespace, 1), {"spec": {"size": 5}})
        await eventually(lambda: calls["b"], lambda n: n == 2, timeout=30)
        assert calls["a"] == 1

        await kube.patch(widget("a", namespace, 1), {"spec": {"size": 9}})  # a spec change passes
        await eventually(lambda: calls["a"], lambda n: n == 2, timeout=30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
