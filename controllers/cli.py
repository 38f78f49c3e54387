"""The `sei-controller` command.

sei-controller dev     local dev mode: a real control plane (etcd, kube-apiserver,
                       kube-controller-manager, kube-scheduler, kwok nodes) with the CRDs
                       installed; prints how to reach it and runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from controller_runtime.envtest import ControlPlane, ControlPlaneOptions

DEFAULT_CRD_DIR = Path("config/crd")


def _say(message: str) -> None:
    print(message, flush=True)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_dev(args: argparse.Namespace) -> int:
    options = ControlPlaneOptions(full=not args.apiserver_only, fake_nodes=args.nodes)
    cp = ControlPlane(options)
    _say("starting the local control plane ...")
    try:
        await cp.start()
    except Exception as exc:
        _say(f"control plane failed to start: {exc}\nlogs kept in {cp.log_dir}")
        return 1
    try:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in cp.start_seconds.items())
        _say(f"control plane ready at {cp.server} ({timings})")
        crd_dir: Path = args.crds
        if crd_dir.is_dir() and any(crd_dir.glob("*.yaml")):
            installed = await cp.install_crds([crd_dir])
            names = ", ".join(c["metadata"]["name"] for c in installed)
            _say(f"installed CRDs: {names or '(none)'}")
        kubeconfig: Path = args.kubeconfig
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cp.kubeconfig, kubeconfig)
        kubectl = cp.assets.directory / "kubectl"
        _say(
            f"\nkubeconfig written to {kubeconfig}\n"
            f"  export KUBECONFIG={kubeconfig.resolve()}\n"
            f"  {kubectl} get nodes\n"
            f"component logs: {cp.log_dir}\n"
            "press Ctrl-C to stop"
        )
        await _wait_for_signal()
        _say("stopping ...")
    finally:
        await cp.stop()
        with contextlib.suppress(FileNotFoundError):
            args.kubeconfig.unlink()
    return 0


async def run_crds(args: argparse.Namespace) -> int:
    from api.v1alpha1.crdgen.__main__ import main as crdgen

    argv = ["--output", str(args.output)] + (["--check"] if args.check else [])
    return crdgen(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sei-controller", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the local dev mode on an embedded cluster")
    dev.add_argument("--crds", type=Path, default=DEFAULT_CRD_DIR, help="CRD directory")
    dev.add_argument(
        "--kubeconfig", type=Path, default=Path(".dev/kubeconfig"), help="where to write it"
    )
    dev.add_argument("--nodes", type=int, default=3, help="number of fake kwok nodes")
    dev.add_argument(
        "--apiserver-only",
        action="store_true",
        help="etcd and kube-apiserver only (no pods, no garbage collection)",
    )
    dev.set_defaults(run=run_dev)
    crds = sub.add_parser("crds", help="generate config/crd from the API models")
    crds.add_argument("--output", type=Path, default=DEFAULT_CRD_DIR)
    crds.add_argument("--check", action="store_true", help="fail if the files differ")
    crds.set_defaults(run=run_crds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(asyncio.run(args.run(args)))


if __name__ == "__main__":
    sys.exit(main())
