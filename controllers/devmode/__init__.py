"""``sei-controller dev``: the operator managing and upgrading a fleet on a local cluster.

model (pure view model) -> store (the current view, waits) -> plain / live renderers;
binaries, cluster and observe bring things up and feed the view; session runs the story.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controller_runtime.manager import parse_duration
from controllers.devmode.manifest import UPGRADE_IMAGE
from controllers.devmode.session import DevFailure, DevOptions, run_dev
from controllers.devmode.store import Renderer

__all__ = ["DESCRIPTION", "DevFailure", "DevOptions", "add_dev_arguments", "run_dev_command"]

DESCRIPTION = """\
Builds (or finds cached) the control plane's binaries and the real node sidecar, starts a local
cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes), installs
the sei.io CRDs, starts a sidecar per node pod (`seictl serve`, or simulated where seictl
cannot be had) and the operator's manager, then creates a 3-replica InPlace
SeiNodeDeployment, waits until it is Ready and upgrades its image in place, showing nodes,
phases, images, the rollout's progress and recent events as it happens (a live screen on a
terminal, one timestamped line per change otherwise).

Then it prints a KUBECONFIG=... line for kubectl and runs until Ctrl-C, or exits 0 with
--exit-after-upgrade. Exit status: 0 on success (or Ctrl-C after the upgrade), 1 when a step
fails (one line on stderr), 130 when interrupted before the upgrade completed."""


def _duration(value: str) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value!r}")
    return seconds


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value!r}")
    return number


def add_dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".dev"),
        help="where the kubeconfig and the logs (control plane, sidecars, manager) go",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="where to write the cluster's kubeconfig (default: STATE_DIR/kubeconfig)",
    )
    parser.add_argument("--nodes", type=_positive, default=3, help="number of fake kwok nodes")
    parser.add_argument(
        "--sidecars",
        choices=("auto", "seictl", "simulator"),
        default="auto",
        help="auto: the real `seictl serve` if it can be built or found, else simulated",
    )
    parser.add_argument(
        "--upgrade-image", default=UPGRADE_IMAGE, help="the image the upgrade rolls out"
    )
    parser.add_argument(
        "--timeout",
        type=_duration,
        default="5m",
        metavar="DURATION",
        help="how long the deployment may take to become Ready, and the upgrade to complete "
        "(Go duration)",
    )
    parser.add_argument(
        "--exit-after-upgrade",
        action="store_true",
        help="exit 0 once the upgrade completed instead of staying up (CI's smoke test)",
    )
    parser.add_argument(
        "--output",
        choices=("auto", "live", "plain"),
        default="auto",
        help="live: a screen redrawn in place; plain: timestamped lines; auto: live on a terminal",
    )


def _renderer(output: str) -> Renderer:
    from controllers.devmode.plain import PlainRenderer

    if output == "plain" or (output == "auto" and not sys.stdout.isatty()):
        return PlainRenderer(sys.stdout)
    from controllers.devmode.live import LiveRenderer

    return LiveRenderer()


async def run_dev_command(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    options = DevOptions(
        state_dir=state_dir,
        kubeconfig=args.kubeconfig or state_dir / "kubeconfig",
        upgrade_image=args.upgrade_image,
        nodes=args.nodes,
        sidecars=args.sidecars,
        timeout=args.timeout,
        exit_after_upgrade=args.exit_after_upgrade,
    )
    return await run_dev(options, _renderer(args.output))
