"""What the BlueGreen/HardFork e2e tests observe: a group manifest, and a timeline of watch
events (EndpointSlices of the external Service, the Service itself, the group's SeiNodes) in
the order this process received them, each stamped with what the simulator said at that
moment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller_runtime.client import Client

from .test_group_inplace import OLD_IMAGE

Object = dict[str, Any]


def swap_group(
    name: str,
    namespace: str,
    strategy: str = "BlueGreen",
    replicas: int = 3,
    halt_height: int | None = None,
    deletion_policy: str | None = None,
) -> Object:
    update: Object = {"type": strategy}
    if halt_height is not None:
        update["hardFork"] = {"haltHeight": halt_height}
    spec: Object = {
        "replicas": replicas,
        "updateStrategy": update,
        "networking": {},
        "template": {
            "metadata": {"labels": {"team": "rpc"}},
            "spec": {"chainId": "pacific-1", "image": OLD_IMAGE, "fullNode": {}},
        },
    }
    if deletion_policy is not None:
        spec["deletionPolicy"] = deletion_policy
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@dataclass
class Seen:
    kind: str
    type: str
    obj: Object
    note: Any = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When this process received it (the simulator stamps its tasks on the same clock)."""


def ready_endpoints(slice_: Object) -> frozenset[str]:
    """Names of the pods an EndpointSlice publishes as ready."""
    return frozenset(
        e["targetRef"]["name"]
        for e in slice_.get("endpoints") or ()
        if (e.get("conditions") or {}).get("ready") and e.get("targetRef")
    )


@dataclass
class Timeline:
    """Watches, in one ordered log. ``note`` is called on every event when it arrives (e.g.
    to read the simulator's state at that moment)."""

    kube: Client
    namespace: str
    group: str
    note: Callable[[Seen], Any] | None = None
    seen: list[Seen] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _watch(
        self,
        api_version: str,
        kind: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        async with self.kube.watch(
            api_version,
            kind,
            self.namespace,
            label_selector=label_selector,
            field_selector=field_selector,
        ) as events:
            async for event in events:
                if event["type"] in ("BOOKMARK", "ERROR"):
                    continue
                seen = Seen(kind, event["type"], event["object"])
                if self.note is not None:
                    seen.note = self.note(seen)
                self.seen.append(seen)

    async def __aenter__(self) -> Timeline:
        service = f"{self.group}-external"
        self._tasks = [
            asyncio.create_task(
                self._watch(
                    "discovery.k8s.io/v1",
                    "EndpointSlice",
                    label_selector=f"kubernetes.io/service-name={service}",
                )
            ),
            asyncio.create_task(
                self._watch("v1", "Service", field_selector=f"metadata.name={service}")
            ),
            asyncio.create_task(
                self._watch(
                    "sei.io/v1alpha1",
                    "SeiNode",
                    label_selector=f"sei.io/nodedeployment={self.group}",
                )
            ),
            asyncio.create_task(
                self._watch("v1", "Pod", label_selector=f"sei.io/nodedeployment={self.group}")
            ),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def endpoint_sets(self) -> list[tuple[int, frozenset[str]]]:
        """(index in the log, ready pods) of every EndpointSlice event with ready pods."""
        return [
            (i, ready_endpoints(s.obj))
            for i, s in enumerate(self.seen)
            if s.kind == "EndpointSlice" and ready_endpoints(s.obj)
        ]

    def first(self, check: Callable[[Seen], bool]) -> int:
        return next(i for i, s in enumerate(self.seen) if check(s))

    def service_switched(self, revision: str) -> int:
        """Where the external Service first selected ``revision``."""
        return self.first(
            lambda s: (
                s.kind == "Service"
                and (s.obj["spec"].get("selector") or {}).get("sei.io/revision") == revision
            )
        )

    def node_deleted(self, names: list[str]) -> int:
        """Where one of the SeiNodes ``names`` was first seen deleted or being deleted."""

        def deleted(seen: Seen) -> bool:
            meta = seen.obj["metadata"]
            return (
                seen.kind == "SeiNode"
                and meta["name"] in names
                and (seen.type == "DELETED" or bool(meta.get("deletionTimestamp")))
            )

        return self.first(deleted)
