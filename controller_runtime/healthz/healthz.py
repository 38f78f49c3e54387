"""Health checks and the handler that serves them (controller-runtime's `pkg/healthz`).

A checker is a callable taking the request and returning None (or an awaitable of None); it
fails by raising. The handler, mounted at a prefix such as `/healthz`, serves:

- the prefix itself (and `prefix/`): every check. All passing: 200 `ok` (with `?verbose`, the
  list of checks and `healthz check passed`). Any failing: 500 with one line per check,
  `[+]name ok` / `[+]name excluded: ok` / `[-]name failed: reason withheld`, then
  `healthz check failed`. The reason is withheld because the aggregate endpoint is public.
  `?exclude=name` (repeatable) skips a check; unknown names get a `warn:` line.
  With no checks registered there is an implicit `ping`.
- `prefix/<name>`: that one check, 200 `ok` or 500 `internal server error: <reason>`;
  404 for an unknown name.

Lines are sorted by check name, so the output is deterministic. Checks of one request run
concurrently; a checker that raises anything but Exception (cancellation) is not a failure and
propagates.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import posixpath
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web

log = structlog.get_logger("healthz")

Checker = Callable[[web.Request], Awaitable[None] | None]


def ping(request: web.Request) -> None:
    """The check that always passes."""
    return None


@dataclass(frozen=True)
class CheckStatus:
    name: str
    healthy: bool
    excluded: bool = False


def _quoted(names: Iterable[str]) -> str:
    return ",".join(json.dumps(n, ensure_ascii=False) for n in names)


def render_statuses(
    statuses: Iterable[CheckStatus], unknown_excludes: Iterable[str], verbose: bool
) -> tuple[int, str]:
    """(HTTP status, body) of an aggregated check. Pure; statuses are sorted here."""
    parts = sorted(statuses, key=lambda s: s.name)
    failed = any(not s.healthy for s in parts)
    if not failed and not verbose:
        return 200, "ok"
    lines = []
    for s in parts:
        if s.excluded:
            lines.append(f"[+]{s.name} excluded: ok\n")
        elif s.healthy:
            lines.append(f"[+]{s.name} ok\n")
        else:
            lines.append(f"[-]{s.name} failed: reason withheld\n")
    unknown = sorted(set(unknown_excludes))
    if unknown:
        lines.append(
            f"warn: some health checks cannot be excluded: no matches for {_quoted(unknown)}\n"
        )
    lines.append("healthz check failed\n" if failed else "healthz check passed\n")
    return (500 if failed else 200), "".join(lines)


def clean_subpath(tail: str) -> str:
    """The check name a request addresses below the prefix ("" for the aggregate), cleaned the
    way Go's path.Clean would ("/a/" -> "a", "//" -> "", "a/../b" -> "b")."""
    cleaned = posixpath.normpath("/" + tail)
    return cleaned.lstrip("/")


def _text(status: int, body: str) -> web.Response:
    return web.Response(
        status=status,
        text=body,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


async def run_check(checker: Checker, request: web.Request) -> None:
    """Runs one checker, sync or async; raises what it raises."""
    result = checker(request)
    if inspect.isawaitable(result):
        await result


class Handler:
    """Serves a fixed set of checks (see the module docstring). The set is copied: checks added
    to the source mapping later are not served, as in controller-runtime.

    Mount `handle` on both `prefix` and `prefix/{tail:.*}`; the `tail` match names the check."""

    def __init__(self, checks: Mapping[str, Checker], endpoint: str = "healthz") -> None:
        self.checks: dict[str, Checker] = dict(checks)
        self.endpoint = endpoint

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = clean_subpath(request.match_info.get("tail", ""))
        if not name:
            return await self.serve_aggregated(request)
        checker = self.checks.get(name)
        if checker is None and not self.checks and name == "ping":
            checker = ping
        if checker is None:
            return _text(404, "404 page not found\n")
        try:
            await run_check(checker, request)
        except Exception as exc:
            return _text(500, f"internal server error: {_reason(exc)}\n")
        return _text(200, "ok")

    async def serve_aggregated(self, request: web.Request) -> web.StreamResponse:
        excluded = set(request.query.getall("exclude", []))
        verbose = "verbose" in request.query
        to_run = {n: c for n, c in self.checks.items() if n not in excluded}
        results = await asyncio.gather(*(self._outcome(n, c, request) for n, c in to_run.items()))
        statuses = [
            CheckStatus(n, healthy=True, excluded=True) for n in self.checks if n in excluded
        ]
        statuses += [CheckStatus(n, healthy) for n, healthy in zip(to_run, results, strict=True)]
        if not self.checks:
            statuses.append(CheckStatus("ping", healthy=True))
        unknown = excluded - self.checks.keys()
        for name in sorted(unknown):
            log.debug("cannot exclude health check, no matches for it", checker=name)
        status, body = render_statuses(statuses, unknown, verbose)
        if status != 200:
            log.info(
                f"{self.endpoint} check failed", failed=[s.name for s in statuses if not s.healthy]
            )
        return _text(status, body)

    async def _outcome(self, name: str, checker: Checker, request: web.Request) -> bool:
        try:
            await run_check(checker, request)
        except Exception as exc:
            log.debug(f"{self.endpoint} check failed", checker=name, error=_reason(exc))
            return False
        return True


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
