"""The `sei-controller` command.

sei-controller run      the operator's manager (both controllers), as deployed in a cluster
sei-controller dev      local dev mode: a local cluster, the operator and sidecars, a 3-replica
                        SeiNodeDeployment brought to Ready and upgraded in place, shown live;
                        then stays up for kubectl until Ctrl-C (or --exit-after-upgrade).
sei-controller rollout status snd/<name>
                        follow a SeiNodeDeployment's rollout until it ends
sei-controller crds     print the sei.io CRDs (or write/check them in a directory)
sei-controller version  print the version

Errors the user can fix (flags, environment, cluster access) end with one line on stderr and
a non-zero exit: 2 for usage, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import textwrap
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from controller_runtime.manager import BoolFlag
from controllers import devmode
from controllers.platform import Platform, env_var_name
from controllers.rollout_status.command import add_rollout_arguments
from controllers.run import StartupError, add_run_arguments, run

DEFAULT_CRD_DIR = Path("config/crd")
_PLATFORM_VARIABLES = [env_var_name(name) for name in Platform.model_fields]


_RUN_DESCRIPTION = """\
Runs the SeiNode and SeiNodeDeployment controllers against the cluster of --kubeconfig
(default: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config).

Every flag can also be set by the environment variable shown beside it; a flag on the command
line wins. Boolean flags take --flag, --flag=false or --no-flag; durations use Go syntax (90s,
10m, 1h30m). The platform (node pool, storage classes, resources, buckets, gateway) comes from
the SEI_* variables, all required except SEI_GATEWAY_PUBLIC_DOMAIN:
{platform}

Exit status: 0 after a graceful stop (SIGTERM/SIGINT: controllers stop, then the Lease is
released), 1 when start-up fails or leadership is lost, 2 for a bad flag or variable.""".format(
    platform=textwrap.fill(
        ", ".join(_PLATFORM_VARIABLES), 92, initial_indent="  ", subsequent_indent="  "
    )
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default (already the environment's value when that is set), and
    boolean flags as ``--x[=true|false], --no-x``."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, BoolFlag):
            first, *rest = action.option_strings
            return ", ".join([f"{first}[=true|false]", *rest])
        return super()._format_action_invocation(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default not in (None, "", argparse.SUPPRESS) and action.option_strings:
            shown = str(default).lower() if isinstance(default, bool) else default
            text += f" (default: {shown})"
        return text.replace("%", "%%")


async def run_crds(args: argparse.Namespace) -> int:
    from api.v1alpha1.crdgen.__main__ import main as crdgen
    from api.v1alpha1.crdgen.render import KUSTOMIZATION, render_files

    if args.output is None and not args.check:
        # One multi-document stream, ready for `kubectl apply -f -`.
        docs = [text for name, text in render_files().items() if name != KUSTOMIZATION]
        sys.stdout.write("---\n".join(docs))
        return 0
    argv = ["--output", str(args.output or DEFAULT_CRD_DIR)] + (["--check"] if args.check else [])
    return crdgen(argv)


def package_version() -> str:
    try:
        return metadata.version("sei-k8s-controller")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


async def run_version(_: argparse.Namespace) -> int:
    print(
        f"sei-controller {package_version()} "
        f"(python {platform.python_version()}, {sys.platform}/{platform.machine()})"
    )
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (no usage dump): ``sei-controller run: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sei-controller",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd = sub.add_parser(
        "run",
        help="run the operator's manager (both controllers)",
        description=_RUN_DESCRIPTION,
        usage="%(prog)s [flags]",
        formatter_class=_HelpFormatter,
    )
    add_run_arguments(run_cmd)
    run_cmd.set_defaults(run=run)
    dev = sub.add_parser(
        "dev",
        help="local dev mode: a cluster, the operator, a fleet upgraded in place, shown live",
        description=devmode.DESCRIPTION,
        formatter_class=_HelpFormatter,
    )
    devmode.add_dev_arguments(dev)
    dev.set_defaults(run=devmode.run_dev_command)
    crds = sub.add_parser("crds", help="print the sei.io CRDs (YAML, for kubectl apply -f -)")
    crds.add_argument(
        "--output", type=Path, default=None, help="write the CRD files into this directory"
    )
    crds.add_argument(
        "--check",
        action="store_true",
        help="fail if the files in --output (default config/crd) differ from generated ones",
    )
    crds.set_defaults(run=run_crds)
    add_rollout_arguments(sub, _HelpFormatter)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(run=run_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # reported by the command they were given to, not by the top level
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        failing = getattr(args, "usage_parser", None) or commands.choices[args.command]
        failing.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return int(asyncio.run(args.run(args)))
    except StartupError as exc:
        print(f"sei-controller {args.command}: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
