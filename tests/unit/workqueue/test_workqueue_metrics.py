"""Workqueue metrics (client-go's workqueue_* names), asserted by scraping a registry."""

from __future__ import annotations

import asyncio

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from controller_runtime.clock import FakeClock
from controller_runtime.metrics import REGISTRY
from controller_runtime.workqueue import (
    LOW_PRIORITY,
    QUEUE_DURATION_BUCKETS,
    DelayingQueue,
    MetricsProvider,
    PriorityQueue,
    Queue,
    RateLimitingQueue,
)
from controller_runtime.workqueue.metrics import _go_float

NAME = "ctrl"
LABELS = {"name": NAME, "controller": NAME}


def sample(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, {**LABELS, **labels})


def depth(registry: CollectorRegistry, priority: str = "") -> float | None:
    return sample(registry, "workqueue_depth", priority=priority)


@pytest.fixture
def queue(clock: FakeClock, provider: MetricsProvider) -> RateLimitingQueue[str]:
    return RateLimitingQueue(name=NAME, metrics_provider=provider, clock=clock)


@pytest.fixture
def pq(clock: FakeClock, provider: MetricsProvider) -> PriorityQueue[str]:
    return PriorityQueue(name=NAME, metrics_provider=provider, clock=clock)


async def test_families_names_types_and_labels(
    queue: RateLimitingQueue[str], registry: CollectorRegistry
) -> None:
    queue.add("a")
    families = {m.name: m for m in registry.collect()}
    assert {name: m.type for name, m in families.items()} == {
        "workqueue_depth": "gauge",
        "workqueue_adds": "counter",  # exposed as workqueue_adds_total
        "workqueue_queue_duration_seconds": "histogram",
        "workqueue_work_duration_seconds": "histogram",
        "workqueue_unfinished_work_seconds": "gauge",
        "workqueue_longest_running_processor_seconds": "gauge",
        "workqueue_retries": "counter",  # exposed as workqueue_retries_total
    }
    text = generate_latest(registry).decode()
    assert 'workqueue_depth{controller="ctrl",name="ctrl",priority=""} 1.0' in text
    assert 'workqueue_adds_total{controller="ctrl",name="ctrl"} 1.0' in text
    assert 'workqueue_retries_total{controller="ctrl",name="ctrl"} 0.0' in text
    assert 'workqueue_unfinished_work_seconds{controller="ctrl",name="ctrl"} 0.0' in text
    assert 'workqueue_longest_running_processor_seconds{controller="ctrl",name="ctrl"} 0.0' in text


def test_histogram_buckets_match_controller_runtime(
    clock: FakeClock, provider: MetricsProvider, registry: CollectorRegistry
) -> None:
    Queue(name=NAME, metrics_provider=provider, clock=clock)
    assert len(QUEUE_DURATION_BUCKETS) == 12
    assert QUEUE_DURATION_BUCKETS[0] == 1e-08
    assert QUEUE_DURATION_BUCKETS[-1] == 1000.0
    text = generate_latest(registry).decode()
    bounds = [
        line.split('le="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("workqueue_queue_duration_seconds_bucket")
    ]
    # Same floats as Go's ExponentialBuckets(10e-9, 10, 12) (repeated multiplication),
    # written as the Go client writes them.
    assert bounds == [
        "1e-08",
        "1e-07",
        "1e-06",
        "9.999999999999999e-06",
        "9.999999999999999e-05",
        "0.001",
        "0.01",
        "0.1",
        "1",
        "10",
        "100",
        "1000",
        "+Inf",
    ]
    assert "_created" not in text  # Go's client exports no creation timestamps


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-08, "1e-08"),
        (0.0001, "0.0001"),
        (1.5e-05, "1.5e-05"),
        (0.25, "0.25"),
        (1.0, "1"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (-2.5, "-2.5"),
        (0.0, "0"),
    ],
)
def test_bucket_bounds_are_written_like_go(value: float, text: str) -> None:
    assert _go_float(value) == text


async def test_adds_and_depth(queue: RateLimitingQueue[str], registry: CollectorRegistry) -> None:
    queue.add("a")
    queue.add("b")
    queue.add("a")  # de-duplicated: not counted
    assert sample(registry, "workqueue_adds_total") == 2
    assert depth(registry) == 2
    await queue.get()
    assert depth(registry) == 1
    queue.add("a")  # dirty while processing: counted as an add and in depth
    assert sample(registry, "workqueue_adds_total") == 3
    assert depth(registry) == 2


