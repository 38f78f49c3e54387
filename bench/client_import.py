"""Start-up cost of the runtime's imports and of loading a kubeconfig: RSS, CPU, wall time.

    .venv/bin/python bench/client_import.py [runs]

Each scenario runs in a fresh child process of this interpreter (so with this interpreter's
sys.path and bytecode state), `runs` times; prints medians. No API server is needed: a kubeconfig
is loaded, nothing is sent.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: bench
  user: {token: bench}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
"""

LOAD = "import asyncio; asyncio.run(load_config({path!r}))"
SCENARIOS = {
    "interpreter alone": "pass",
    "kubernetes_asyncio.client": "import kubernetes_asyncio.client",
    "controller_runtime.client + load_config": (
        "from controller_runtime.client import load_config; " + LOAD
    ),
    "controller_runtime.manager + load_config": (
        "import controller_runtime.manager; from controller_runtime.client import load_config; "
        + LOAD
    ),
}

PROBE = """
import resource, sys, time
t0 = time.perf_counter()
{code}
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/statm") as f:
    rss = int(f.read().split()[1]) * 4096
import json
print(json.dumps({{
    "wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": rss, "peak": ru.ru_maxrss * 1024,
    "models": "kubernetes_asyncio.client.models" in sys.modules,
}}))
"""


def measure(code: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kubeconfig"
        path.write_text(KUBECONFIG)
        print(f"{sys.version.split()[0]}, median of {runs} fresh processes")
        print(f"{'scenario':<44} {'RSS MiB':>8} {'peak MiB':>9} {'CPU s':>6} {'wall s':>7} models")
        for name, code in SCENARIOS.items():
            samples = [measure(code.format(path=str(path))) for _ in range(runs)]

            def med(key: str, samples: list[dict[str, float]] = samples) -> float:
                return statistics.median(s[key] for s in samples)

            print(
                f"{name:<44} {med('rss') / 2**20:>8.1f} {med('peak') / 2**20:>9.1f} "
                f"{med('cpu'):>6.2f} {med('wall'):>7.2f} {bool(samples[0]['models'])}"
            )


if __name__ == "__main__":
    main()
