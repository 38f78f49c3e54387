"""The peer benchmark's SeiNode-like job on this runtime, written as its README would: every
PeerNode (bench.sei.io/v1) gets a data PVC (created once), a StatefulSet and a headless Service
(``create_or_update``), all owned by it, and status.phase Running once they exist. The same job
as go/workload/main.go.

    KUBECONFIG=... python bench/peer/workload.py --namespace NS [--workers 1]
        [--metrics-bind-address :8080]

It prints "synced <unix nanoseconds> <CPU seconds so far>" on stdout once its caches have
synced, so the driver (bench/peer/workload_run.py) can measure start-up; nothing else is added.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys
import time
from typing import Any

from controller_runtime import log
from controller_runtime.client import NotFoundError
from controller_runtime.client.errors import AlreadyExistsError
from controller_runtime.controller import ControllerOptions, Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.controller.controllerutil import create_or_update, set_controller_reference
from controller_runtime.manager import Manager, ManagerOptions, run_until_signal

API_VERSION = "bench.sei.io/v1"
KINDS = (
    (API_VERSION, "PeerNode"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
)
Object = dict[str, Any]


class SyncedProbe:
    """The measurement hook: one line once the informers the controller uses have synced."""

    need_leader_election = False

    def __init__(self, manager: Manager) -> None:
        self.manager = manager

    async def start(self) -> None:
        for api_version, kind in KINDS:
            informer = await self.manager.cache.get_informer(api_version, kind)
            await informer.wait_for_sync()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        print(f"synced {time.time_ns()} {cpu:.3f}", flush=True)


def mutate_statefulset(node: Object, sts: Object, labels: dict[str, str], claim: str) -> None:
    spec = sts.setdefault("spec", {})
    sts["metadata"]["labels"] = labels
    spec["replicas"] = 1
    spec["serviceName"] = node["metadata"]["name"]
    spec.setdefault("selector", {"matchLabels": labels})  # immutable once created
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})["labels"] = labels
    pod = template.setdefault("spec", {})
    containers = pod.setdefault("containers", [])
    if not containers:
        containers.append({"name": "seid"})
    container = containers[0]
    container["image"] = node["spec"]["image"]
    container["ports"] = [
        {"name": "rpc", "containerPort": 26657, "protocol": "TCP"},
        {"name": "p2p", "containerPort": 26656, "protocol": "TCP"},
    ]
    container["volumeMounts"] = [{"name": "data", "mountPath": "/sei"}]
    pod["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    set_controller_reference(node, sts)


def mutate_service(node: Object, svc: Object, labels: dict[str, str]) -> None:
    spec = svc.setdefault("spec", {})
    svc["metadata"]["labels"] = labels
    spec["clusterIP"] = "None"
    spec["selector"] = labels
    spec["ports"] = [
        {"name": "rpc", "port": 26657, "targetPort": 26657, "protocol": "TCP"},
        {"name": "p2p", "port": 26656, "targetPort": 26656, "protocol": "TCP"},
    ]
    set_controller_reference(node, svc)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace", required=True, help="the only namespace to watch")
    parser.add_argument("--metrics-bind-address", default=":8080", help='"0" disables')
    parser.add_argument("--workers", type=int, default=1, help="max concurrent reconciles")
    args = parser.parse_args()
    log.configure(json=True, level="info")

    mgr = await Manager.create(
        options=ManagerOptions(
            namespace=args.namespace, metrics_bind_address=args.metrics_bind_address
        )
    )
    client = mgr.client

    async def reconcile(request: Request) -> Result:
        try:
            node = await client.get(API_VERSION, "PeerNode", request.name, request.namespace)
        except NotFoundError:
            return Result()
        name, namespace = node["metadata"]["name"], request.namespace
        labels = {"bench.sei.io/node": name}

        claim = f"data-{name}"
        try:
            await client.get("v1", "PersistentVolumeClaim", claim, namespace)
        except NotFoundError:
            pvc: Object = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": namespace, "labels": labels},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": node["spec"]["storage"]}},
                },
            }
            set_controller_reference(node, pvc)
            with contextlib.suppress(AlreadyExistsError):
                await client.create(pvc)

        meta = {"name": name, "namespace": namespace}
        sts: Object = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": dict(meta)}
        await create_or_update(
            client, sts, lambda obj: mutate_statefulset(node, obj, labels, claim)
        )
        svc: Object = {"apiVersion": "v1", "kind": "Service", "metadata": dict(meta)}
        await create_or_update(client, svc, lambda obj: mutate_service(node, obj, labels))

        status = node.get("status") or {}
        generation = node["metadata"].get("generation")
        if status.get("phase") != "Running" or status.get("observedGeneration") != generation:
            node["status"] = {**status, "phase": "Running", "observedGeneration": generation}
            await client.status().update(node)
        return Result()

    (
        Builder(mgr)
        .for_(API_VERSION, "PeerNode")
        .owns("v1", "PersistentVolumeClaim")
        .owns("apps/v1", "StatefulSet")
        .owns("v1", "Service")
        .with_options(ControllerOptions(max_concurrent_reconciles=args.workers))
        .complete(reconcile)
    )
    mgr.add(SyncedProbe(mgr))
    return await run_until_signal(mgr.start())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
