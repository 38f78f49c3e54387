"""``sei-controller rollout status snd/<name>``: follows a SeiNodeDeployment's rollout through a
watch of that one object (``fieldSelector=metadata.name=<name>``) and ends with an exit code
that says how it went (see ``EXIT_CODES``).

Invariant: whatever goes wrong (a bad argument, the kubeconfig, the API server, a missing
object, the rollout itself) ends with one line on stderr and a non-zero exit, never a
traceback; progress goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import yaml

from controller_runtime.client import (
    Client,
    ForbiddenError,
    GoneError,
    NoKindMatchError,
    NotFoundError,
    UnauthorizedError,
)
from controller_runtime.manager import BoolFlag, parse_duration
from controllers.rollout_status.render import redraw, screen
from controllers.rollout_status.verdict import Outcome, Verdict, evaluate
from controllers.run import StartupError, load_rest
from controllers.seinodedeployment.rollout import go_duration

__all__ = ["EXIT_CODES", "add_rollout_arguments", "parse_resource", "rollout_status"]

API_VERSION, KIND = "sei.io/v1alpha1", "SeiNodeDeployment"
PROG = "sei-controller rollout status"
RESOURCE_TYPES = frozenset(
    f"{name}{suffix}"
    for name in ("snd", "seinodedeployment", "seinodedeployments")
    for suffix in ("", ".sei.io")
)
EXIT_COMPLETE, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_FAILED, EXIT_STALLED, EXIT_TIMEOUT, EXIT_IN_PROGRESS = 3, 4, 5, 6
EXIT_INTERRUPTED = 130  # the shell's code for a command ended by SIGINT
EXIT_CODES = {
    EXIT_COMPLETE: "the rollout completed (or none is pending and the group is Ready)",
    EXIT_ERROR: "the object, the kubeconfig or the API server could not be read",
    EXIT_USAGE: "a bad flag or resource argument",
    EXIT_FAILED: "the rollout failed (RolloutFailed), every node Failed, or the group is deleted",
    EXIT_STALLED: "the rollout stalled (RolloutInProgress reason Stalled)",
    EXIT_TIMEOUT: "--timeout elapsed first",
    EXIT_IN_PROGRESS: "--watch=false and the rollout is still in progress",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM) before the rollout ended",
}
_OUTCOME_EXIT = {
    Outcome.COMPLETE: EXIT_COMPLETE,
    Outcome.FAILED: EXIT_FAILED,
    Outcome.STALLED: EXIT_STALLED,
    Outcome.PROGRESSING: EXIT_IN_PROGRESS,
}
# Bounds one read when nothing else does (no --timeout): the first GET, a re-read after 410.
REQUEST_TIMEOUT = 30.0
# The API server ends each watch after this long; the next one resumes at the last version.
WATCH_SECONDS = 300
WATCH_RETRIES = 5
TICK = 1.0  # a terminal's elapsed time is redrawn this often

_DESCRIPTION = """\
Follows the rollout of a SeiNodeDeployment until it ends, like `kubectl rollout status`: the
nodes updated so far, per node its phase and whether it runs the new template, the plan step.
A terminal gets a progress bar redrawn in place; a pipe or log gets one line per change.

RESOURCE is snd/<name> (also seinodedeployment/<name>, seinodedeployments.sei.io/<name>).

Exit status:
{codes}""".format(codes="\n".join(f"  {code}  {why}" for code, why in EXIT_CODES.items()))


class StatusError(Exception):
    """Ends the command: the message is its one line on stderr."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def parse_resource(value: str) -> str:
    """``snd/<name>`` (or a longer spelling of the type) -> ``<name>``."""
    kind, sep, name = value.partition("/")
    if not sep or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"expected snd/<name>, got {value!r}")
    if kind.lower() not in RESOURCE_TYPES:
        raise argparse.ArgumentTypeError(
            f"rollout status follows SeiNodeDeployments (snd/<name>), not {kind!r}"
        )
    return name


def _timeout(value: str) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value!r}")
    return seconds


