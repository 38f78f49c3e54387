"""The command-line flags operators built on controller-runtime share, mapped to
ManagerOptions (names as in the kubebuilder scaffold's main.go), with Go flag syntax where it
matters (``--leader-elect=false``, durations like ``10m``) and optional environment defaults.

An operator keeps its own defaults (``FlagDefaults``); ``apply_env_defaults`` then lets every
long flag of a parser be set by ``<PREFIX><FLAG_NAME>`` (``--leader-elect`` ->
``SEI_CONTROLLER_LEADER_ELECT``). Precedence: command line > environment > default.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller_runtime.controller.options import ControllerConfig
from controller_runtime.manager.manager import ManagerOptions
from controller_runtime.metrics import parse_bind_address

__all__ = [
    "BoolFlag",
    "FlagDefaults",
    "add_manager_flags",
    "apply_env_defaults",
    "bind_address",
    "env_var_for",
    "manager_options",
    "parse_bool",
    "parse_duration",
]

_TRUE = frozenset({"1", "t", "true", "yes", "on"})
_FALSE = frozenset({"0", "f", "false", "no", "off"})
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_bool(value: str) -> bool:
    """Go's strconv.ParseBool, plus yes/no/on/off (environment variables use them)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_duration(value: str) -> float:
    """Go's time.ParseDuration, in seconds: ``10m``, ``1h30m``, ``2.5s``, ``500ms``, ``0``.

    A bare number other than 0 is refused, as Go does: ``10`` could mean seconds or minutes.
    """
    text = value.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise argparse.ArgumentTypeError(
            f"invalid duration {value!r} (use Go syntax with a unit: 90s, 10m, 1h30m)"
        )
    return sign * total


