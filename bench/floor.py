"""The API server's floor for bench/scale.py: the same writes per SeiNode with no controller
logic, at the best concurrency of a sweep; the operator's time is then a ratio to this.

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/floor.py [--concurrency 16 64 256] [--client-qps 5000] [N ...]
        [--no-pods]   # do not wait for the pods: the API writes alone

Each N and concurrency runs on a fresh control plane, as bench/scale.py does (kube-controller-
manager, scheduler, kwok, the same client QPS). A "perfect operator" for each of N nodes, at most
`concurrency` of them sending at a time:
1. creates the SeiNode and patches its finalizer in (merge patch with resourceVersion);
2. creates the PVC, server-side applies the StatefulSet and the headless Service (the manifests
   the operator renders), and writes status Initializing with the plan (merge patch of status);
3. waits for the node's pod to exist (a watch): the operator's first sidecar task can only
   succeed then (the sidecar runs in that pod);
4. writes the plan's four tasks Complete, one status patch each, then plan Complete and phase
   Running in one, and the two PhaseTransition events (Pending->Initializing->Running).
That is 1 SeiNode create, 1 PVC create, 2 events, 1 finalizer patch, 2 applies and 6 status
patches per node: every object and status change the operator makes on the way to Running,
each written once. Rendering and plan building happen in the driver, between the writes.
Prints, per concurrency, the time from the first create to the last node Running, and the best.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import time
from datetime import UTC, datetime
from typing import Any

import structlog
from scalekit import follow, load, node_of_pod, sei_cluster, seinode
from scalekit import platform as sei_platform

from api.v1alpha1 import SeiNode, SeiNodePhase, TaskPlanPhase, TaskStatus
from controller_runtime.client import Client, PatchType, RestClient, load_config, merge_patch
from controllers.seinode import planners, render
from controllers.seinode.status import FINALIZER

FIELD_MANAGER = "seinode-controller"
Object = dict[str, Any]


def event(node: Object, reason: str, message: str) -> Object:
    meta = node["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": node["apiVersion"],
            "kind": node["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": "seinode"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class PodsSeen:
    """One event per node, set once its pod exists."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def of(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())

    def __call__(self, pod: Object) -> None:
        name = node_of_pod(pod)
        if name is not None:
            self.of(name).set()


async def perfect_operator(
    client: Client,
    obj: Object,
    gate: asyncio.Semaphore,
    pod_seen: asyncio.Event | None,
    marks: dict[str, list[float]],
) -> float:
    """Writes what the operator writes for one node; returns when it was Running."""
    platform = sei_platform()

    async def status(base: Object, node: SeiNode) -> Object:
        desired = node.to_dict().get("status") or {}
        patch = merge_patch(base.get("status") or {}, desired)
        written: Object = await client.status().patch(base, {"status": patch}, PatchType.MERGE)
        return written

    async with gate:
        base = await client.create(obj)
        rv = base["metadata"]["resourceVersion"]
        body = {"metadata": {"finalizers": [FINALIZER], "resourceVersion": rv}}
        base = await client.patch(base, body, PatchType.MERGE)
        node = SeiNode.from_dict(base)
        await client.create(render.render_pvc(node, platform))
        for manifest in (
            render.render_statefulset(node, platform),
            render.render_headless_service(node, platform),
        ):
            await client.apply(manifest, field_manager=FIELD_MANAGER, force=True)
        node.status.plan = planners.build_node_plan(node)
        node.status.phase = SeiNodePhase.INITIALIZING
        base = await status(base, node)
        await client.create(event(base, "PhaseTransition", "Pending -> Initializing"))
    marks["initializing"].append(time.monotonic())
    if pod_seen is not None:
        await pod_seen.wait()
        marks["pod"].append(time.monotonic())
    async with gate:
        plan = node.status.plan
        assert plan is not None
        for task in plan.tasks:
            task.status = TaskStatus.COMPLETE
            task.submitted_at = datetime.now(UTC)
            base = await status(base, node)
        plan.phase = TaskPlanPhase.COMPLETE
        node.status.phase = SeiNodePhase.RUNNING
        base = await status(base, node)
        await client.create(event(base, "PhaseTransition", "Initializing -> Running"))
    return time.monotonic()


async def run_once(
    n: int, concurrency: int, args: argparse.Namespace
) -> tuple[float, dict[str, float]]:
    async with sei_cluster(n, args.client_qps) as cp:
        rest = RestClient(await load_config(cp.kubeconfig))
        try:
            client = Client(rest)
            namespace = f"floor-{n}-{concurrency}"
            ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            await client.create(ns)
            pods = PodsSeen()
            watch = asyncio.create_task(follow(client, "v1", "Pod", namespace, pods))
            gate = asyncio.Semaphore(concurrency)
            objects = [seinode(i, namespace) for i in range(n)]
            marks: dict[str, list[float]] = {"initializing": [], "pod": []}
            t0, cpu0 = time.monotonic(), time.process_time()
            done = await asyncio.gather(
                *(
                    perfect_operator(
                        client,
                        o,
                        gate,
                        None if args.no_pods else pods.of(o["metadata"]["name"]),
                        marks,
                    )
                    for o in objects
                )
            )
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            milestones = {f"last {k}": max(v) - t0 for k, v in marks.items() if v}
            milestones["driver CPU"] = time.process_time() - cpu0
            return max(done) - t0, milestones
        finally:
            await rest.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument(
        "--client-qps",
        type=float,
        default=5000.0,
        help="kube-controller-manager/scheduler client QPS (0: their defaults)",
    )
    parser.add_argument("--no-pods", action="store_true", help="do not wait for the pods")
    args = parser.parse_args()
    args.client_qps = args.client_qps or None
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; kcm/scheduler QPS "
        f"{args.client_qps or 'default'}; pods waited for: {not args.no_pods}; load {load()}",
        flush=True,
    )
    for n in args.sizes:
        times: dict[int, float] = {}
        for concurrency in args.concurrency:
            before = load()
            times[concurrency], marks = await run_once(n, concurrency, args)
            milestones = ", ".join(f"{k} {v:.1f} s" for k, v in marks.items())
            print(
                f"N={n} concurrency {concurrency}: all Running {times[concurrency]:.1f} s "
                f"({milestones}; load before {before}, after {load()})",
                flush=True,
            )
        best = min(times, key=lambda c: times[c])
        print(f"N={n} floor: {times[best]:.1f} s at concurrency {best}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
