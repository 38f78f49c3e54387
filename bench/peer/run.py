"""One job, two runtimes, one API server: Go's controller-runtime (bench/peer/go) and this runtime
do the same job (bench/peer/jobs.py), side by side:
- mirror (default): 1000 ConfigMaps mirrored to owned Secrets with one worker (mirror.py);
- workload: 1000 PeerNodes (a SeiNode-like kind), each driving a PVC, a StatefulSet and a
  headless Service it owns, and its status (workload.py, go/workload), with --workers workers.

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/peer/run.py [--job mirror|workload] [--workers 1] [--rounds 3]
        [--count 1000]
        [--python INTERPRETER] [--pythonpath DIR]   # run the Python peer on other code
        [--profile]   # the Python peer under cProfile (CPU time), stats in --logs/python.prof

Starts one local API server (etcd + kube-apiserver), builds the Go peer (bench/peer/build-go.sh,
cached outside the repository), then for each round and each peer (alternating which goes
first): creates a fresh namespace with `count` objects of the job, starts the peer on it, and
measures
- start-up: process start to "synced" (its ConfigMap and Secret caches synced), and the CPU
  seconds it had used by then (which the machine's other load does not inflate);
- converge: process start to the job done for all `count` objects (a watch of the driver);
- busy CPU: the process's user + system CPU seconds (/proc/<pid>/stat) once it has gone idle
  after converging, so the follow-up reconciles count on both sides;
- peak RSS: its VmHWM then;
- reconciles: its controller_runtime_reconcile_total then (the same work on both sides).
The job's result is then checked (every child, its content and controller reference) and the peer
stopped by SIGTERM.
Prints each run and the medians, and our/Go ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from jobs import JOBS, Job

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions

HERE = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    startup: float
    startup_cpu: float
    converge: float
    cpu: float
    peak_rss: float  # MiB
    rss: float  # MiB
    reconciles: float  # controller_runtime_reconcile_total at convergence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


async def settled_cpu(pid: int, window: float = 1.0, idle: float = 0.02) -> float:
    """The process's CPU seconds once it has gone idle (at most `idle` CPU seconds over the
    last `window` seconds): the follow-up reconciles (each new Secret re-queues its owner) come
    after the last Secret appears, and in an order that differs between the two queues."""
    samples = [proc_cpu(pid)]
    per_window = 4
    while True:
        await asyncio.sleep(window / per_window)
        samples.append(proc_cpu(pid))
        if len(samples) > per_window and samples[-1] - samples[-1 - per_window] <= idle:
            return samples[-1]


def proc_status(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB
    raise KeyError(key)


async def reconciles(port: int) -> float:
    """controller_runtime_reconcile_total of the peer's controllers, from its /metrics."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        text = await resp.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("controller_runtime_reconcile_total{")
    )


async def run_peer(
    client: Client,
    job: Job,
    command: list[str],
    env: dict[str, str],
    namespace: str,
    count: int,
    log: Path,
) -> Measured:
    await job.populate(client, namespace, count)
    converged = asyncio.create_task(job.converged(client, namespace, count))
    port = free_port()
    started = time.time_ns()
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *command, "--namespace", namespace, "--metrics-bind-address",
            f"127.0.0.1:{port}", stdout=subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
        synced: list[tuple[int, float]] = []

        async def read_stdout() -> None:
            assert proc.stdout is not None
            async for line in proc.stdout:
                if line.startswith(b"synced "):
                    _, at, cpu_then = line.split()
                    synced.append((int(at), float(cpu_then)))

        reader = asyncio.create_task(read_stdout())
        try:
            await asyncio.wait_for(converged, timeout=900)
            done = time.time_ns()
            cpu = await settled_cpu(proc.pid)
            peak, rss = proc_status(proc.pid, "VmHWM"), proc_status(proc.pid, "VmRSS")
            reconciled = await reconciles(port)  # after the CPU reading: rendering costs some
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            await reader
    await job.check(client, namespace, count)
    if not synced:
        raise RuntimeError(f"{command[0]} never printed 'synced' (log: {log})")
    (synced_at, startup_cpu), converge = synced[0], (done - started) / 1e9
    return Measured((synced_at - started) / 1e9, startup_cpu, converge, cpu, peak, rss, reconciled)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def row(name: str, m: Measured) -> str:
    return (
        f"{name:<22} {m.converge:>10.2f} {m.startup:>10.2f} {m.startup_cpu:>9.2f} {m.cpu:>9.2f} "
        f"{m.peak_rss:>9.1f} {m.rss:>8.1f} {m.reconciles:>10.0f}"
    )


