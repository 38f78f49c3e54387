"""An in-memory lock store shared by candidates, with resourceVersion-style concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from controller_runtime.client import AlreadyExistsError, ConflictError, NotFoundError
from controller_runtime.leaderelection import LeaderElectionRecord


@dataclass
class LeaseStore:
    """The "API server": one record and a version bumped on every write."""

    record: LeaderElectionRecord | None = None
    version: int = 0
    failing: bool = False
    """Every request fails with a connection error (a network partition)."""
    calls: list[str] = field(default_factory=list)

    def write(self, record: LeaderElectionRecord) -> None:
        """A write by someone outside the test's electors."""
        self.record = record
        self.version += 1


class FakeLock:
    def __init__(self, identity: str, store: LeaseStore) -> None:
        self._identity = identity
        self.store = store
        self.seen_version: int | None = None
        self.events: list[str] = []

    @property
    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return "fake/lease"

    def _call(self, op: str) -> None:
        self.store.calls.append(f"{self._identity}:{op}")
        if self.store.failing:
            raise ConnectionError("network unreachable")

    async def get(self) -> LeaderElectionRecord:
        self._call("get")
        if self.store.record is None:
            raise NotFoundError(404, "NotFound", "lease not found")
        self.seen_version = self.store.version
        return self.store.record

    async def create(self, record: LeaderElectionRecord) -> None:
        self._call("create")
        if self.store.record is not None:
            raise AlreadyExistsError(409, "AlreadyExists", "lease exists")
        self.store.write(record)
        self.seen_version = self.store.version

    async def update(self, record: LeaderElectionRecord) -> None:
        self._call("update")
        if self.seen_version is None:
            raise RuntimeError("lease not initialized")
        if self.seen_version != self.store.version:
            raise ConflictError(409, "Conflict", "the object has been modified")
        self.store.write(record)
        self.seen_version = self.store.version

    def record_event(self, message: str) -> None:
        self.events.append(f"{self._identity} {message}")


async def until(condition: Callable[[], bool], limit: int = 2000) -> None:
    """Yields to the event loop until condition holds (everything here is in memory, so a
    bounded number of loop iterations is enough; no wall-clock time passes)."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")
