"""InPlace rollout latency: an image bump of a SeiNodeDeployment to RolloutComplete, for 3, 30
and 100 replicas, on the full local control plane (kwok: instant pod readiness) with simulated
sidecars that follow the pods (local fleet: a rolled pod's sidecar comes up Initializing).

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/rollout.py [--workers N] [replicas ...]

--workers: the manager's max concurrent reconciles per controller (default 1, the reference's).

The total is split by what a watch on the group, its SeiNodes and their StatefulSets observed:
- controller: bump -> rollout recorded; rollout recorded -> every child on the new spec;
  last pod Ready on the new template -> RolloutComplete (release of the sidecars included);
- waiting: every child on the new spec -> last pod Ready on the new template (the StatefulSet
  controller and kwok rolling the pods).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions, eventually
from controller_runtime.manager import ControllerConfig, Manager, ManagerOptions
from controllers.operator import OperatorOptions, setup_operator
from controllers.platform import Platform
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simulator import SidecarSimulator

PLATFORM_ENV = {
    "SEI_NODEPOOL_NAME": "sei-node",
    "SEI_TOLERATION_KEY": "sei.io/workload",
    "SEI_TOLERATION_VALUE": "sei-node",
    "SEI_SERVICE_ACCOUNT": "seid-node",
    "SEI_STORAGE_CLASS_PERF": "kwok-volume",
    "SEI_STORAGE_CLASS_DEFAULT": "gp3",
    "SEI_STORAGE_SIZE_DEFAULT": "10Gi",
    "SEI_STORAGE_SIZE_ARCHIVE": "10Gi",
    "SEI_RESOURCE_CPU_ARCHIVE": "1",
    "SEI_RESOURCE_MEM_ARCHIVE": "1Gi",
    "SEI_RESOURCE_CPU_DEFAULT": "100m",
    "SEI_RESOURCE_MEM_DEFAULT": "128Mi",
    "SEI_SNAPSHOT_BUCKET": "bench",
    "SEI_SNAPSHOT_REGION": "local",
    "SEI_RESULT_EXPORT_BUCKET": "bench",
    "SEI_RESULT_EXPORT_REGION": "local",
    "SEI_RESULT_EXPORT_PREFIX": "bench/",
    "SEI_GENESIS_BUCKET": "bench",
    "SEI_GENESIS_REGION": "local",
    "SEI_GATEWAY_NAME": "gw",
    "SEI_GATEWAY_NAMESPACE": "gw",
    "SEI_GATEWAY_DOMAIN": "bench.local",
}
IMAGES = ("ghcr.io/sei-protocol/sei:v6.3.0", "ghcr.io/sei-protocol/sei:v6.4.0")


@contextlib.asynccontextmanager
async def operator(cp: ControlPlane, namespace: str, workers: int) -> AsyncIterator[Client]:
    rest = RestClient(await load_config(cp.kubeconfig))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(rest.close)
        sim = await stack.enter_async_context(SidecarSimulator())
        fleet = await stack.enter_async_context(
            LocalFleet(Client(rest), SimulatorLauncher(sim), namespace=namespace)
        )
        sidecars = await stack.enter_async_context(HTTPSidecarClientFactory(fleet.url_for))
        mgr_rest = RestClient(rest.configuration)
        stack.push_async_callback(mgr_rest.close)
        mgr = Manager(
            mgr_rest,
            ManagerOptions(
                namespace=namespace,
                metrics_bind_address="0",
                field_owner="manager",
                registry=CollectorRegistry(),
                controller=ControllerConfig(max_concurrent_reconciles=workers),
            ),
        )
        setup_operator(mgr, OperatorOptions(Platform.from_env(PLATFORM_ENV), sidecars))
        task = asyncio.create_task(mgr.start())
        try:
            yield Client(rest)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _group(namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "InPlace"},
            "template": {"spec": {"chainId": "bench-1", "image": IMAGES[0], "fullNode": {}}},
        },
    }


class Timeline:
    """First time each milestone was observed by watches."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.marks: dict[str, float] = {}
        self.new_spec: set[str] = set()
        self.rolled: set[str] = set()

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.monotonic())

    def on_group(self, obj: dict[str, Any]) -> None:
        status = obj.get("status") or {}
        if status.get("rollout"):
            self.mark("started")
        cond = next(
            (c for c in status.get("conditions") or () if c["type"] == "RolloutInProgress"), None
        )
        if cond and cond["reason"] == "RolloutComplete":
            self.mark("done")

    def on_node(self, obj: dict[str, Any]) -> None:
        if (obj.get("spec") or {}).get("image") == IMAGES[1]:
            self.new_spec.add(obj["metadata"]["name"])
            if len(self.new_spec) == self.replicas:
                self.mark("specs")

    def on_statefulset(self, obj: dict[str, Any]) -> None:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        image = next((c.get("image") for c in containers if c.get("name") == "seid"), None)
        generation = (obj.get("metadata") or {}).get("generation")
        if (
            image == IMAGES[1]
            and status.get("observedGeneration") == generation
            and status.get("updatedReplicas") == 1
            and status.get("readyReplicas") == 1
        ):
            self.rolled.add(obj["metadata"]["name"])
            if len(self.rolled) == self.replicas:
                self.mark("rolled")