HEADER = (
    f"{'run':<22} {'converge s':>10} {'start-up s':>10} {'(CPU s)':>9} {'busy CPU s':>9} "
    f"{'peak MiB':>9} {'RSS MiB':>8} {'reconciles':>10}"
)


def median(runs: list[Measured]) -> Measured:
    def med(get: Callable[[Measured], float]) -> float:
        return statistics.median(get(r) for r in runs)

    return Measured(
        med(lambda r: r.startup),
        med(lambda r: r.startup_cpu),
        med(lambda r: r.converge),
        med(lambda r: r.cpu),
        med(lambda r: r.peak_rss),
        med(lambda r: r.rss),
        med(lambda r: r.reconciles),
    )


def build_go_peer(job: str) -> str:
    out = subprocess.run(
        [str(HERE / "build-go.sh"), job], check=True, capture_output=True, text=True
    ).stdout
    return out.split()[-1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", choices=sorted(JOBS), default="mirror")
    parser.add_argument("--workers", type=int, default=1, help="workload: reconcile workers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the Python peer")
    parser.add_argument("--pythonpath", help="PYTHONPATH of the Python peer (other code)")
    parser.add_argument("--logs", type=Path, default=Path("/tmp/bench-peer-logs"))
    parser.add_argument(
        "--profile", action="store_true", help="run the Python peer under cProfile (to --logs)"
    )
    args = parser.parse_args()

    job = JOBS[args.job]
    go_binary = await asyncio.to_thread(build_go_peer, job.name)
    args.logs.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load {load()}"
    )
    print(f"python peer: {args.python} {args.pythonpath or '(this checkout)'}", flush=True)

    cp = ControlPlane(ControlPlaneOptions())
    await cp.start()
    client = Client(RestClient(await load_config(cp.kubeconfig)))
    if job.crds:
        await cp.install_crds(list(job.crds))
    base_env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig)}
    py_env = dict(base_env)
    if args.pythonpath:
        py_env["PYTHONPATH"] = args.pythonpath
    workers = ["--workers", str(args.workers)] if job.takes_workers else []
    script = [str(job.python_script), *workers]
    peers: dict[str, tuple[list[str], dict[str, str]]] = {
        "go": ([go_binary, *workers], base_env),
        "python": ([args.python, *script], py_env),
    }
    if args.profile:
        profiler = [str(HERE / "cpuprofile.py"), str(args.logs / "python.prof")]
        peers["python"] = ([args.python, *profiler, *script], py_env)
    results: dict[str, list[Measured]] = {name: [] for name in peers}
    print(HEADER, flush=True)
    try:
        for rnd in range(1, args.rounds + 1):
            order = list(peers) if rnd % 2 else list(reversed(peers))
            for name in order:
                command, env = peers[name]
                namespace = f"peer-{job.name}-{name}-{rnd}"
                log = args.logs / f"{namespace}.log"
                m = await run_peer(client, job, command, env, namespace, args.count, log)
                results[name].append(m)
                print(row(f"{name} round {rnd}", m), f"(load {load()})", flush=True)
    finally:
        await client.rest.close()
        await cp.stop()

    go, py = median(results["go"]), median(results["python"])
    workers_note = f"{args.workers} worker(s)" if job.takes_workers else "one worker"
    print(f"\nmedians of {args.rounds} rounds, job {job.name}, {args.count} objects,", workers_note)
    print(HEADER)
    print(row("Go controller-runtime", go))
    print(row("ours (Python)", py))
    print(
        f"{'ours / Go':<22} {py.converge / go.converge:>9.2f}x {py.startup / go.startup:>9.2f}x "
        f"{py.startup_cpu / go.startup_cpu:>8.2f}x "
        f"{py.cpu / go.cpu:>8.2f}x {py.peak_rss / go.peak_rss:>8.2f}x {py.rss / go.rss:>7.2f}x "
        f"{py.reconciles / go.reconciles:>9.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