def add_rollout_arguments(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Adds ``rollout status`` to the ``sei-controller`` subcommands."""
    rollout = commands.add_parser("rollout", help="follow a SeiNodeDeployment's rollout")
    verbs = rollout.add_subparsers(dest="rollout_command", required=True, metavar="COMMAND")
    status = verbs.add_parser(
        "status",
        help="wait for a rollout to finish, showing its progress",
        description=_DESCRIPTION,
        usage="%(prog)s snd/<name> [flags]",
        formatter_class=formatter,
    )
    status.add_argument("resource", type=parse_resource, metavar="RESOURCE", help="snd/<name>")
    status.add_argument(
        "-n", "--namespace", help="the group's namespace (default: the kubeconfig context's)"
    )
    status.add_argument(
        "--kubeconfig", help="cluster to read (default: $KUBECONFIG, in-cluster, ~/.kube/config)"
    )
    status.add_argument(
        "--timeout",
        type=_timeout,
        default="0s",
        metavar="DURATION",
        help="give up after this long (Go duration; 0s waits for ever)",
    )
    status.add_argument(
        "--watch",
        action=BoolFlag,
        default=True,
        help="follow until the rollout ends; --watch=false prints the current state and exits",
    )
    status.set_defaults(run=rollout_status, usage_parser=status)


def context_namespace(kubeconfig: str | None) -> str:
    """The namespace of the kubeconfig's current context, in-cluster the pod's, else default
    (as kubectl picks it)."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        with contextlib.suppress(OSError, yaml.YAMLError, AttributeError, TypeError):
            config = yaml.safe_load(Path(path.split(os.pathsep)[0]).read_text(encoding="utf-8"))
            current = config.get("current-context")
            for entry in config.get("contexts") or ():
                if entry.get("name") == current:
                    return str((entry.get("context") or {}).get("namespace") or "default")
        return "default"
    pod = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    if os.environ.get("KUBERNETES_SERVICE_HOST") and pod.is_file():
        return pod.read_text(encoding="utf-8").strip() or "default"
    return "default"


def _api_error(exc: BaseException, server: str, namespace: str, name: str) -> StatusError:
    """The one line for a failed read."""
    if isinstance(exc, NotFoundError):
        return StatusError(f'seinodedeployment "{name}" not found in namespace "{namespace}"')
    if isinstance(exc, NoKindMatchError):
        return StatusError(f"the {API_VERSION} CRDs are not installed in the cluster at {server}")
    if isinstance(exc, UnauthorizedError | ForbiddenError):
        return StatusError(f"the API server at {server} refused the request: {exc}")
    if isinstance(exc, TimeoutError):
        return StatusError(f"cannot reach the Kubernetes API server at {server}: no answer")
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, aiohttp.ClientError | OSError):
        return StatusError(f"cannot reach the Kubernetes API server at {server}: {reason}")
    return StatusError(f"reading seinodedeployment {namespace}/{name} failed: {reason}")


async def _watch(
    client: Client, namespace: str, name: str, follow: bool = True
) -> AsyncIterator[dict[str, Any]]:
    """The object now, then (``follow``) every change: GET, then watches resumed at the last
    version seen (a 410 re-reads first). Ends by raising: deleted (StatusError), or the API
    server lost for WATCH_RETRIES attempts in a row."""
    server = client.rest.host
    failures = 0
    obj: dict[str, Any] | None = None
    while True:
        try:
            if obj is None:
                obj = await asyncio.wait_for(
                    client.get(API_VERSION, KIND, name, namespace), REQUEST_TIMEOUT
                )
                yield obj
                if not follow:
                    return
            version = obj["metadata"].get("resourceVersion")
            async with client.watch(
                API_VERSION,
                KIND,
                namespace,
                resource_version=version,
                field_selector=f"metadata.name={name}",
                timeout_seconds=WATCH_SECONDS,
            ) as events:
                failures = 0
                async for event in events:
                    kind, body = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        if body.get("code") == 410:
                            raise GoneError(410, "Expired", str(body.get("message") or ""), body)
                        raise StatusError(f"watching failed: {body.get('message') or body}")
                    if kind == "DELETED":
                        raise StatusError(
                            f'seinodedeployment "{name}" was deleted', code=EXIT_FAILED
                        )
                    if kind == "BOOKMARK":
                        obj["metadata"]["resourceVersion"] = body["metadata"]["resourceVersion"]
                        continue
                    obj = body
                    yield obj
        except GoneError:
            obj = None  # the version is too old to resume from: read the object again
        except (NotFoundError, NoKindMatchError, UnauthorizedError, ForbiddenError) as exc:
            raise _api_error(exc, server, namespace, name) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            failures += 1
            if obj is None or failures >= WATCH_RETRIES:
                raise _api_error(exc, server, namespace, name) from None
            await asyncio.sleep(min(2.0**failures, 10.0))