async def test_queue_duration_runs_from_the_first_add(
    queue: RateLimitingQueue[str], registry: CollectorRegistry, clock: FakeClock
) -> None:
    queue.add("a")
    clock.step(1.0)
    queue.add("a")
    clock.step(1.5)
    await queue.get()
    assert sample(registry, "workqueue_queue_duration_seconds_count") == 1
    assert sample(registry, "workqueue_queue_duration_seconds_sum") == 2.5
    assert sample(registry, "workqueue_queue_duration_seconds_bucket", le="1") == 0
    assert sample(registry, "workqueue_queue_duration_seconds_bucket", le="10") == 1


async def test_work_duration_runs_from_get_to_done(
    queue: RateLimitingQueue[str], registry: CollectorRegistry, clock: FakeClock
) -> None:
    queue.add("a")
    await queue.get()
    clock.step(4.0)
    queue.done("a")
    assert sample(registry, "workqueue_work_duration_seconds_count") == 1
    assert sample(registry, "workqueue_work_duration_seconds_sum") == 4.0
    queue.add("b")
    await queue.get()
    clock.step(10.0)  # exactly on a bound: counted in that bucket (le means <=)
    queue.done("b")
    assert sample(registry, "workqueue_work_duration_seconds_bucket", le="1") == 0
    assert sample(registry, "workqueue_work_duration_seconds_bucket", le="10") == 2
    assert sample(registry, "workqueue_work_duration_seconds_bucket", le="+Inf") == 2
    assert sample(registry, "workqueue_work_duration_seconds_count") == 2


async def test_in_flight_gauges_are_computed_at_scrape_time(
    queue: RateLimitingQueue[str], registry: CollectorRegistry, clock: FakeClock
) -> None:
    queue.add("a")
    queue.add("b")
    await queue.get()
    clock.step(1.0)
    await queue.get()
    clock.step(3.0)
    assert sample(registry, "workqueue_unfinished_work_seconds") == 7.0
    assert sample(registry, "workqueue_longest_running_processor_seconds") == 4.0
    queue.done("a")
    assert sample(registry, "workqueue_unfinished_work_seconds") == 3.0
    assert sample(registry, "workqueue_longest_running_processor_seconds") == 3.0
    queue.done("b")
    assert sample(registry, "workqueue_unfinished_work_seconds") == 0.0
    assert sample(registry, "workqueue_longest_running_processor_seconds") == 0.0


async def test_retries_count_every_add_after_of_the_fifo_queue(
    queue: RateLimitingQueue[str], registry: CollectorRegistry
) -> None:
    queue.add_after("a", 1.0)
    queue.add_after("b", 0.0)  # counted before the delay is looked at
    queue.add_after("c", -1.0)
    queue.add_rate_limited("d")
    assert sample(registry, "workqueue_retries_total") == 4
    queue.shut_down()
    queue.add_after("e", 1.0)
    queue.add_rate_limited("f")
    assert sample(registry, "workqueue_retries_total") == 4


async def test_retries_count_only_delays_in_the_priority_queue(
    pq: PriorityQueue[str], registry: CollectorRegistry
) -> None:
    pq.add_after("a", 0.0)
    pq.add("b")
    assert sample(registry, "workqueue_retries_total") == 0
    pq.add_after("c", 1.0)
    pq.add_rate_limited("d")
    pq.add_with_opts("e", "f", after=2.0)
    assert sample(registry, "workqueue_retries_total") == 4


async def test_delayed_item_is_counted_when_it_becomes_ready(
    pq: PriorityQueue[str], registry: CollectorRegistry, clock: FakeClock
) -> None:
    pq.add_after("a", 1.0)
    assert sample(registry, "workqueue_adds_total") == 0
    assert depth(registry, "0") is None
    clock.step(1.0)
    assert sample(registry, "workqueue_adds_total") == 1
    assert depth(registry, "0") == 1