def bind_address(value: str) -> str:
    """A Go-style listen address (``:8080``, ``127.0.0.1:8080``, ``0`` to disable), checked."""
    try:
        parse_bind_address(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid bind address {value!r}: {exc}") from None
    return value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


class BoolFlag(argparse.Action):
    """A Go-style boolean flag: ``--x`` and ``--x=true`` set it, ``--x=false`` and ``--no-x``
    clear it (any of Go's strconv.ParseBool spellings)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        default: bool = False,
        help: str | None = None,
        **_: Any,
    ) -> None:
        negated = [f"--no-{o[2:]}" for o in option_strings if o.startswith("--")]
        super().__init__(
            [*option_strings, *negated],
            dest,
            nargs="?",
            const=True,
            type=parse_bool,
            default=default,
            help=help,
            metavar="true|false",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if (option_string or "").startswith("--no-"):
            given: object = values  # parse_bool's result, or const (True) when none given
            if given is not True:
                parser.error(f"argument {option_string}: takes no value")
            setattr(namespace, self.dest, False)
            return
        setattr(namespace, self.dest, values)


def env_var_for(prefix: str, option: str) -> str:
    """``("SEI_CONTROLLER_", "--leader-elect")`` -> ``SEI_CONTROLLER_LEADER_ELECT``."""
    return prefix + option.lstrip("-").upper().replace("-", "_")


def apply_env_defaults(
    parser: argparse.ArgumentParser, prefix: str, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every long option of ``parser`` defaults to ``<prefix><NAME>`` when that variable is
    set, and its help names the variable. Call after every argument is added.

    Returns one line per variable whose value the flag would refuse (that flag keeps its
    default); the caller reports them when the command runs, so ``--help`` still works."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        if not longs:
            continue
        variable = env_var_for(prefix, longs[0])
        action.help = f"{action.help or ''} [env {variable}]".strip()
        raw = env.get(variable)
        if raw is None:
            continue
        try:
            action.default = _convert(action, raw)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            problems.append(f"environment variable {variable}={raw!r}: {exc}")
    return problems


def _convert(action: argparse.Action, raw: str) -> Any:
    convert: Callable[[str], Any] = action.type if callable(action.type) else str
    value = convert(raw)
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise argparse.ArgumentTypeError(f"invalid choice {raw!r} (choose from {choices})")
    return value


@dataclass(frozen=True)
class FlagDefaults:
    """Defaults an operator may change; those of the current kubebuilder scaffold otherwise."""

    metrics_bind_address: str = "0"
    metrics_secure: bool = True
    health_probe_bind_address: str = ":8081"
    leader_elect: bool = False
    leader_election_release_on_cancel: bool = False


def add_manager_flags(
    parser: argparse.ArgumentParser,
    leader_election_id: str,
    defaults: FlagDefaults | None = None,
) -> None:
    d = defaults or FlagDefaults()
    group = parser.add_argument_group("manager")
    group.add_argument(
        "--kubeconfig",
        default=None,
        metavar="PATH",
        help="path to a kubeconfig; default: $KUBECONFIG, else the in-cluster service account, "
        "else ~/.kube/config",
    )
    group.add_argument(
        "--metrics-bind-address",
        type=bind_address,
        metavar="ADDR",
        default=d.metrics_bind_address,
        help='address of the /metrics endpoint, e.g. ":8080"; "0" disables it',
    )
    group.add_argument(
        "--metrics-secure",
        action=BoolFlag,
        default=d.metrics_secure,
        help="serve metrics over HTTPS, each request authenticated (TokenReview) and "
        "authorized (SubjectAccessReview of GET /metrics)",
    )
    group.add_argument(
        "--metrics-cert-dir",
        default=None,
        metavar="DIR",
        help="directory of tls.crt/tls.key for secure metrics (default: self-signed)",
    )
    group.add_argument(
        "--health-probe-bind-address",
        type=bind_address,
        metavar="ADDR",
        default=d.health_probe_bind_address,
        help='address of /healthz and /readyz; "0" disables them',
    )
    group.add_argument(
        "--leader-elect",
        action=BoolFlag,
        default=d.leader_elect,
        help="elect a leader (a Lease), so that only one replica runs the controllers",
    )
    group.add_argument(
        "--leader-election-id",
        default=leader_election_id,
        metavar="NAME",
        help="name of the leader-election Lease",
    )
    group.add_argument(
        "--leader-election-namespace",
        default="",
        metavar="NAMESPACE",
        help="namespace of the Lease; default: the service account's namespace in a cluster "
        "(required outside one)",
    )
    group.add_argument(
        "--leader-election-release-on-cancel",
        action=BoolFlag,
        default=d.leader_election_release_on_cancel,
        help="give the Lease up on a graceful stop, so the next leader need not wait it out",
    )
    group.add_argument(
        "--watch-namespace",
        "--namespace",
        dest="namespace",
        default=None,
        metavar="NAMESPACE",
        help="watch and reconcile only this namespace (default: all namespaces)",
    )
    group.add_argument(
        "--max-concurrent-reconciles",
        type=_positive_int,
        default=1,
        metavar="N",
        help="reconciles each controller runs at once",
    )
    group.add_argument(
        "--graceful-shutdown-timeout",
        type=parse_duration,
        default="30s",
        metavar="DURATION",
        help="how long a graceful stop may take (Go duration)",
    )


def manager_options(args: argparse.Namespace) -> ManagerOptions:
    return ManagerOptions(
        namespace=args.namespace or None,
        metrics_bind_address=args.metrics_bind_address,
        secure_metrics=args.metrics_secure,
        metrics_cert_dir=args.metrics_cert_dir,
        health_probe_bind_address=args.health_probe_bind_address,
        leader_election=args.leader_elect,
        leader_election_id=args.leader_election_id,
        leader_election_namespace=args.leader_election_namespace,
        leader_election_release_on_cancel=args.leader_election_release_on_cancel,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        controller=ControllerConfig(max_concurrent_reconciles=args.max_concurrent_reconciles),
    )