class Display:
    """Shows each verdict: redrawn in place on a terminal, one line per change otherwise."""

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out, self.tty = out, tty
        self._height = 0
        self._last: str | None = None

    def show(self, verdict: Verdict, final: bool = False) -> None:
        if self.tty:
            lines = screen(verdict, datetime.now(UTC))
            if final:  # the message is the command's last line, printed by the caller
                lines = lines[1:]
            columns = shutil.get_terminal_size().columns or 80  # a new pty may say 0
            self.out.write(redraw(self._height, lines, columns))
            self._height = len(lines)
        elif not final and verdict.message != self._last:
            self.out.write(verdict.message + "\n")
        self._last = verdict.message
        self.out.flush()


def _finish(verdict: Verdict, display: Display) -> int:
    """The last display and line: on stdout when the rollout completed or (``--watch=false``)
    still runs, on stderr when it went wrong."""
    display.show(verdict, final=True)
    code = _OUTCOME_EXIT[verdict.outcome]
    if verdict.outcome in (Outcome.COMPLETE, Outcome.PROGRESSING):
        print(verdict.message, flush=True)
    else:
        print(f"{PROG}: {verdict.message}", file=sys.stderr, flush=True)
    return code


async def _follow(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout if args.timeout > 0 else None
    display = Display(sys.stdout, sys.stdout.isatty())
    updates: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for obj in _watch(client, namespace, name, follow=args.watch):
                updates.put_nowait(obj)
        except StatusError as exc:  # handed to the loop below, which owns the exit
            updates.put_nowait(exc)
        except Exception as exc:  # e.g. a proxy answering the watch with something not JSON
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            updates.put_nowait(StatusError(f"following {namespace}/{name} failed: {reason}"))

    watcher = asyncio.create_task(pump(), name="rollout-status-watch")
    verdict: Verdict | None = None
    try:
        while True:
            wait = TICK if display.tty and verdict is not None else None
            if deadline is not None:
                left = deadline - loop.time()
                wait = left if wait is None else min(wait, left)
            try:
                item = await asyncio.wait_for(updates.get(), None if wait is None else max(wait, 0))
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    if verdict is None:
                        raise StatusError(
                            f"timed out after {go_duration(args.timeout)} reading "
                            f'seinodedeployment "{name}"',
                            EXIT_TIMEOUT,
                        ) from None
                    raise StatusError(
                        f"timed out after {go_duration(args.timeout)}: {verdict.message}",
                        EXIT_TIMEOUT,
                    ) from None
                assert verdict is not None
                display.show(verdict)  # a terminal's tick: elapsed time moves on
                continue
            if isinstance(item, BaseException):
                raise item
            verdict = evaluate(item)
            if verdict.outcome.final or not args.watch:
                return _finish(verdict, display)
            display.show(verdict)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def rollout_status(args: argparse.Namespace) -> int:
    name: str = args.resource
    # Ctrl-C (or SIGTERM) ends the watch quietly, as kubectl's does, not with a traceback.
    loop, this = asyncio.get_running_loop(), asyncio.current_task()
    assert this is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, this.cancel)
    try:
        try:
            rest = await load_rest(args.kubeconfig)
        except StartupError as exc:
            raise StatusError(str(exc)) from None
        try:
            namespace = args.namespace or context_namespace(args.kubeconfig)
            return await _follow(Client(rest), namespace, name, args)
        finally:
            await rest.close()
    except StatusError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except asyncio.CancelledError:
        newline = "\n" if sys.stderr.isatty() else ""  # after the terminal's echoed ^C
        print(f"{newline}{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
