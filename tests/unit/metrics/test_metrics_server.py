"""The metrics server over plain HTTP: configuration rules, formats, lifecycle."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterable

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from controller_runtime.metrics import MetricsServer, register_process_collectors


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("unit_events", "Events.", ["kind"], registry=registry).labels("a").inc(2)
    return registry


async def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(
            method, url, headers={"Accept-Encoding": "identity", **(headers or {})}
        ) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def hello(request: web.Request) -> web.StreamResponse:
    return web.Response(text=f"hello {request.path}")


@pytest_asyncio.fixture(loop_scope="session")
async def server(registry: CollectorRegistry) -> AsyncIterator[MetricsServer]:
    server = MetricsServer(
        "127.0.0.1:0", registry, extra_handlers={"/debug/": hello, "/hello": hello}
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_metrics_path_cannot_be_overridden() -> None:
    with pytest.raises(ValueError, match="overriding builtin /metrics endpoint is not allowed"):
        MetricsServer(":0", CollectorRegistry(), extra_handlers={"/metrics": hello})


def test_extra_paths_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        MetricsServer(":0", CollectorRegistry(), extra_handlers={"debug": hello})


def test_secure_serving_needs_a_client() -> None:
    with pytest.raises(ValueError, match="needs a client"):
        MetricsServer(":0", CollectorRegistry(), secure=True)


def test_malformed_bind_address_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="missing port"):
        MetricsServer("8080", CollectorRegistry())


def test_empty_bind_address_means_the_library_default() -> None:
    assert MetricsServer("", CollectorRegistry()).bind_address == ":8080"


async def test_zero_disables_the_server() -> None:
    registry = CollectorRegistry()
    server = MetricsServer("0", registry)
    assert not server.enabled
    await server.start()
    await server.stop()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = server.port
    # A disabled server leaves the registry alone.
    assert registry.get_sample_value("process_cpu_seconds_total") is None


async def test_serves_prometheus_text_by_default(server: MetricsServer) -> None:
    status, headers, body = await fetch(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    assert '# TYPE unit_events_total counter\nunit_events_total{kind="a"} 2.0\n' in text
    assert "process_cpu_seconds_total" in text
    assert "python_info{" in text
    assert "python_gc_objects_collected_total" in text


async def test_serves_openmetrics_when_asked(server: MetricsServer) -> None:
    accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    status, headers, body = await fetch(
        f"http://127.0.0.1:{server.port}/metrics", {"Accept": accept}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert "# TYPE unit_events counter\n" in text
    assert text.endswith("# EOF\n")


async def test_compresses_when_the_client_accepts_gzip(server: MetricsServer) -> None:
    status, headers, body = await fetch(
        f"http://127.0.0.1:{server.port}/metrics", {"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert b"unit_events_total" in gzip.decompress(body)


async def test_head_and_wrong_methods(server: MetricsServer) -> None:
    status, _, body = await fetch(f"http://127.0.0.1:{server.port}/metrics", method="HEAD")
    assert (status, body) == (200, b"")
    status, _, _ = await fetch(f"http://127.0.0.1:{server.port}/metrics", method="POST")
    assert status == 405


async def test_extra_handlers_exact_and_subtree(server: MetricsServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert (await fetch(base + "/hello"))[::2] == (200, b"hello /hello")
    assert (await fetch(base + "/hello/x"))[0] == 404
    assert (await fetch(base + "/debug/pprof/heap"))[::2] == (200, b"hello /debug/pprof/heap")
    assert (await fetch(base + "/nothing"))[0] == 404


async def test_a_failing_collector_gives_500(registry: CollectorRegistry) -> None:
    class Broken(Collector):
        def collect(self) -> Iterable[Metric]:
            raise RuntimeError("collector exploded")

    registry.register(Broken())
    server = MetricsServer("127.0.0.1:0", registry, process_metrics=False)
    await server.start()
    try:
        status, _, body = await fetch(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.stop()
    assert status == 500
    assert b"collector exploded" in body


async def test_lifecycle(registry: CollectorRegistry) -> None:
    server = MetricsServer("127.0.0.1:0", registry)
    await server.stop()  # before start: nothing to do
    await server.start()
    port = server.port
    with pytest.raises(RuntimeError, match="already serving"):
        await server.start()
    await server.stop()
    await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(f"http://127.0.0.1:{port}/metrics")
    assert not server.need_leader_election


async def test_bind_conflict_surfaces_from_start(server: MetricsServer) -> None:
    other = MetricsServer(f"127.0.0.1:{server.port}", CollectorRegistry())
    with pytest.raises(OSError, match="in use"):
        await other.start()
    with pytest.raises(RuntimeError):
        _ = other.port


class CountingRegistry(CollectorRegistry):
    """Counts registration attempts, including those refused as duplicates."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def register(self, collector: Collector) -> None:
        self.attempts += 1
        super().register(collector)


def test_process_collectors_register_once_per_registry() -> None:
    registry = CountingRegistry()
    register_process_collectors(registry)
    assert registry.attempts == 3  # process, platform, GC
    register_process_collectors(registry)
    MetricsServer(":0", registry)  # a server registers them on the registry it serves
    assert registry.attempts == 3  # later calls do not even try again
    assert registry.get_sample_value("process_cpu_seconds_total") is not None
    assert registry.get_sample_value("python_gc_objects_collected_total", {"generation": "0"})


def test_process_collectors_tolerate_ones_registered_elsewhere() -> None:
    from prometheus_client import ProcessCollector

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    register_process_collectors(registry)  # does not raise "Duplicated timeseries"
    names = {m.name for m in registry.collect()}
    assert {"process_cpu_seconds", "python_info", "python_gc_objects_collected"} <= names
