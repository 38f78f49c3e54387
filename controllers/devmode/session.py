"""``sei-controller dev``: binaries, local cluster, sidecars, manager, then a 3-replica
SeiNodeDeployment brought to Ready and upgraded InPlace, all shown as it happens.

Invariants:
- One failure ends the run with one line (:class:`DevFailure`: the step, what went wrong,
  where the logs are) and a non-zero exit; the traceback, if any, goes to the log file.
- SIGINT/SIGTERM cancel the session once; the exit stack then stops the manager, the sidecars
  and the control plane (by process group), newest first, whatever step was running. A
  second signal during that stop is ignored, so the stop is never cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from controller_runtime import log as runtime_log
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane
from controllers.devmode.binaries import BinaryError, control_plane_binaries, seictl_binary
from controllers.devmode.cluster import (
    install_crds,
    start_control_plane,
    start_fleet,
    start_manager,
)
from controllers.devmode.manifest import (
    GROUP_NAME,
    INITIAL_IMAGE,
    dev_deployment,
    dev_platform,
    image_patch,
)
from controllers.devmode.model import DevView, StepState, group_ready, upgrade_complete
from controllers.devmode.observe import Observer
from controllers.devmode.plain import PlainRenderer
from controllers.devmode.store import Renderer, ViewStore
from controllers.run import StartupError
from controllers.seinodedeployment.rollout import go_duration

__all__ = ["DevFailure", "DevOptions", "run_dev"]

log = structlog.get_logger("devmode")
INTERRUPTED = 130


class DevFailure(StartupError):
    """The dev mode cannot go on; the message is the one line the user reads."""


@dataclass(frozen=True)
class DevOptions:
    state_dir: Path
    kubeconfig: Path
    upgrade_image: str
    nodes: int = 3
    replicas: int = 3
    namespace: str = "default"
    sidecars: str = "auto"
    """auto (real seictl serve if it can be had, else simulated), seictl or simulator."""
    timeout: float = 300.0
    """For the deployment to become Ready, and again for the upgrade to complete."""
    exit_after_upgrade: bool = False


class _Step:
    def __init__(self, store: ViewStore, name: str) -> None:
        self.store, self.name, self.t0 = store, name, time.monotonic()

    def detail(self, text: str) -> None:
        self.store.step(self.name, StepState.RUNNING, text)

    def done(self, text: str) -> None:
        self.store.step(self.name, StepState.DONE, text)

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.t0:.1f}s"


@contextlib.contextmanager
def _step(store: ViewStore, name: str, detail: str, log_dir: Path) -> Iterator[_Step]:
    step = _Step(store, name)
    step.detail(detail)
    try:
        yield step
    except DevFailure as exc:
        store.step(name, StepState.FAILED, str(exc))
        raise
    except Exception as exc:
        log.exception("step failed", step=name)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        store.step(name, StepState.FAILED, reason)
        raise DevFailure(f"{name} failed: {reason} (logs in {log_dir})") from exc


async def _wait(
    store: ViewStore,
    manager: asyncio.Task[None],
    predicate: Callable[[DevView], bool],
    timeout: float,
) -> None:
    """Until ``predicate`` holds; TimeoutError after ``timeout``; DevFailure if the manager
    stops meanwhile (nothing would make the predicate true then)."""
    waiter = asyncio.create_task(store.wait_for(predicate, timeout))
    try:
        await asyncio.wait({waiter, manager}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not waiter.cancelled() and waiter.done():
        waiter.result()
        return
    error = manager.exception() if not manager.cancelled() else None
    raise DevFailure(f"the manager stopped: {error or 'cancelled'}")


def _summary(view: DevView) -> str:
    group = view.group
    if group is None:
        return "the SeiNodeDeployment was never seen"
    phases = ", ".join(f"{n.name} {n.phase} {n.current_image or '-'}" for n in view.nodes)
    return (
        f"{group.name} is {group.phase}, {group.ready_replicas}/{group.replicas} ready ({phases})"
    )


@dataclass
class _Outcome:
    upgraded: bool = False
    interrupted: bool = False


async def _sidecar_binary(mode: str, step: _Step) -> tuple[Path | None, str]:
    if mode == "simulator":
        return None, "not used (--sidecars=simulator)"
    try:
        return await seictl_binary(lambda line: step.detail(f"seictl: {line}"))
    except BinaryError as exc:
        if mode == "seictl":
            raise
        return None, f"unavailable ({exc}); the sidecars are simulated"


@dataclass
class _Running:
    cp: ControlPlane
    client: Client
    manager: asyncio.Task[None]


async def _start(
    o: DevOptions, store: ViewStore, stack: contextlib.AsyncExitStack, logs: Path
) -> _Running:
    """Binaries, control plane, CRDs, sidecars and manager, each a step on screen; whatever
    started is on ``stack``."""
    platform = dev_platform()
    with _step(store, "binaries", "looking for cached builds", logs) as step:
        cp_note = await control_plane_binaries(lambda line: step.detail(f"control plane: {line}"))
        seictl, seictl_note = await _sidecar_binary(o.sidecars, step)
        step.done(f"control plane {cp_note}; seictl {seictl_note}")
    components = "etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok"
    with _step(store, "control plane", f"starting {components}", logs) as step:
        cp = await start_control_plane(stack, logs / "control-plane", o.nodes)
        total = cp.start_seconds.get("total", 0.0)
        step.done(f"ready at {cp.server} in {total:.1f}s, {o.nodes} kwok nodes")
    rest = RestClient(await load_config(str(cp.kubeconfig)))
    stack.push_async_callback(rest.close)
    client = Client(rest, field_owner="sei-controller-dev")
    o.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cp.kubeconfig, o.kubeconfig)
    stack.callback(o.kubeconfig.unlink, missing_ok=True)  # a stopped cluster's is useless
    with _step(store, "CRDs", "installing the sei.io CRDs", logs) as step:
        names = await install_crds(cp, client, o.state_dir, platform)
        step.done(f"installed {', '.join(names)}")
    with _step(store, "sidecars", "starting the local fleet", logs) as step:
        fleet = await start_fleet(stack, client, o.namespace, seictl, logs / "sidecars")
        kind = "real `seictl serve`" if seictl is not None else "simulated sidecars"
        step.done(f"{kind}, one per node pod, following the pods (logs in {logs})")
    controllers = "the SeiNode and SeiNodeDeployment controllers"
    with _step(store, "manager", f"starting {controllers}", logs) as step:
        manager = await start_manager(stack, cp, fleet, o.namespace, platform)
        step.done(f"both controllers running in this process (log: {logs / 'dev.log'})")
    return _Running(cp, client, manager.task)


async def _deploy_and_upgrade(
    o: DevOptions, store: ViewStore, running: _Running, logs: Path
) -> None:
    where = f"{o.namespace}/{GROUP_NAME}"
    with _step(store, "deploy", f"creating SeiNodeDeployment {where}", logs) as step:
        await running.client.create(dev_deployment(o.namespace, o.replicas))
        step.detail(f"{where}: {o.replicas} replicas (InPlace) on {INITIAL_IMAGE}, waiting")
        try:
            await _wait(store, running.manager, lambda v: group_ready(v, INITIAL_IMAGE), o.timeout)
        except TimeoutError:
            raise DevFailure(
                f"{where} was not Ready within {go_duration(o.timeout)}: "
                f"{_summary(store.view)} (logs in {logs})"
            ) from None
        step.done(
            f"{where} Ready: {o.replicas}/{o.replicas} nodes Running on {INITIAL_IMAGE} "
            f"in {step.elapsed()}"
        )
    image = o.upgrade_image
    with _step(store, "upgrade", f"patching the template image to {image}", logs) as step:
        await running.client.patch(dev_deployment(o.namespace), image_patch(image))
        step.detail(f"rolling {o.replicas} nodes in place to {image}")
        try:
            await _wait(store, running.manager, lambda v: upgrade_complete(v, image), o.timeout)
        except TimeoutError:
            raise DevFailure(
                f"the upgrade to {image} did not complete within {go_duration(o.timeout)}: "
                f"{_summary(store.view)} (logs in {logs})"
            ) from None
        step.done(f"complete: {o.replicas}/{o.replicas} nodes on {image} in {step.elapsed()}")


async def _session(o: DevOptions, store: ViewStore, outcome: _Outcome) -> int:
    logs = o.state_dir / "logs"
    async with contextlib.AsyncExitStack() as stack:
        running = await _start(o, store, stack, logs)
        observer = Observer(running.client, store, o.namespace, GROUP_NAME)
        stack.push_async_callback(observer.stop)
        await observer.start()
        await _deploy_and_upgrade(o, store, running, logs)
        outcome.upgraded = True
        kubeconfig = o.kubeconfig.resolve()
        store.notice(f"KUBECONFIG={kubeconfig}")
        if o.exit_after_upgrade:
            store.notice(
                "exiting (--exit-after-upgrade): stopping the manager, sidecars and control plane"
            )
            return 0
        kubectl = running.cp.assets.directory / "kubectl"
        store.notice(
            f"try: KUBECONFIG={kubeconfig} {kubectl} get snd,seinodes,pods -n {o.namespace}"
        )
        store.notice("press Ctrl-C to stop the manager, the sidecars and the control plane")
        await _wait(store, running.manager, lambda _: False, float("inf"))
    return 1  # unreachable: the wait above only ends by a failure or a cancellation


def _log_to(path: Path) -> None:
    """The manager's and the runtime's logs go to a file: the terminal is the view's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("a", encoding="utf-8", buffering=1)
    runtime_log.configure(json=False, level="info", stream=stream)
    logging.basicConfig(stream=stream, level=logging.WARNING, force=True)


async def run_dev(options: DevOptions, renderer: Renderer | None = None) -> int:
    renderer = renderer or PlainRenderer(sys.stdout)
    shutil.rmtree(options.state_dir / "logs", ignore_errors=True)
    _log_to(options.state_dir / "logs" / "dev.log")
    store = ViewStore(renderer)
    outcome = _Outcome()
    renderer.start(store.view)
    work = asyncio.create_task(_session(options, store, outcome), name="dev")
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if outcome.interrupted or work.done():
            return
        outcome.interrupted = True
        store.notice("stopping ...")
        work.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await work
    except asyncio.CancelledError:
        if not work.cancelled():
            raise
        return 0 if outcome.upgraded else INTERRUPTED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        renderer.stop()
