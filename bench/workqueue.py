"""Workqueue throughput and memory: the FIFO rate-limiting queue against the priority queue.

    .venv/bin/python bench/workqueue.py [keys]

Throughput: a producer adds keys in batches of 1,000 (yielding to the loop between
batches, as an informer delivering events does) while W workers loop on
get -> done. Each worker yields once per item (``await asyncio.sleep(0)``),
standing in for a reconcile that awaits at least once; without it the first
worker would take every item and the worker count would mean nothing. A cycle
is one get + done; with duplicate keys one cycle serves several adds.

Memory: bytes allocated per queued key (tracemalloc) after adding ``keys``
distinct, pre-built keys; the keys themselves are not counted.

Queues are named (metrics on, fresh registry) unless the row says otherwise;
"metrics off" is an unnamed queue. Throughput is the best of three runs.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from controller_runtime.workqueue import MetricsProvider, PriorityQueue, RateLimitingQueue

BATCH = 1000
RUNS = 3  # throughput rows report the fastest run: the machine is shared and noisy
QueueFactory = Callable[[], Any]


def factories(metrics: bool) -> dict[str, QueueFactory]:
    def name() -> str:
        return "bench" if metrics else ""

    def provider() -> MetricsProvider:
        return MetricsProvider(CollectorRegistry())

    return {
        "rate-limiting (FIFO)": lambda: RateLimitingQueue[str](
            name=name(), metrics_provider=provider()
        ),
        "priority": lambda: PriorityQueue[str](name=name(), metrics_provider=provider()),
    }


async def throughput(make_queue: QueueFactory, adds: list[str], workers: int) -> tuple[int, float]:
    """Returns (cycles, seconds) for adding ``adds`` and processing until idle."""
    queue = make_queue()
    state = {"in_flight": 0, "cycles": 0, "producing": True}
    idle = asyncio.Event()

    def check_idle() -> None:
        if not state["producing"] and state["in_flight"] == 0 and len(queue) == 0:
            idle.set()

    async def worker() -> None:
        while True:
            item, shutdown = await queue.get()
            if shutdown:
                return
            state["in_flight"] += 1
            state["cycles"] += 1
            await asyncio.sleep(0)
            state["in_flight"] -= 1
            queue.done(item)
            check_idle()

    start = time.perf_counter()
    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    for i in range(0, len(adds), BATCH):
        for key in adds[i : i + BATCH]:
            queue.add(key)
        await asyncio.sleep(0)
    state["producing"] = False
    check_idle()
    await idle.wait()
    elapsed = time.perf_counter() - start
    queue.shut_down()
    await asyncio.gather(*tasks)
    return state["cycles"], elapsed


def bytes_per_key(make_queue: QueueFactory, keys: list[str]) -> float:
    queue = make_queue()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for key in keys:
        queue.add(key)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(queue) == len(keys)
    return (after - before) / len(keys)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}"
    )


async def main(n: int) -> None:
    distinct = [f"namespace-{i % 100}/object-{i}" for i in range(n)]
    hot = [distinct[i % 1000] for i in range(n)]
    workloads = [
        (f"{n // 1000}k distinct keys", distinct, 1),
        (f"{n // 1000}k distinct keys", distinct, 8),
        (f"{n // 1000}k adds over 1k keys", hot, 8),
    ]
    print(f"Machine: {machine()}")
    print(f"Event loop: {type(asyncio.get_running_loop()).__name__}\n")
    print("| queue | metrics | workload | workers | cycles | adds/s | cycles/s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for metrics in (True, False):
        for queue_name, make_queue in factories(metrics).items():
            for label, adds, workers in workloads:
                await throughput(make_queue, adds[: n // 10], workers)  # warm-up
                runs = [await throughput(make_queue, adds, workers) for _ in range(RUNS)]
                cycles, elapsed = min(runs, key=lambda run: run[1])
                print(
                    f"| {queue_name} | {'on' if metrics else 'off'} | {label} | {workers} "
                    f"| {cycles:,} | {len(adds) / elapsed:,.0f} | {cycles / elapsed:,.0f} |"
                )
    print("\n| queue | metrics | bytes per queued key |")
    print("|---|---|---:|")
    for metrics in (True, False):
        for queue_name, make_queue in factories(metrics).items():
            print(
                f"| {queue_name} | {'on' if metrics else 'off'} "
                f"| {bytes_per_key(make_queue, distinct):,.0f} |"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
