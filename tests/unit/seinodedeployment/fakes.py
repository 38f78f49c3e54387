"""In-memory stand-ins for the group's task tests: a Kubernetes client holding objects by key
(merge patches applied as the API server does, RFC 7386) and per-node sidecars."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller_runtime.client import PatchType
from controller_runtime.client.errors import AlreadyExistsError, NotFoundError
from controllers.sidecar.api import (
    SidecarClient,
    SidecarStatus,
    SidecarTaskNotFoundError,
    SidecarUnavailableError,
    TaskResult,
    TaskResultStatus,
)

Object = dict[str, Any]
Key = tuple[str, str, str, str]


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as the API server applies a JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


@dataclass
class FakeKube:
    """Objects by (apiVersion, kind, namespace, name); every write bumps resourceVersion and
    is recorded in ``writes`` as (verb, name, body)."""

    objects: dict[Key, Object] = field(default_factory=dict)
    writes: list[tuple[str, str, Any]] = field(default_factory=list)
    _version: int = 1

    def add(self, *objs: Object) -> None:
        for obj in objs:
            stored = copy.deepcopy(obj)
            self._bump(stored)
            self.objects[_key(stored)] = stored

    def _bump(self, obj: Object) -> None:
        self._version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)

    def stored(self, api_version: str, kind: str, name: str, namespace: str) -> Object:
        return self.objects[(api_version, kind, namespace, name)]

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object:
        found = self.objects.get((api_version, kind, namespace or "", name))
        if found is None:
            raise NotFoundError(404, "NotFound", f'{kind} "{name}" not found')
        return copy.deepcopy(found)

    async def create(self, obj: Object) -> Object:
        if _key(obj) in self.objects:
            raise AlreadyExistsError(409, "AlreadyExists", f"{obj['metadata']['name']} exists")
        self.writes.append(("create", obj["metadata"]["name"], copy.deepcopy(obj)))
        self.add(obj)
        return copy.deepcopy(self.objects[_key(obj)])

    async def patch(
        self, obj: Object, patch: Any, patch_type: PatchType = PatchType.MERGE
    ) -> Object:
        assert patch_type == PatchType.MERGE, "the group's tasks only merge-patch"
        key = _key(obj)
        if key not in self.objects:
            raise NotFoundError(404, "NotFound", f"{key[1]} {key[3]!r} not found")
        self.writes.append(("patch", key[3], copy.deepcopy(patch)))
        patched = apply_merge_patch(self.objects[key], patch)
        self._bump(patched)
        self.objects[key] = patched
        return copy.deepcopy(patched)

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str
    ) -> Object:
        key, _, value = label_selector.partition("=")
        items = [
            copy.deepcopy(obj)
            for (av, k, ns, _), obj in self.objects.items()
            if (av, k, ns) == (api_version, kind, namespace or "")
            and ((obj.get("metadata") or {}).get("labels") or {}).get(key) == value
        ]
        return {"items": items}

    async def delete(self, obj: Object, **kwargs: Any) -> Object | None:
        key = _key(obj)
        if self.objects.pop(key, None) is None:
            raise NotFoundError(404, "NotFound", f"{key[1]} {key[3]!r} not found")
        self.writes.append(("delete", key[3], None))
        return None


@dataclass
class NodeSidecar:
    """One node's sidecar: Initializing until it receives mark-ready, then Ready (as seictl).
    ``reachable=False`` makes every call fail as a connection refusal does."""

    name: str
    reachable: bool = True
    ready: bool = False
    submissions: list[tuple[str, dict[str, Any] | None, str | None]] = field(default_factory=list)
    tasks: dict[str, TaskResultStatus] = field(default_factory=dict)
    """Status of every task submitted with an id (running until a test settles it)."""

    @property
    def base_url(self) -> str:
        return f"http://{self.name}:7777"

    def _check(self) -> None:
        if not self.reachable:
            raise SidecarUnavailableError(f"dial tcp {self.name}:7777: connection refused")

    async def submit_task(
        self, task_type: str, params: dict[str, Any] | None = None, task_id: str | None = None
    ) -> str:
        self._check()
        self.submissions.append((task_type, params, task_id))
        if task_type == "mark-ready":
            self.ready = True
        if task_id is not None:
            self.tasks.setdefault(task_id, TaskResultStatus.RUNNING)
        return task_id or f"{self.name}-{len(self.submissions)}"

    async def get_task(self, task_id: str) -> TaskResult:
        self._check()
        status = self.tasks.get(task_id)
        if status is None:
            raise SidecarTaskNotFoundError("task not found")
        error = "height unreachable" if status == TaskResultStatus.FAILED else None
        return TaskResult(task_id, "await-condition", status, error=error)

    async def status(self) -> SidecarStatus:
        self._check()
        return SidecarStatus.READY if self.ready else SidecarStatus.INITIALIZING

    async def node_id(self) -> str:
        raise AssertionError("InPlace tasks never read node ids")


@dataclass
class NodeSidecars:
    """A SidecarClientFactory over one :class:`NodeSidecar` per node name; ``calls`` records
    (name, namespace, port) of every client built."""

    by_name: dict[str, NodeSidecar] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def __call__(self, name: str, namespace: str, port: int) -> SidecarClient:
        self.calls.append((name, namespace, port))
        return self.by_name.setdefault(name, NodeSidecar(name))
