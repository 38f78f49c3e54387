"""In-memory stand-ins for unit tests of the plan engine and monitor tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import Resource
from controllers.plan.engine import TaskContext
from controllers.sidecar.api import (
    SidecarClient,
    SidecarError,
    SidecarStatus,
    SidecarTaskNotFoundError,
    TaskResult,
    TaskResultStatus,
)

FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Submission:
    task_type: str
    params: dict[str, Any] | None
    task_id: str | None


@dataclass
class FakeSidecar:
    """A sidecar that records every accepted submission and answers GETs from ``results``.

    ``complete_on_submit`` makes every accepted task complete at once; ``rerun_failed`` makes a
    submission of a failed id run it again (Running), as real sidecars do (spec 7.3);
    ``submit_error`` and ``get_error`` make those calls fail; ``returned_id`` is the id answered
    for a submission without one (else a random UUID); ``assigned_id``, when set, is the id
    answered for every submission, whatever id was asked (a sidecar that names tasks itself).
    ``reported_status`` is what ``GET /v0/status`` answers: a fresh sidecar is Initializing
    until it accepts mark-ready, then Ready.
    By default an accepted task without a result answers 404 (accepted but lost); with
    ``record_submissions`` it answers ``running``, as the real sidecar does."""

    submissions: list[Submission] = field(default_factory=list)
    results: dict[str, TaskResult] = field(default_factory=dict)
    complete_on_submit: bool = False
    rerun_failed: bool = False
    submit_error: SidecarError | None = None
    get_error: SidecarError | None = None
    returned_id: str | None = None
    assigned_id: str | None = None
    reported_status: SidecarStatus = SidecarStatus.INITIALIZING
    record_submissions: bool = False
    gets: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return "http://fake-sidecar:7777"

    def set_result(self, task_id: str, status: TaskResultStatus, error: str | None = None) -> None:
        self.results[task_id] = TaskResult(id=task_id, type="", status=status, error=error)

    def submitted_types(self) -> list[str]:
        return [s.task_type for s in self.submissions]

    async def submit_task(
        self, task_type: str, params: dict[str, Any] | None = None, task_id: str | None = None
    ) -> str:
        if self.submit_error is not None:
            raise self.submit_error
        self.submissions.append(Submission(task_type, params, task_id))
        if task_type == "mark-ready":
            self.reported_status = SidecarStatus.READY
        answered = self.assigned_id or task_id or self.returned_id or str(uuid.uuid4())
        previous = self.results.get(answered)
        if (
            self.rerun_failed
            and previous is not None
            and previous.status == TaskResultStatus.FAILED
        ):
            self.set_result(answered, TaskResultStatus.RUNNING)
        if self.complete_on_submit:
            self.results[answered] = TaskResult(
                id=answered, type=task_type, status=TaskResultStatus.COMPLETED
            )
        elif self.record_submissions and answered not in self.results:
            self.results[answered] = TaskResult(
                id=answered, type=task_type, status=TaskResultStatus.RUNNING
            )
        return answered

    async def get_task(self, task_id: str) -> TaskResult:
        self.gets.append(task_id)
        if self.get_error is not None:
            raise self.get_error
        if task_id not in self.results:
            raise SidecarTaskNotFoundError(f"task {task_id} not found")
        return self.results[task_id]

    async def status(self) -> SidecarStatus:
        return self.reported_status

    async def node_id(self) -> str:
        return "0" * 40


class UnusedKube:
    """A Kubernetes client for contexts whose tasks must not call the API."""

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        raise AssertionError("unexpected Kubernetes get")

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("unexpected Kubernetes create")

    async def patch(self, obj: dict[str, Any], patch: Any, *args: Any) -> dict[str, Any]:
        raise AssertionError("unexpected Kubernetes patch")

    async def delete(self, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        raise AssertionError("unexpected Kubernetes delete")


def sidecar_context(
    owner: Resource, sidecar: SidecarClient | None = None, sidecar_error: str | None = None
) -> TaskContext:
    """A context whose tasks reach ``sidecar`` (or fail to build a client with
    ``sidecar_error``) and never the Kubernetes API."""

    def build() -> SidecarClient:
        if sidecar_error is not None:
            raise SidecarError(sidecar_error)
        assert sidecar is not None
        return sidecar

    return TaskContext.for_owner(owner, client=UnusedKube(), sidecar=build, now=lambda: FIXED_NOW)
