"""``sei-controller run``: the manager with both controllers, as deployed in a cluster.

Flags follow the reference's ``cmd/main.go`` (spec 9.2): metrics on ``:8080`` over HTTP,
probes on ``:8081``, leader election on with the Lease ``bc1f5b0a.sei.io``, released on a
graceful stop. Every flag can also be set by ``SEI_CONTROLLER_<FLAG>``; the platform itself is
the ``SEI_*`` environment of spec 5.1.

Invariant: a start-up problem the user can fix (a flag, a variable, the kubeconfig, the API
server, missing CRDs) ends the process with one line on stderr naming it and a non-zero exit,
never a traceback; nothing is started before every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

import aiohttp
import structlog
import yaml

from controller_runtime import log as runtime_log
from controller_runtime.client import (
    Client,
    ForbiddenError,
    NoKindMatchError,
    RestClient,
    UnauthorizedError,
    load_config,
)
from controller_runtime.manager import (
    FlagDefaults,
    Manager,
    ManagerOptions,
    add_manager_flags,
    apply_env_defaults,
    election_config,
    manager_options,
    parse_duration,
    run_until_signal,
)
from controllers.operator import OperatorOptions, setup_operator
from controllers.platform import Platform, PlatformConfigError
from controllers.seinodedeployment.reconciler import DEFAULT_STALL_THRESHOLD
from controllers.seinodedeployment.rollout import go_duration
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.url import DEFAULT_URL_TEMPLATE, SidecarURLTemplateError, URLTemplate

__all__ = [
    "ENV_PREFIX",
    "FIELD_OWNER",
    "LEADER_ELECTION_ID",
    "StartupError",
    "UsageError",
    "add_run_arguments",
    "load_rest",
    "run",
    "run_options",
]

ENV_PREFIX = "SEI_CONTROLLER_"
LEADER_ELECTION_ID = "bc1f5b0a.sei.io"
# The reference binary is /manager: writes without their own field manager (finalizers, child
# SeiNodes, status) carry "manager", so managedFields match the reference's after a migration.
FIELD_OWNER = "manager"
API_VERSION = "sei.io/v1alpha1"
REFERENCE_DEFAULTS = FlagDefaults(
    metrics_bind_address=":8080",
    metrics_secure=False,
    leader_elect=True,
    leader_election_release_on_cancel=True,
)

log = structlog.get_logger("setup")


class StartupError(Exception):
    """A problem the user fixes before the manager can start; its message is the one line."""

    exit_code = 1


class UsageError(StartupError):
    """A flag or SEI_CONTROLLER_* variable the command refuses (exit 2, as argparse)."""

    exit_code = 2


def _url_template(value: str) -> str:
    try:
        URLTemplate(value)
    except SidecarURLTemplateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive_duration(value: str) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value!r}")
    return seconds


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    add_manager_flags(parser, LEADER_ELECTION_ID, REFERENCE_DEFAULTS)
    group = parser.add_argument_group("operator")
    group.add_argument(
        "--rollout-stall-threshold",
        type=_positive_duration,
        default=go_duration(DEFAULT_STALL_THRESHOLD),
        metavar="DURATION",
        help="an InPlace rollout with nodes not ready for this long is marked Stalled and a "
        "RolloutStalled event is emitted (Go duration)",
    )
    group.add_argument(
        "--sidecar-url-template",
        type=_url_template,
        default=DEFAULT_URL_TEMPLATE,
        metavar="TEMPLATE",
        help="base URL of a node's sidecar, with the placeholders {name}, {namespace} and "
        "{port} (the node's spec.sidecar.port, default 7777)",
    )
    group.add_argument(
        "--startup-timeout",
        type=_positive_duration,
        default="30s",
        metavar="DURATION",
        help="how long to wait for the API server to answer at start-up (Go duration)",
    )
    group = parser.add_argument_group("logging")
    group.add_argument(
        "--log-format",
        choices=("json", "console"),
        default="json",
        help="json: one JSON object per line (for log collectors); console: readable text",
    )
    group.add_argument(
        "--log-level",
        choices=tuple(runtime_log.LEVELS),
        default="info",
        help="least severe level logged",
    )
    parser.set_defaults(env_problems=apply_env_defaults(parser, ENV_PREFIX))


async def _check_api_server(client: Client, timeout: float) -> None:
    """Fails fast, with what to fix, when the API server cannot be used: unreachable, the
    credentials refused, or the Sei CRDs not installed. Otherwise the manager would wait on
    caches that never sync."""
    server = client.rest.host
    try:
        await asyncio.wait_for(client.rest.request("GET", "/version", timeout=timeout), timeout)
        for kind in ("SeiNode", "SeiNodeDeployment"):
            await asyncio.wait_for(client.resource(API_VERSION, kind), timeout)
    except (UnauthorizedError, ForbiddenError) as exc:
        raise StartupError(f"the API server at {server} refused the credentials: {exc}") from None
    except NoKindMatchError:
        raise StartupError(
            f"the {API_VERSION} CRDs are not installed in the cluster at {server}: "
            "`kubectl apply -k config/crd` or `sei-controller crds | kubectl apply -f -`"
        ) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {go_duration(timeout)}"
        raise StartupError(
            f"cannot reach the Kubernetes API server at {server}: {reason}"
        ) from None


def _check_kubeconfig(path: str) -> None:
    """A kubeconfig that cannot be read or is not one, said plainly (the loader's own errors
    for such files are internal ones, e.g. about item assignment)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StartupError(f"cannot read the kubeconfig {path}: {exc.strerror or exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise StartupError(f"the kubeconfig {path} is not valid YAML: {first}") from None
    if not isinstance(document, dict) or not document.get("clusters"):
        raise StartupError(f"the kubeconfig {path} is not a kubeconfig (it has no clusters)")


async def load_rest(kubeconfig: str | None) -> RestClient:
    """The connection of --kubeconfig (else $KUBECONFIG, in-cluster, ~/.kube/config); one that
    cannot be loaded is a StartupError naming the file and why."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        _check_kubeconfig(path)
    try:
        return RestClient(await load_config(kubeconfig))
    except Exception as exc:  # kubernetes_asyncio raises many kinds; each is a bad config
        source = f"kubeconfig {path}" if path else "Kubernetes configuration"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot load the {source}: {reason}") from None


def run_options(args: argparse.Namespace) -> ManagerOptions:
    """The manager's options for parsed ``run`` flags (also what tests run the manager with)."""
    options = manager_options(args)
    options.field_owner = FIELD_OWNER
    return options


def _check_election(options: ManagerOptions) -> None:
    if not options.leader_election_id:
        raise UsageError("--leader-election-id must not be empty with --leader-elect")
    try:
        election_config(options)
    except ValueError:
        raise StartupError(
            "leader election needs a namespace for its Lease outside a cluster: pass "
            "--leader-election-namespace, or --leader-elect=false"
        ) from None


async def run(args: argparse.Namespace) -> int:
    if args.env_problems:
        raise UsageError("; ".join(args.env_problems))
    runtime_log.configure(json=args.log_format == "json", level=args.log_level)
    try:
        platform = Platform.from_env()
    except PlatformConfigError as exc:
        raise StartupError(f"invalid platform configuration: {exc}") from None
    rest = await load_rest(args.kubeconfig)
    options = run_options(args)
    try:
        if options.leader_election:
            _check_election(options)
        await _check_api_server(Client(rest), args.startup_timeout)
        async with HTTPSidecarClientFactory(args.sidecar_url_template) as sidecars:
            manager = Manager(rest, options)
            setup_operator(
                manager,
                OperatorOptions(
                    platform=platform,
                    sidecars=sidecars,
                    stall_threshold=args.rollout_stall_threshold,
                ),
            )
            log.info(
                "starting manager",
                server=rest.host,
                namespace=options.namespace or "(all)",
                leader_election=options.leader_election,
                metrics=options.metrics_bind_address,
                probes=options.health_probe_bind_address,
            )
            failure: list[BaseException] = []

            async def start() -> None:
                try:
                    await manager.start()
                except Exception as exc:
                    failure.append(exc)

            code = await run_until_signal(start())
            if failure:
                raise StartupError(f"manager stopped: {failure[0]}")
            return code
    finally:
        await rest.close()
