"""What bench/scale.py and bench/floor.py share: the Sei control plane, SeiNode manifests,
sidecars that follow pods, watches that count, and readings of another process.

Not a test fixture: the benchmarks print numbers and assert nothing about speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions
from controllers.platform import Platform
from controllers.sidecar.simulator import SidecarSimulator

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
NODE_LABEL = "sei.io/node"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
PODS_PER_FAKE_NODE = 200  # kwok's fake nodes hold 250 pods; keep some room
IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"
PLATFORM_ENV = {
    "SEI_NODEPOOL_NAME": "sei-node",
    "SEI_TOLERATION_KEY": "sei.io/workload",
    "SEI_TOLERATION_VALUE": "sei-node",
    "SEI_SERVICE_ACCOUNT": "seid-node",
    "SEI_STORAGE_CLASS_PERF": "kwok-volume",
    "SEI_STORAGE_CLASS_DEFAULT": "kwok-volume",
    "SEI_STORAGE_SIZE_DEFAULT": "10Gi",
    "SEI_STORAGE_SIZE_ARCHIVE": "10Gi",
    "SEI_RESOURCE_CPU_ARCHIVE": "1",
    "SEI_RESOURCE_MEM_ARCHIVE": "1Gi",
    "SEI_RESOURCE_CPU_DEFAULT": "10m",
    "SEI_RESOURCE_MEM_DEFAULT": "16Mi",
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
Object = dict[str, Any]


def platform() -> Platform:
    return Platform.from_env(PLATFORM_ENV)


def load() -> str:
    """The 1, 5 and 15 minute load averages: the machine is shared, so each run records it."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- another process ----------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_mib(pid: int, key: str) -> float:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


async def settle(pid: int, window: float = 2.0, idle: float = 0.02) -> float:
    """Waits until the process used at most ``idle`` CPU seconds over ``window`` seconds;
    returns its CPU seconds then."""
    samples = [proc_cpu(pid)]
    per_window = 4
    while True:
        await asyncio.sleep(window / per_window)
        samples.append(proc_cpu(pid))
        if len(samples) > per_window and samples[-1] - samples[-1 - per_window] <= idle:
            return samples[-1]


def metric_sums(text: str, name: str, by: str | None = None) -> dict[str, float]:
    """Sums of the samples of ``name`` in a Prometheus text exposition, per value of the label
    ``by`` (all under "" when None)."""
    out: dict[str, float] = {}
    prefix = name + "{"
    for line in text.splitlines():
        if not (line.startswith(prefix) or line.startswith(name + " ")):
            continue
        labels, _, value = line.rpartition(" ")
        key = ""
        if by is not None:
            marker = f'{by}="'
            start = labels.find(marker)
            if start < 0:
                continue
            start += len(marker)
            key = labels[start : labels.index('"', start)]
        out[key] = out.get(key, 0.0) + float(value)
    return out


# --- the cluster --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sei_cluster(nodes: int, client_qps: float | None) -> AsyncIterator[ControlPlane]:
    """The full local control plane (kube-controller-manager, scheduler, kwok) with fake nodes
    for ``nodes`` SeiNode pods, the Sei CRDs, and the fake nodes in the platform's node pool."""
    fake_nodes = max(1, math.ceil(nodes / PODS_PER_FAKE_NODE))
    options = ControlPlaneOptions(full=True, fake_nodes=fake_nodes, client_qps=client_qps)
    async with ControlPlane(options) as cp:
        await cp.install_crds([REPO / "config" / "crd"])
        rest = RestClient(await load_config(cp.kubeconfig))
        try:
            admin = Client(rest)
            for name in cp.fake_node_names:
                node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
                nodepool = PLATFORM_ENV["SEI_NODEPOOL_NAME"]
                await admin.patch(node, {"metadata": {"labels": {NODEPOOL_LABEL: nodepool}}})
        finally:
            await rest.close()
        yield cp


def seinode(index: int, namespace: str) -> Object:
    """A full node without snapshot or peers: its plan is configure-genesis, config-apply,
    config-validate, mark-ready, all on its sidecar."""
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {"name": f"node-{index:05d}", "namespace": namespace},
        "spec": {"chainId": "bench-1", "image": IMAGE, "fullNode": {}},
    }


async def create_all(client: Client, objects: Iterable[Object], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def put(obj: Object) -> None:
        async with gate:
            await client.create(obj)

    await asyncio.gather(*(put(o) for o in objects))


async def follow(
    client: Client,
    api_version: str,
    kind: str,
    namespace: str,
    on_object: Callable[[Object], None],
    label_selector: str | None = None,
) -> None:
    """Calls ``on_object`` with every object of the kind, now and on every change, forever
    (relisting whenever the watch ends)."""
    while True:
        listed = await client.list(api_version, kind, namespace, label_selector=label_selector)
        for obj in listed["items"]:
            on_object(obj)
        rv = listed["metadata"]["resourceVersion"]
        with contextlib.suppress(Exception):
            async with client.watch(
                api_version,
                kind,
                namespace,
                resource_version=rv,
                label_selector=label_selector,
                timeout_seconds=3600,
            ) as events:
                async for event in events:
                    if event["type"] in ("ADDED", "MODIFIED"):
                        on_object(event["object"])


class Countdown:
    """Records when each name first satisfied a predicate, and when all ``total`` had."""

    def __init__(self, total: int, predicate: Callable[[Object], bool]) -> None:
        self.total = total
        self.predicate = predicate
        self.first: dict[str, float] = {}
        self.done = asyncio.Event()

    def __call__(self, obj: Object) -> None:
        name = obj["metadata"]["name"]
        if name not in self.first and self.predicate(obj):
            self.first[name] = time.monotonic()
            if len(self.first) >= self.total:
                self.done.set()

    @property
    def last(self) -> float:
        return max(self.first.values())


def phase_is(phase: str) -> Callable[[Object], bool]:
    return lambda obj: (obj.get("status") or {}).get("phase") == phase


def node_of_pod(pod: Object) -> str | None:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(NODE_LABEL)


class PodGatedSimulator:
    """Simulated sidecars on one shared port that come into being with their node's pod, as a
    real sidecar does: until the pod exists, the node's URL answers 502 (the operator retries
    after its task poll interval, as it would on a refused connection)."""

    def __init__(self) -> None:
        self.simulator = SidecarSimulator(auto_create=False)

    @property
    def url_template(self) -> str:
        return self.simulator.url_template

    def on_pod(self, pod: Object) -> None:
        name = node_of_pod(pod)
        if name is not None:
            self.simulator.node(pod["metadata"]["namespace"], name)

    @contextlib.asynccontextmanager
    async def running(self, client: Client, namespace: str) -> AsyncIterator[PodGatedSimulator]:
        await self.simulator.start()
        task = asyncio.create_task(
            follow(client, "v1", "Pod", namespace, self.on_pod, label_selector=NODE_LABEL)
        )
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.simulator.close()