async def test_priority_depth_labels(pq: PriorityQueue[str], registry: CollectorRegistry) -> None:
    pq.add("a")
    pq.add_with_opts("b", priority=LOW_PRIORITY)
    pq.add_with_opts("c", priority=5)
    assert (depth(registry, "0"), depth(registry, "-100"), depth(registry, "5")) == (1, 1, 1)
    assert depth(registry, "") is None  # the FIFO label is not used by the priority queue
    pq.add_with_opts("a", priority=5)  # moves between series
    assert (depth(registry, "0"), depth(registry, "5")) == (0, 2)
    assert sample(registry, "workqueue_adds_total") == 3
    for _ in range(3):
        await pq.get()
    assert (depth(registry, "0"), depth(registry, "-100"), depth(registry, "5")) == (0, 0, 0)


async def test_waiting_item_readded_ready(
    pq: PriorityQueue[str], registry: CollectorRegistry
) -> None:
    pq.add_after("a", 3600.0)
    pq.add("a")
    assert depth(registry, "0") == 1
    assert sample(registry, "workqueue_adds_total") == 1
    await pq.get()
    assert depth(registry, "0") == 0


async def test_waiting_item_readded_ready_with_higher_priority(
    pq: PriorityQueue[str], registry: CollectorRegistry
) -> None:
    pq.add_after("a", 3600.0)
    pq.add_with_opts("a", priority=1)
    assert depth(registry, "1") == 1
    assert depth(registry, "0") is None
    await pq.get()
    assert depth(registry, "1") == 0


async def test_priority_label_cardinality_is_capped(
    pq: PriorityQueue[str], registry: CollectorRegistry
) -> None:
    for p in range(25):
        pq.add_with_opts(f"k{p}", priority=p)
    assert depth(registry, "24") == 1
    pq.add_with_opts("k25", priority=25)
    assert depth(registry, "25") is None
    assert depth(registry, "exceeded_cardinality_limit") == 1
    pq.add_with_opts("again", priority=0)  # once tripped, every change goes there
    assert depth(registry, "exceeded_cardinality_limit") == 2
    assert depth(registry, "0") == 1


async def test_unnamed_queues_record_nothing(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    provider = MetricsProvider(registry)
    fifo: RateLimitingQueue[str] = RateLimitingQueue(metrics_provider=provider, clock=clock)
    pq: PriorityQueue[str] = PriorityQueue(metrics_provider=provider, clock=clock)
    for q in (fifo, pq):
        q.add("a")
        q.add_after("b", 1.0)
        q.add_rate_limited("c")
        await q.get()
        q.done("a")
    assert list(registry.collect()) == []


async def test_many_queues_and_providers_share_a_registry(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    queues = [
        DelayingQueue[str](name=f"q{i}", metrics_provider=MetricsProvider(registry), clock=clock)
        for i in range(3)
    ]
    queues.append(DelayingQueue(name="q0", metrics_provider=MetricsProvider(registry), clock=clock))
    pq: PriorityQueue[str] = PriorityQueue(
        name="pq", metrics_provider=MetricsProvider(registry), clock=clock
    )
    for q in queues:
        q.add("x")
    pq.add("x")
    lbl = {"name": "q0", "controller": "q0"}
    assert registry.get_sample_value("workqueue_adds_total", lbl) == 2  # same name, same series
    pq_lbl = {"name": "pq", "controller": "pq"}
    assert registry.get_sample_value("workqueue_adds_total", pq_lbl) == 1


async def test_default_provider_registers_on_the_runtime_registry(clock: FakeClock) -> None:
    assert MetricsProvider().registry is REGISTRY
    assert REGISTRY is not prometheus_client.REGISTRY
    queue: Queue[str] = Queue(name="test-default-registry", clock=clock)
    queue.add("a")
    lbl = {"name": "test-default-registry", "controller": "test-default-registry"}
    assert REGISTRY.get_sample_value("workqueue_adds_total", lbl) == 1
    assert prometheus_client.REGISTRY.get_sample_value("workqueue_adds_total", lbl) is None


async def test_scrape_from_another_thread_with_the_real_clock(registry: CollectorRegistry) -> None:
    queue: Queue[str] = Queue(name=NAME, metrics_provider=MetricsProvider(registry))
    queue.add("a")
    await queue.get()
    text = (await asyncio.to_thread(generate_latest, registry)).decode()
    line = next(
        ln for ln in text.splitlines() if ln.startswith("workqueue_longest_running_processor")
    )
    assert float(line.rsplit(" ", 1)[1]) >= 0.0
    queue.done("a")
    queue.shut_down()