async def _watch(kube: Client, api_version: str, kind: str, namespace: str, fn: Any) -> None:
    async with kube.watch(api_version, kind, namespace) as events:
        async for event in events:
            if event.get("type") in ("ADDED", "MODIFIED"):
                fn(event["object"])


async def measure(cp: ControlPlane, replicas: int, workers: int) -> dict[str, float]:
    namespace = f"bench-{replicas}-{int(time.time())}"
    async with operator(cp, namespace, workers) as kube:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        await kube.create(_group(namespace, replicas))

        async def ready() -> dict[str, Any]:
            return await kube.get("sei.io/v1alpha1", "SeiNodeDeployment", "bench", namespace)

        await eventually(
            ready,
            lambda g: (g.get("status") or {}).get("phase") == "Ready",
            timeout=600,
            message="group Ready",
        )
        timeline = Timeline(replicas)
        watches = [
            asyncio.create_task(_watch(kube, *args))
            for args in (
                ("sei.io/v1alpha1", "SeiNodeDeployment", namespace, timeline.on_group),
                ("sei.io/v1alpha1", "SeiNode", namespace, timeline.on_node),
                ("apps/v1", "StatefulSet", namespace, timeline.on_statefulset),
            )
        ]
        await asyncio.sleep(1)  # watches established (their initial events are old state)
        t0 = time.monotonic()
        obj = {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {"name": "bench", "namespace": namespace},
        }
        await kube.patch(obj, {"spec": {"template": {"spec": {"image": IMAGES[1]}}}})
        await eventually(lambda: "done" in timeline.marks, timeout=900, message="rollout done")
        for task in watches:
            task.cancel()
        await kube.delete(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    m = {k: v - t0 for k, v in timeline.marks.items()}
    controller = m["started"] + (m["specs"] - m["started"]) + (m["done"] - m["rolled"])
    return {
        "total": m["done"],
        "controller": controller,
        "waiting": m["rolled"] - m["specs"],
        "started": m["started"],
        "specs": m["specs"],
        "rolled": m["rolled"],
    }


async def main(sizes: list[int], workers: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; workers: {workers}\n")
    async with ControlPlane(ControlPlaneOptions(full=True, fake_nodes=3)) as cp:
        await cp.install_crds(["config/crd"])
        rest = RestClient(await load_config(cp.kubeconfig))
        admin = Client(rest)
        for name in cp.fake_node_names:
            node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
            await admin.patch(node, {"metadata": {"labels": {"karpenter.sh/nodepool": "sei-node"}}})
        await rest.close()
        print("| replicas | total s | controller s | waiting s | recorded s | specs s | rolled s |")
        print("|---|---|---|---|---|---|---|")
        for replicas in sizes:
            r = await measure(cp, replicas, workers)
            print(
                f"| {replicas} | {r['total']:.2f} | {r['controller']:.2f} | {r['waiting']:.2f} "
                f"| {r['started']:.2f} | {r['specs']:.2f} | {r['rolled']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    args = sys.argv[1:]
    workers = 1
    if args[:1] == ["--workers"]:
        workers, args = int(args[1]), args[2:]
    asyncio.run(main([int(a) for a in args] or [3, 30, 100], workers))
