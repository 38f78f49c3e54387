"""A small operator process for the HA tests: leader-elected manager, ConfigMap -> Secret.

    python -m tests.integration.manager.ha_operator KUBECONFIG NAMESPACE IDENTITY LEDGER
        [--release-on-cancel] [--metrics-bind-address ADDR]

Every reconcile appends `reconcile <identity> <start> <end>` to the ledger (one O_APPEND write
per line, so lines from several processes never interleave), and writes the Secret with an
annotation naming the writer. Becoming leader appends `elected <identity> <time>`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

from controller_runtime import log
from controller_runtime.client import NotFoundError
from controller_runtime.controller import Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.controller.controllerutil import set_controller_reference
from controller_runtime.manager import Manager, ManagerOptions, run_until_signal

LEASE = "ha-operator"


class Ledger:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, *fields: object) -> None:
        os.write(self.fd, (" ".join(str(f) for f in fields) + "\n").encode())


class Elected:
    """A leader-gated runnable: runs only while this replica leads."""

    def __init__(self, ledger: Ledger, identity: str) -> None:
        self.ledger, self.identity = ledger, identity

    async def start(self) -> None:
        self.ledger.write("elected", self.identity, time.time())
        await asyncio.Event().wait()


class Mirror:
    def __init__(self, manager: Manager, identity: str, ledger: Ledger) -> None:
        self.client, self.identity, self.ledger = manager.client, identity, ledger

    async def reconcile(self, request: Request) -> Result:
        start = time.time()
        try:
            cm = await self.client.get("v1", "ConfigMap", request.name, request.namespace)
        except NotFoundError:
            return Result()
        try:
            await self.client.get("v1", "Secret", request.name, request.namespace)
            return Result()  # mirrored already: the first write is the one that counts
        except NotFoundError:
            pass
        secret: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": request.name,
                "namespace": request.namespace,
                "annotations": {"ha/writer": self.identity, "ha/written-at": repr(start)},
            },
            "stringData": dict(cm.get("data") or {}),
        }
        set_controller_reference(cm, secret)
        await self.client.apply(secret, field_manager="ha-operator", force=True)
        self.ledger.write("reconcile", self.identity, start, time.time())
        return Result()


async def main(args: argparse.Namespace) -> int:
    log.configure(json=True, level="info")
    ledger = Ledger(args.ledger)
    manager = await Manager.create(
        args.kubeconfig,
        ManagerOptions(
            namespace=args.namespace,
            metrics_bind_address=args.metrics_bind_address,
            leader_election=True,
            leader_election_id=LEASE,
            leader_election_namespace=args.namespace,
            leader_election_identity=args.identity,
            leader_election_release_on_cancel=args.release_on_cancel,
        ),
    )
    manager.add(Elected(ledger, args.identity))
    Builder(manager).for_("v1", "ConfigMap").owns("v1", "Secret").complete(
        Mirror(manager, args.identity, ledger)
    )
    return await run_until_signal(manager.start())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("kubeconfig", "namespace", "identity", "ledger"):
        parser.add_argument(name)
    parser.add_argument("--release-on-cancel", action="store_true")
    parser.add_argument("--metrics-bind-address", default="0")
    sys.exit(asyncio.run(main(parser.parse_args())))
