"""A RestClient that records what each request asks of RBAC: (API group, resource or
resource/subresource, verb) as the API server's authorizer sees it, and which were forbidden.

Every operator manager of the e2e tests records into one session-wide log (the ``e2e_requests``
fixture); test_rbac_verbs.py, ordered last, checks it against config/rbac."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller_runtime.client import ForbiddenError, RestClient

Access = tuple[str, str, str]
_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def access_of(method: str, path: str, watch: bool = False) -> Access | None:
    """None for discovery (every authenticated user may read it)."""
    parts = path.split("?")[0].strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    if watch:
        verb = "watch"
    elif method == "GET" and not named:
        verb = "list"
    elif method == "DELETE" and not named:
        verb = "deletecollection"
    else:
        verb = _VERBS[method]
    return group, resource, verb


@dataclass
class RequestLog:
    accesses: set[Access] = field(default_factory=set)
    forbidden: list[str] = field(default_factory=list)

    def update(self, other: RequestLog) -> None:
        self.accesses |= other.accesses
        self.forbidden += other.forbidden


# nodeid -> "passed" | "failed" | "skipped" of every test run in the session (the worst phase).
TEST_OUTCOMES = pytest.StashKey[dict[str, str]]()


class RecordingRestClient(RestClient):
    """Records into ``log`` every request it sends (plain requests and watch streams)."""

    def __init__(self, *args: Any, log: RequestLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = log

    def _record(self, method: str, path: str, watch: bool) -> None:
        access = access_of(method, path, watch)
        if access is not None:
            self.log.accesses.add(access)

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        params = kwargs.get("params") or {}
        self._record(method, path, watch=bool(params.get("watch")))
        try:
            return await super().request(method, path, **kwargs)
        except ForbiddenError as err:
            self.log.forbidden.append(f"{method} {path}: {err}")
            raise

    @contextlib.asynccontextmanager
    async def stream(self, path: str, **kwargs: Any) -> AsyncIterator[Any]:
        self._record("GET", path, watch=True)
        try:
            async with super().stream(path, **kwargs) as events:
                yield events
        except ForbiddenError as err:
            self.log.forbidden.append(f"WATCH {path}: {err}")
            raise


def granted(manifest: Path) -> set[Access]:
    """Every (group, resource, verb) a Role or ClusterRole manifest grants."""
    doc = yaml.safe_load(manifest.read_text())
    return {
        (group, resource, verb)
        for rule in doc["rules"]
        for group in rule.get("apiGroups") or ()
        for resource in rule.get("resources") or ()
        for verb in rule["verbs"]
    }
