"""The peer benchmark's job on this runtime, written as its README would: every ConfigMap is
mirrored to a Secret of the same name that it owns; one worker. The same job as go/main.go.

    KUBECONFIG=... python bench/peer/mirror.py --namespace NS [--metrics-bind-address :8080]

It prints "synced <unix nanoseconds> <CPU seconds so far>" on stdout once the ConfigMap and
Secret caches have synced, so the driver (bench/peer/run.py) can measure start-up; nothing else
is added.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import resource
import sys
import time
from typing import Any

from controller_runtime import log
from controller_runtime.client import NotFoundError
from controller_runtime.controller import ControllerOptions, Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.controller.controllerutil import create_or_update, set_controller_reference
from controller_runtime.manager import Manager, ManagerOptions, run_until_signal


class SyncedProbe:
    """The measurement hook: one line once the informers the controller uses have synced."""

    need_leader_election = False

    def __init__(self, manager: Manager) -> None:
        self.manager = manager

    async def start(self) -> None:
        for kind in ("ConfigMap", "Secret"):
            informer = await self.manager.cache.get_informer("v1", kind)
            await informer.wait_for_sync()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        print(f"synced {time.time_ns()} {cpu:.3f}", flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace", required=True, help="the only namespace to watch")
    parser.add_argument("--metrics-bind-address", default=":8080", help='"0" disables')
    args = parser.parse_args()
    log.configure(json=True, level="info")

    mgr = await Manager.create(
        options=ManagerOptions(
            namespace=args.namespace, metrics_bind_address=args.metrics_bind_address
        )
    )

    async def reconcile(request: Request) -> Result:
        try:
            cm = await mgr.client.get("v1", "ConfigMap", request.name, request.namespace)
        except NotFoundError:
            return Result()
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": cm["metadata"]["name"], "namespace": request.namespace},
        }

        def mutate(obj: dict[str, Any]) -> None:
            data = cm.get("data") or {}
            obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            set_controller_reference(cm, obj)

        await create_or_update(mgr.client, secret, mutate)
        return Result()

    (
        Builder(mgr)
        .for_("v1", "ConfigMap")
        .owns("v1", "Secret")
        .with_options(ControllerOptions(max_concurrent_reconciles=1))
        .complete(reconcile)
    )
    mgr.add(SyncedProbe(mgr))
    return await run_until_signal(mgr.start())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
