"""A real Prometheus for tests: started on a free loopback port, scraping the given targets every
second, queried through its HTTP API.

    async with run_prometheus([ScrapeTarget(f"127.0.0.1:{port}")], tmp_path) as prom:
        series = await prom.wait_for_series('my_counter_total{job="target"}')

The binary comes from $PROMETHEUS_BIN, the PATH, or /usr/bin/prometheus;
`hack/install-system-deps.sh` installs it. Prometheus binds port 0 itself and the real port is
read from its log, so there is no window in which another process can take a probed port.
Nothing phones home: Prometheus has no telemetry, and the generated config has no remote write,
alerting or service discovery. The process runs in its own process group, which is killed on
exit; its log stays in the work dir for failure reports.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from controller_runtime.envtest import ConditionTimeout, eventually
from controller_runtime.envtest.process import ManagedProcess

INSTALL_HINT = "run hack/install-system-deps.sh (installs the Debian package `prometheus`)"
_LISTENING = re.compile(r'msg="Listening on" address=(\S+)')


class PrometheusNotInstalled(RuntimeError):
    pass


def find_prometheus() -> str:
    for candidate in (os.environ.get("PROMETHEUS_BIN"), shutil.which("prometheus")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.access("/usr/bin/prometheus", os.X_OK):
        return "/usr/bin/prometheus"
    raise PrometheusNotInstalled(f"prometheus not found; {INSTALL_HINT}")


@dataclass(frozen=True)
class ScrapeTarget:
    address: str
    """host:port"""
    job: str = "target"
    scheme: str = "http"
    metrics_path: str = "/metrics"
    bearer_token: str | None = None
    ca_file: Path | None = None
    """For https: the CA to verify with; without it, verification is skipped (self-signed)."""


def render_config(targets: Sequence[ScrapeTarget], workdir: Path, interval: str = "1s") -> str:
    jobs: list[dict[str, Any]] = []
    for i, t in enumerate(targets):
        job: dict[str, Any] = {
            "job_name": t.job,
            "scheme": t.scheme,
            "metrics_path": t.metrics_path,
            "static_configs": [{"targets": [t.address]}],
        }
        if t.bearer_token is not None:
            token_file = workdir / f"token-{i}"
            token_file.write_text(t.bearer_token)
            token_file.chmod(0o600)
            job["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
        if t.scheme == "https":
            job["tls_config"] = (
                {"ca_file": str(t.ca_file)} if t.ca_file else {"insecure_skip_verify": True}
            )
        jobs.append(job)
    config = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval},
        "scrape_configs": jobs,
    }
    return yaml.safe_dump(config, sort_keys=False)


class Prometheus:
    def __init__(self, process: ManagedProcess, url: str, session: aiohttp.ClientSession) -> None:
        self.process = process
        self.url = url
        self._session = session

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)

    async def _api(self, path: str, **params: str) -> Any:
        self.process.check_alive()
        async with self._session.get(self.url + path, params=params) as resp:
            body = await resp.json()
            if resp.status != 200 or body.get("status") != "success":
                raise AssertionError(f"GET {path} {params}: {resp.status} {body}")
            return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of expr, as `[{"metric": {...}, "value": [ts, "v"]}, ...]`."""
        data = await self._api("/api/v1/query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    async def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets with health, lastError and labels."""
        data = await self._api("/api/v1/targets", state="active")
        active: list[dict[str, Any]] = data["activeTargets"]
        return active

    async def wait_for_series(
        self, expr: str, predicate: Any = None, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Queries expr until it returns series (and predicate(series) holds, if given); on
        timeout fails with the scrape targets' state and the Prometheus log tail."""
        try:
            return await eventually(
                lambda: self.query(expr),
                until=lambda r: bool(r) and (predicate is None or bool(predicate(r))),
                timeout=timeout,
                interval=0.25,
                message=f"prometheus series {expr}",
            )
        except ConditionTimeout as exc:
            try:
                targets = await self.targets()
            except Exception as err:
                targets = [{"error": repr(err)}]
            summary = [(t.get("scrapeUrl"), t.get("health"), t.get("lastError")) for t in targets]
            raise ConditionTimeout(
                f"{exc}\ntargets: {summary}\nprometheus log:\n{self.log_tail()}"
            ) from None


@asynccontextmanager
async def run_prometheus(
    targets: Sequence[ScrapeTarget],
    workdir: Path,
    *,
    scrape_interval: str = "1s",
    start_timeout: float = 30.0,
) -> AsyncIterator[Prometheus]:
    binary = find_prometheus()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(render_config(targets, workdir, scrape_interval))
    process = ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            "--storage.tsdb.retention.time=1h",
            "--web.listen-address=127.0.0.1:0",
            "--log.level=info",
        ],
        workdir / "prometheus.log",
    )
    await process.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

            def listening() -> str | None:
                process.check_alive()
                found = _LISTENING.search(process.log_path.read_text(errors="replace"))
                return found.group(1) if found else None

            address = await eventually(
                listening, timeout=start_timeout, message="prometheus listening"
            )
            prom = Prometheus(process, f"http://{address}", session)

            async def ready() -> bool:
                process.check_alive()
                async with session.get(prom.url + "/-/ready") as resp:
                    return resp.status == 200

            await eventually(ready, timeout=start_timeout, message="prometheus ready")
            yield prom
    finally:
        await process.stop()
