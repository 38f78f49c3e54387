"""A real Prometheus scrapes the MetricsServer, over HTTP and over authenticated HTTPS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller_runtime.client import Client
from controller_runtime.metrics import MetricsServer
from tests.integration.metrics.conftest import Scrapers, StartPrometheus
from tests.integration.metrics.prometheus import ScrapeTarget


def value(series: list[dict[str, object]]) -> float:
    assert len(series) == 1, series
    sample = series[0]["value"]
    assert isinstance(sample, list)
    return float(sample[1])


@pytest_asyncio.fixture(loop_scope="session")
async def http_server(metrics_registry: CollectorRegistry) -> AsyncIterator[MetricsServer]:
    server = MetricsServer("127.0.0.1:0", metrics_registry)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_prometheus_scrapes_registry_and_process_metrics(
    http_server: MetricsServer,
    metrics_registry: CollectorRegistry,
    start_prometheus: StartPrometheus,
) -> None:
    reconciles = Counter(
        "sei_test_reconciles", "Reconciles.", ["controller"], registry=metrics_registry
    )
    depth = Gauge("sei_test_depth", "Queue depth.", registry=metrics_registry)
    latency = Histogram("sei_test_latency_seconds", "Latency.", registry=metrics_registry)
    reconciles.labels("seinode").inc(3)
    depth.set(7)
    latency.observe(0.2)

    prom = await start_prometheus([ScrapeTarget(f"127.0.0.1:{http_server.port}", job="op")])

    counter = 'sei_test_reconciles_total{job="op",controller="seinode"}'
    assert value(await prom.wait_for_series(counter)) == 3
    assert value(await prom.wait_for_series('sei_test_depth{job="op"}')) == 7
    buckets = await prom.wait_for_series('sei_test_latency_seconds_bucket{job="op",le="0.25"}')
    assert value(buckets) == 1
    assert value(await prom.wait_for_series('up{job="op"}')) == 1

    # Process and runtime collectors are served from the same registry.
    cpu = await prom.wait_for_series('process_cpu_seconds_total{job="op"}')
    assert value(cpu) >= 0
    info = await prom.wait_for_series('python_info{job="op"}')
    assert info[0]["metric"]["major"] == "3"

    # Later increments reach Prometheus: it is scraping live, not a snapshot.
    reconciles.labels("seinode").inc(2)
    await prom.wait_for_series(counter, predicate=lambda s: value(s) == 5)


async def test_prometheus_scrapes_secure_server_with_service_account_token(
    kube: Client,
    scrapers: Scrapers,
    metrics_registry: CollectorRegistry,
    start_prometheus: StartPrometheus,
) -> None:
    Counter("sei_test_secure", "Scraped over HTTPS.", registry=metrics_registry).inc()
    server = MetricsServer("127.0.0.1:0", metrics_registry, secure=True, client=kube)
    await server.start()
    try:
        address = f"127.0.0.1:{server.port}"
        prom = await start_prometheus(
            [
                ScrapeTarget(address, job="allowed", scheme="https", bearer_token=scrapers.allowed),
                ScrapeTarget(address, job="denied", scheme="https", bearer_token=scrapers.denied),
            ]
        )
        assert value(await prom.wait_for_series('sei_test_secure_total{job="allowed"}')) == 1
        assert value(await prom.wait_for_series('up{job="allowed"}')) == 1
        await prom.wait_for_series('up{job="denied"}', predicate=lambda s: value(s) == 0)
        denied = [t for t in await prom.targets() if t["labels"]["job"] == "denied"]
        assert "403" in denied[0]["lastError"], denied
        assert await prom.query('sei_test_secure_total{job="denied"}') == []
    finally:
        await server.stop()
