"""Informer memory: RSS per cached object for 10k ConfigMaps and 10k StatefulSets, with and
without managedFields stripping, and the CPU time the initial sync took.

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/informer_memory.py [count] [--rounds 3] [--baseline DIR]

Starts a local API server, creates the objects (by server-side apply, so they carry
managedFields as in a real cluster), then measures each scenario in a fresh child process:
RSS after the informer has synced minus RSS before it started, divided by the object count;
CPU seconds (user + system) of that process from the informer's start until it synced.
Medians of --rounds runs. --baseline DIR (e.g. `git archive <commit> | tar -x -C DIR`) also
measures that checkout's runtime against the same objects, rounds interleaved, for before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NAMESPACE = "bench"
RSS_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * RSS_PAGE


def configmap(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"cm-{i:05d}",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": "bench", "index": str(i % 100)},
        },
        "data": {f"key-{k}": f"value-{i}-{k}-" + "v" * 40 for k in range(3)},
    }


def statefulset(i: int) -> dict[str, Any]:
    name = f"node-{i:05d}"
    labels = {"app.kubernetes.io/name": "seinode", "sei.io/node": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "seid",
                            "image": "ghcr.io/sei-protocol/seid:v6.0.0",
                            "args": ["start", "--home", "/sei"],
                            "ports": [{"name": "p2p", "containerPort": 26656}],
                            "env": [{"name": "CHAIN_ID", "value": "pacific-1"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/sei"}],
                        },
                        {
                            "name": "sidecar",
                            "image": "ghcr.io/sei-protocol/seictl:v1",
                            "ports": [{"name": "sidecar", "containerPort": 7777}],
                        },
                    ]
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "100Gi"}},
                    },
                }
            ],
        },
    }


async def child(kubeconfig: str, api_version: str, kind: str, strip: bool) -> dict[str, Any]:
    from controller_runtime.cache import SharedIndexInformer, strip_managed_fields
    from controller_runtime.client import Client, RestClient, load_config

    client = Client(RestClient(await load_config(kubeconfig)))
    await client.resource(api_version, kind)  # warm discovery and the connection first
    gc.collect()
    before = rss_bytes()
    cpu_before = time.process_time()
    informer = SharedIndexInformer(
        client,
        api_version,
        kind,
        namespace=NAMESPACE,
        transform=strip_managed_fields if strip else None,
    )
    informer.start()
    await informer.wait_for_sync()
    cpu = time.process_time() - cpu_before
    gc.collect()
    after = rss_bytes()
    objects = informer.store.objects()
    json_bytes = sum(len(json.dumps(o, separators=(",", ":"))) for o in objects)
    await informer.stop()
    await client.rest.close()
    return {"objects": len(objects), "rss": after - before, "json": json_bytes, "cpu": cpu}


async def populate(count: int) -> tuple[Any, str]:
    from controller_runtime.client import Client, RestClient, load_config
    from controller_runtime.envtest import ControlPlane, ControlPlaneOptions

    cp = ControlPlane(ControlPlaneOptions())
    await cp.start()
    client = Client(RestClient(await load_config(cp.kubeconfig)), field_owner="bench")
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    gate = asyncio.Semaphore(32)

    async def put(obj: dict[str, Any]) -> None:
        async with gate:
            await client.apply(obj)

    for make in (configmap, statefulset):
        await asyncio.gather(*(put(make(i)) for i in range(count)))
    await client.rest.close()
    return cp, str(cp.kubeconfig)


SCENARIOS = [
    (api_version, kind, strip)
    for api_version, kind in (("v1", "ConfigMap"), ("apps/v1", "StatefulSet"))
    for strip in (False, True)
]


def measure(code: Path, kubeconfig: str, api_version: str, kind: str, strip: bool) -> Any:
    """One scenario in a fresh process (RSS then reflects that scenario alone), importing the
    runtime from `code` (a checkout's root)."""
    argv = [sys.executable, __file__, "--child", kubeconfig, api_version, kind, str(strip)]
    out = subprocess.run(
        argv,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(code)},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def print_table(title: str, results: dict[tuple[str, bool], list[Any]]) -> None:
    print(f"\n{title}\n")
    print(
        "| kind | managedFields | objects | RSS MiB | RSS B/object | JSON B/object | sync CPU s |"
    )
    print("|---|---|---|---|---|---|---|")
    for (kind, strip), runs in results.items():
        n = runs[0]["objects"]
        rss = statistics.median(r["rss"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        print(
            f"| {kind} | {'stripped' if strip else 'kept'} | {n} | {rss / 2**20:.1f} | "
            f"{int(rss) // n} | {runs[0]['json'] // n} | {cpu:.2f} |"
        )


async def main(count: int, rounds: int, baseline: Path | None) -> None:
    py = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {py}")
    print(f"creating {count} ConfigMaps and {count} StatefulSets ...", flush=True)
    cp, kubeconfig = await populate(count)
    codes = {"this checkout": Path(__file__).resolve().parents[1]}
    if baseline is not None:
        codes["baseline " + str(baseline)] = baseline.resolve()
    results: dict[str, dict[tuple[str, bool], list[Any]]] = {name: {} for name in codes}
    try:
        for _ in range(rounds):
            # Rounds interleave the code versions, so load on the machine hits them alike.
            for api_version, kind, strip in SCENARIOS:
                for name, code in codes.items():
                    r = measure(code, kubeconfig, api_version, kind, strip)
                    results[name].setdefault((kind, strip), []).append(r)
        for name, table in results.items():
            print_table(f"{name}: medians of {rounds} rounds", table)
    finally:
        await cp.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _, _, config, api_version, kind, strip = sys.argv
        print(json.dumps(asyncio.run(child(config, api_version, kind, strip == "True"))))
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
        parser.add_argument("count", type=int, nargs="?", default=10_000)
        parser.add_argument("--rounds", type=int, default=3, help="runs per scenario (median)")
        parser.add_argument(
            "--baseline", type=Path, help="also measure the runtime in this checkout's root"
        )
        args = parser.parse_args()
        asyncio.run(main(args.count, args.rounds, args.baseline))
