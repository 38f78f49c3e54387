"""N SeiNodes to Running: the operator (`sei-controller run`, its own process) on the full local
control plane, with simulated sidecars that come up with their pods.

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/scale.py [--workers 16] [--client-qps 5000] [--idle 30] [N ...]
        [--profile]   # the operator under cProfile (CPU time), stats in --logs/scale-N.prof

For each N (default 100 1000), on a fresh control plane (kube-controller-manager, scheduler, kwok
with a fake node per 200 pods; their client QPS raised as kwokctl's scale setups do, so that the
StatefulSet controller does not pace the run at its default 20 requests/s):
1. the operator starts on an empty namespace and goes idle (its RSS then is the baseline);
2. the driver creates N SeiNodes (32 at a time) and watches them; t=0 is the first create;
3. "Running" = every SeiNode has status.phase Running. Each node's plan runs on its simulated
   sidecar, which exists once the node's pod does (kwok), so the cluster's pace is included;
4. at that moment: the operator's CPU seconds since t=0, its peak RSS (VmHWM) and RSS, and its
   requests to the API server (rest_client_requests_total, by method) per node;
5. then, after --grace seconds, its CPU over --idle seconds (the steady state: each Running node
   is reconciled again every 30 s, spec 3.7), as a share of one core, and its requests then.

Prints one row per N with the load average before and after; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog
from scalekit import (
    PLATFORM_ENV,
    REPO,
    Countdown,
    PodGatedSimulator,
    create_all,
    follow,
    load,
    metric_sums,
    node_of_pod,
    phase_is,
    proc_cpu,
    proc_mib,
    sei_cluster,
    seinode,
    settle,
)

from controller_runtime.client import Client, RestClient, load_config

CREATE_CONCURRENCY = 32


@dataclass
class Result:
    n: int
    running_s: float  # t=0 -> every SeiNode Running
    pods_s: float  # t=0 -> every node's pod exists
    created_s: float  # t=0 -> the driver created the last SeiNode
    cpu_s: float  # operator CPU seconds from t=0 to Running
    start_cpu_s: float  # operator CPU seconds from its start to idle on the empty namespace
    peak_mib: float
    rss_mib: float
    base_mib: float  # RSS idle on the empty namespace
    requests: dict[str, float]  # by HTTP method, t=0 -> Running
    reconciles: float
    idle_cpu_share: float  # CPU seconds / wall seconds over the idle window
    idle_requests: float
    idle_reconciles: float
    load_before: str
    load_after: str

    @property
    def requests_per_node(self) -> float:
        return sum(self.requests.values()) / self.n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def scrape(port: int) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        return await resp.text()


async def wait_for_metrics(port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"the operator exited with {proc.returncode} (log: {log})")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            await scrape(port)
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the operator's /metrics never answered (log: {log})")


def operator_command(
    args: argparse.Namespace, n: int, kubeconfig: Path, namespace: str, port: int, url: str
) -> list[str]:
    flags = [
        "run",
        f"--kubeconfig={kubeconfig}",
        f"--namespace={namespace}",
        "--leader-elect=false",
        f"--metrics-bind-address=127.0.0.1:{port}",
        "--health-probe-bind-address=0",
        f"--max-concurrent-reconciles={args.workers}",
        f"--sidecar-url-template={url}",
        f"--log-level={args.log_level}",
    ]
    if args.profile:
        profiler = REPO / "bench" / "peer" / "cpuprofile.py"
        out = args.logs / f"scale-{n}.prof"
        cli = REPO / "controllers" / "cli.py"
        return [sys.executable, str(profiler), str(out), str(cli), *flags]
    return [sys.executable, "-m", "controllers.cli", *flags]


def reconciles(text: str) -> float:
    return sum(metric_sums(text, "controller_runtime_reconcile_total").values())


def requests(text: str) -> dict[str, float]:
    return metric_sums(text, "rest_client_requests_total", by="method")


async def measure(n: int, args: argparse.Namespace) -> Result:
    load_before = load()
    async with sei_cluster(n, args.client_qps) as cp:
        rest = RestClient(await load_config(cp.kubeconfig))
        client = Client(rest)
        namespace = f"scale-{n}"
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await client.create(ns)
        sims = PodGatedSimulator()
        async with sims.running(client, namespace):
            port = free_port()
            log = args.logs / f"scale-{n}.log"
            command = operator_command(args, n, cp.kubeconfig, namespace, port, sims.url_template)
            env = {**os.environ, **PLATFORM_ENV}
            with log.open("wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    *command, stdout=out, stderr=out, env=env, cwd=REPO
                )
            try:
                await wait_for_metrics(port, proc, log)
                start_cpu = await settle(proc.pid)
                base = proc_mib(proc.pid, "VmRSS")
                before = await scrape(port)
                running = Countdown(n, phase_is("Running"))
                pods = Countdown(n, lambda pod: node_of_pod(pod) is not None)
                watches = [
                    asyncio.create_task(
                        follow(client, "sei.io/v1alpha1", "SeiNode", namespace, running)
                    ),
                    asyncio.create_task(follow(client, "v1", "Pod", namespace, pods)),
                ]
                t0, cpu0 = time.monotonic(), proc_cpu(proc.pid)
                nodes = (seinode(i, namespace) for i in range(n))
                await create_all(client, nodes, CREATE_CONCURRENCY)
                created = time.monotonic()
                await asyncio.wait_for(running.done.wait(), timeout=args.timeout)
                cpu1 = proc_cpu(proc.pid)
                peak, rss = proc_mib(proc.pid, "VmHWM"), proc_mib(proc.pid, "VmRSS")
                at_running = await scrape(port)
                await asyncio.sleep(args.grace)
                idle_from, idle_text = proc_cpu(proc.pid), await scrape(port)
                window_start = time.monotonic()
                await asyncio.sleep(args.idle)
                idle_cpu = proc_cpu(proc.pid) - idle_from
                idle_wall = time.monotonic() - window_start
                idle_end = await scrape(port)
                for task in watches:
                    task.cancel()
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        await rest.close()
    req0, req1 = requests(before), requests(at_running)
    return Result(
        n=n,
        running_s=running.last - t0,
        pods_s=(pods.last if len(pods.first) >= n else float("nan")) - t0,
        created_s=created - t0,
        cpu_s=cpu1 - cpu0,
        start_cpu_s=start_cpu,
        peak_mib=peak,
        rss_mib=rss,
        base_mib=base,
        requests={m: v - req0.get(m, 0.0) for m, v in req1.items() if v - req0.get(m, 0.0)},
        reconciles=reconciles(at_running) - reconciles(before),
        idle_cpu_share=idle_cpu / idle_wall,
        idle_requests=sum(requests(idle_end).values()) - sum(requests(idle_text).values()),
        idle_reconciles=reconciles(idle_end) - reconciles(idle_text),
        load_before=load_before,
        load_after=load(),
    )


def report(r: Result, idle: float) -> None:
    per_node_mib = (r.rss_mib - r.base_mib) / r.n
    methods = ", ".join(f"{m} {v / r.n:.1f}" for m, v in sorted(r.requests.items()))
    print(
        f"N={r.n}: all Running {r.running_s:.1f} s (pods all exist {r.pods_s:.1f} s; "
        f"SeiNodes created {r.created_s:.1f} s)\n"
        f"  operator CPU {r.cpu_s:.1f} s to Running ({r.cpu_s / r.n * 1000:.1f} ms/node; "
        f"start-up {r.start_cpu_s:.2f} s), {r.reconciles / r.n:.1f} reconciles/node\n"
        f"  API requests/node {r.requests_per_node:.1f} ({methods})\n"
        f"  peak RSS {r.peak_mib:.1f} MiB, RSS {r.rss_mib:.1f} MiB (idle empty {r.base_mib:.1f}), "
        f"{per_node_mib * 1024:.1f} KiB/node\n"
        f"  steady state over {idle:.0f} s: CPU {r.idle_cpu_share * 100:.1f} % of a core, "
        f"{r.idle_reconciles:.0f} reconciles, {r.idle_requests:.0f} API requests\n"
        f"  load average before {r.load_before}, after {r.load_after}",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000])
    parser.add_argument("--workers", type=int, default=16, help="--max-concurrent-reconciles")
    parser.add_argument(
        "--client-qps",
        type=float,
        default=5000.0,
        help="kube-controller-manager/scheduler client QPS (0: their defaults)",
    )
    parser.add_argument("--grace", type=float, default=5.0, help="seconds before the idle window")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--log-level", default="info", help="the operator's --log-level")
    parser.add_argument("--logs", type=Path, default=Path("/tmp/bench-scale"))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    args.client_qps = args.client_qps or None
    args.logs.mkdir(parents=True, exist_ok=True)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; workers {args.workers}, kcm/scheduler QPS "
        f"{args.client_qps or 'default'}; load {load()}",
        flush=True,
    )
    for n in args.sizes:
        report(await measure(n, args), args.idle)


if __name__ == "__main__":
    asyncio.run(main())
