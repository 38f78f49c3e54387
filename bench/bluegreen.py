"""BlueGreen rollout latency: an image bump of a SeiNodeDeployment to RolloutComplete, for 3 and
30 replicas (by default), on the full local control plane (kwok: instant pod readiness) with
simulated sidecars that follow the pods (local fleet).

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/bluegreen.py [replicas ...]

Milestones, in seconds from the bump, as watches on the group, its SeiNodes and the external
Service observed them: entrants created (all exist), entrants Running (all), switched (the
external Service selects the entrants' revision), torn down (every incumbent SeiNode gone), old
pods terminating (garbage collection reached every incumbent pod), done (RolloutComplete).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
from typing import Any

import structlog
from rollout import IMAGES, operator

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions, eventually


def _group(namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "BlueGreen"},
            "networking": {},
            "template": {"spec": {"chainId": "bench-1", "image": IMAGES[0], "fullNode": {}}},
        },
    }


class Timeline:
    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.marks: dict[str, float] = {}
        self.entrants: dict[str, str] = {}
        self.incumbents = {f"bench-{i}" for i in range(replicas)}
        self.old_pods = {f"bench-{i}-0" for i in range(replicas)}

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.monotonic())

    def on_group(self, kind: str, obj: dict[str, Any]) -> None:
        conditions = (obj.get("status") or {}).get("conditions") or ()
        cond = next((c for c in conditions if c["type"] == "RolloutInProgress"), None)
        if cond and cond["reason"] == "RolloutComplete":
            self.mark("done")

    def on_node(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.incumbents.discard(name)
            if not self.incumbents:
                self.mark("torn down")
            return
        if "-g" in name:
            self.entrants[name] = (obj.get("status") or {}).get("phase") or ""
            if len(self.entrants) == self.replicas:
                self.mark("entrants created")
                if set(self.entrants.values()) == {"Running"}:
                    self.mark("entrants Running")

    def on_pod(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED" or obj["metadata"].get("deletionTimestamp"):
            self.old_pods.discard(obj["metadata"]["name"])
            if not self.old_pods:
                self.mark("old pods terminating")

    def on_service(self, kind: str, obj: dict[str, Any]) -> None:
        if (obj["spec"].get("selector") or {}).get("sei.io/revision") == "2":
            self.mark("switched")


async def _watch(kube: Client, api_version: str, kind: str, namespace: str, fn: Any) -> None:
    async with kube.watch(api_version, kind, namespace) as events:
        async for event in events:
            if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                fn(event["type"], event["object"])


async def measure(cp: ControlPlane, replicas: int) -> dict[str, float]:
    namespace = f"bg-{replicas}-{int(time.time())}"
    async with operator(cp, namespace, 1) as kube:
        await kube.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        await kube.create(_group(namespace, replicas))

        async def group() -> dict[str, Any]:
            return await kube.get("sei.io/v1alpha1", "SeiNodeDeployment", "bench", namespace)

        await eventually(
            group, lambda g: (g.get("status") or {}).get("phase") == "Ready", timeout=600
        )
        timeline = Timeline(replicas)
        watches = [
            asyncio.create_task(_watch(kube, *args))
            for args in (
                ("sei.io/v1alpha1", "SeiNodeDeployment", namespace, timeline.on_group),
                ("sei.io/v1alpha1", "SeiNode", namespace, timeline.on_node),
                ("v1", "Service", namespace, timeline.on_service),
                ("v1", "Pod", namespace, timeline.on_pod),
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
    return {k: v - t0 for k, v in timeline.marks.items()}


MILESTONES = (
    "entrants created",
    "entrants Running",
    "switched",
    "torn down",
    "old pods terminating",
    "done",
)


async def main(sizes: list[int]) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores\n")
    async with ControlPlane(ControlPlaneOptions(full=True, fake_nodes=3)) as cp:
        await cp.install_crds(["config/crd"])
        rest = RestClient(await load_config(cp.kubeconfig))
        admin = Client(rest)
        for name in cp.fake_node_names:
            node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
            await admin.patch(node, {"metadata": {"labels": {"karpenter.sh/nodepool": "sei-node"}}})
        await rest.close()
        print("| replicas | " + " | ".join(f"{m} s" for m in MILESTONES) + " |")
        print("|---" * (len(MILESTONES) + 1) + "|")
        for replicas in sizes:
            marks = await measure(cp, replicas)
            cells = " | ".join(f"{marks.get(m, float('nan')):.2f}" for m in MILESTONES)
            print(f"| {replicas} | {cells} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [3, 30]))
