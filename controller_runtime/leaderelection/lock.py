"""Resource locks: where the leader election record is stored. The Lease lock is the only one
(client-go removed the ConfigMap and Endpoints locks).

Invariants of LeaseLock:
- `_lease` is the Lease as the server last returned it to us (get, create or update); update()
  writes on top of it, so its resourceVersion makes a concurrent writer's change a 409 Conflict.
- Every request is bounded by `request_timeout`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from controller_runtime.client import Client, Object
from controller_runtime.events.recorder import NORMAL, EventRecorder
from controller_runtime.leaderelection.record import (
    LeaderElectionRecord,
    record_from_lease_spec,
    record_to_lease_spec,
)

__all__ = ["LEASE_API_VERSION", "LeaseLock", "ResourceLock"]

LEASE_API_VERSION = "coordination.k8s.io/v1"
EVENT_REASON = "LeaderElection"


class ResourceLock(Protocol):
    """Get/create/update of the record with optimistic concurrency.

    get() raises controller_runtime.client.NotFoundError when the lock object does not exist;
    update() raises ConflictError when the object changed since this lock last read or wrote it.
    """

    @property
    def identity(self) -> str: ...

    async def get(self) -> LeaderElectionRecord: ...

    async def create(self, record: LeaderElectionRecord) -> None: ...

    async def update(self, record: LeaderElectionRecord) -> None: ...

    def record_event(self, message: str) -> None:
        """Reports `<identity> <message>` as a Normal LeaderElection event on the lock object."""
        ...

    def describe(self) -> str: ...


class LeaseLock:
    def __init__(
        self,
        client: Client,
        namespace: str,
        name: str,
        identity: str,
        *,
        labels: Mapping[str, str] | None = None,
        recorder: EventRecorder | None = None,
        request_timeout: float = 5.0,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.name = name
        self._identity = identity
        self._labels = dict(labels or {})
        self._recorder = recorder
        self._timeout = request_timeout
        self._lease: Object | None = None

    @property
    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> LeaderElectionRecord:
        async with asyncio.timeout(self._timeout):
            lease = await self._client.get(LEASE_API_VERSION, "Lease", self.name, self.namespace)
        self._lease = lease
        return record_from_lease_spec(lease.get("spec"))

    async def create(self, record: LeaderElectionRecord) -> None:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self._labels:
            metadata["labels"] = dict(self._labels)
        lease: Object = {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": metadata,
            "spec": record_to_lease_spec(record),
        }
        async with asyncio.timeout(self._timeout):
            self._lease = await self._client.create(lease)

    async def update(self, record: LeaderElectionRecord) -> None:
        if self._lease is None:
            raise RuntimeError("lease not initialized: call get or create first")
        lease = copy.deepcopy(self._lease)
        if self._labels:
            lease["metadata"].setdefault("labels", {}).update(self._labels)
        # Spec fields this lock does not manage (e.g. strategy, preferredHolder) are kept.
        lease["spec"] = {**(lease.get("spec") or {}), **record_to_lease_spec(record)}
        async with asyncio.timeout(self._timeout):
            self._lease = await self._client.update(lease)

    async def changes(self) -> AsyncIterator[LeaderElectionRecord]:
        """The record now and at every change, from a watch of this one Lease (a deleted
        Lease reads as an empty record). Ends when the server closes the watch."""
        async with self._client.watch(
            LEASE_API_VERSION,
            "Lease",
            self.namespace,
            field_selector=f"metadata.name={self.name}",
            timeout_seconds=300,
            read_timeout=330.0,
        ) as events:
            async for event in events:
                if event.get("type") in ("ADDED", "MODIFIED"):
                    yield record_from_lease_spec((event.get("object") or {}).get("spec"))
                elif event.get("type") == "DELETED":
                    yield LeaderElectionRecord()

    def record_event(self, message: str) -> None:
        if self._recorder is None:
            return
        subject: Object = {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": dict((self._lease or {}).get("metadata") or {})
            or {"name": self.name, "namespace": self.namespace},
        }
        self._recorder.event(subject, NORMAL, EVENT_REASON, f"{self._identity} {message}")
