"""Start and stop times of the local control plane (apiserver only, and full).

    export ENVTEST_ASSETS=$(hack/build-control-plane.sh | tail -1)
    .venv/bin/python bench/control_plane_start.py [runs]

Prints a markdown table: median / min / max seconds over the runs, per component.
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import time

import structlog

from controller_runtime.envtest import ControlPlane, ControlPlaneOptions


async def measure(full: bool) -> dict[str, float]:
    cp = ControlPlane(ControlPlaneOptions(full=full, fake_nodes=3 if full else 0))
    await cp.start()
    timings = dict(cp.start_seconds)
    t0 = time.monotonic()
    await cp.stop()
    timings["stop"] = time.monotonic() - t0
    return timings


def row(label: str, values: list[float]) -> str:
    return f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"


async def main(runs: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; runs: {runs}\n")
    for full in (False, True):
        results = [await measure(full) for _ in range(runs)]
        title = (
            "full (etcd, apiserver, kcm, scheduler, kwok + 3 nodes)" if full else "apiserver only"
        )
        print(f"### {title}\n")
        print("| phase | median s | min s | max s |\n|---|---|---|---|")
        for key in results[0]:
            print(row(key, [r[key] for r in results]))
        print()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
