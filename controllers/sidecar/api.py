"""The sidecar HTTP API as the controller sees it (spec section 7): wire types, errors and the
client protocol. The aiohttp client, the simulator and the in-memory fake all implement
:class:`SidecarClient`; the plan engine and reconcilers depend only on this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "DEFAULT_SIDECAR_PORT",
    "SIDECAR_TIMEOUT_SECONDS",
    "SidecarClient",
    "SidecarClientFactory",
    "SidecarError",
    "SidecarMalformedError",
    "SidecarRejectedError",
    "SidecarStatus",
    "SidecarTaskNotFoundError",
    "SidecarUnavailableError",
    "SidecarUnreachableError",
    "TaskResult",
    "TaskResultStatus",
]

DEFAULT_SIDECAR_PORT = 7777
# Per request, connect and body included (spec 7.1). No retries inside the client: retries come
# from requeues.
SIDECAR_TIMEOUT_SECONDS = 10.0


class SidecarStatus(StrEnum):
    """``GET /v0/status`` -> ``{"status": ...}``. ``Ready`` iff ``/v0/healthz`` answers 200."""

    INITIALIZING = "Initializing"
    READY = "Ready"


class TaskResultStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TaskResult:
    """``GET /v0/tasks/{id}``. ``raw`` keeps the whole answer (newer sidecars add ``run``)."""

    id: str
    type: str
    status: TaskResultStatus
    error: str | None = None
    params: dict[str, Any] | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    raw: dict[str, Any] | None = None


class SidecarError(Exception):
    """Any failed sidecar call. The message says what went wrong and is safe to put in status."""


class SidecarUnavailableError(SidecarError):
    """Transport failure: connection refused/reset, DNS, timeout, or a body that is not the
    expected JSON (the sidecar is restarting, hung, or not what we think it is)."""


class SidecarUnreachableError(SidecarUnavailableError):
    """Nothing listens at the sidecar's address (connection refused, no such host): its pod
    is not up yet, or gone. Expected for a while after every pod start."""


class SidecarMalformedError(SidecarUnavailableError):
    """Something answered, but not the sidecar API: not JSON, the wrong shape or types, an
    unknown value, or a body larger than the client reads. Never expected of a sidecar."""


class SidecarRejectedError(SidecarError):
    """The sidecar answered 400 to a task submission: ``sidecar rejected <type> task: <msg>``."""


class SidecarTaskNotFoundError(SidecarError):
    """``GET /v0/tasks/{id}`` answered 404: the sidecar has no record of that task."""


class SidecarClient(Protocol):
    """One node's sidecar. Every method raises :class:`SidecarError` (or a subclass) and nothing
    else; it never hangs longer than :data:`SIDECAR_TIMEOUT_SECONDS`."""

    @property
    def base_url(self) -> str: ...

    async def submit_task(
        self, task_type: str, params: dict[str, Any] | None = None, task_id: str | None = None
    ) -> str:
        """``POST /v0/tasks`` with ``{"id"?, "type", "params"?}`` (keys omitted when None).
        Returns the id the sidecar answered (201 or 202). Idempotent by id: re-posting an id that
        is running or completed returns it without re-running; a failed one is re-run."""
        ...

    async def get_task(self, task_id: str) -> TaskResult:
        """``GET /v0/tasks/{id}``; 404 raises :class:`SidecarTaskNotFoundError`."""
        ...

    async def status(self) -> SidecarStatus:
        """``GET /v0/status``."""
        ...

    async def node_id(self) -> str:
        """``GET /v0/node-id`` -> the 40-hex Tendermint node id."""
        ...


class SidecarClientFactory(Protocol):
    """Builds the client of one node's sidecar from the node's name, namespace and sidecar port
    (spec 7.1 default URL, or the operator's URL template). Cheap; shares one HTTP session."""

    def __call__(self, name: str, namespace: str, port: int) -> SidecarClient: ...
