"""Bringing up the dev mode's cluster: the local control plane with the CRDs, local sidecars
that follow the node pods, and the operator's manager in this process.

Everything started is pushed on the caller's exit stack right after it starts, so an
interrupted or failed start-up stops exactly what ran, newest first. The control plane's
components and every ``seictl serve`` run in process groups of their own and are stopped by
group (controller_runtime.envtest.ManagedProcess), so none outlives the dev mode.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from api.v1alpha1.crdgen.render import KUSTOMIZATION, render_files
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions
from controller_runtime.manager import Manager, ManagerOptions
from controllers.operator import OperatorOptions, setup_operator
from controllers.platform import Platform
from controllers.run import FIELD_OWNER
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import SeictlLauncher, SidecarLauncher, SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simulator import SidecarSimulator

__all__ = ["NODEPOOL_LABEL", "install_crds", "start_control_plane", "start_fleet", "start_manager"]

NODEPOOL_LABEL = "karpenter.sh/nodepool"


async def start_control_plane(
    stack: contextlib.AsyncExitStack, log_dir: Path, nodes: int
) -> ControlPlane:
    cp = ControlPlane(ControlPlaneOptions(full=True, fake_nodes=nodes, log_dir=log_dir))
    # Logs are kept: they are the dev mode's to read after a stop or a failure.
    stack.push_async_callback(cp.stop, keep_logs=True)
    await cp.start()
    return cp


async def install_crds(
    cp: ControlPlane, client: Client, work_dir: Path, platform: Platform
) -> list[str]:
    """The sei.io CRDs, generated from the API models (what config/crd holds, independent of the
    current directory), and the fake nodes labelled into the platform's node pool."""
    crd_dir = work_dir / "crd"
    crd_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render_files().items():
        if name != KUSTOMIZATION:
            (crd_dir / name).write_text(text)
    installed = await cp.install_crds([crd_dir])
    for name in cp.fake_node_names:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        await client.patch(node, {"metadata": {"labels": {NODEPOOL_LABEL: platform.nodepool_name}}})
    return [str(c["metadata"]["name"]) for c in installed]


async def start_fleet(
    stack: contextlib.AsyncExitStack,
    client: Client,
    namespace: str,
    seictl: Path | None,
    sidecar_dir: Path,
) -> LocalFleet:
    """Real ``seictl serve`` per node pod when ``seictl`` is given, else simulated sidecars."""
    launcher: SidecarLauncher
    if seictl is not None:
        launcher = SeictlLauncher(seictl, sidecar_dir)
    else:
        simulator = await stack.enter_async_context(SidecarSimulator())
        launcher = SimulatorLauncher(simulator)
    fleet = LocalFleet(client, launcher, namespace=namespace)
    return await stack.enter_async_context(fleet)


@dataclass
class RunningManager:
    manager: Manager
    task: asyncio.Task[None]


async def start_manager(
    stack: contextlib.AsyncExitStack,
    cp: ControlPlane,
    fleet: LocalFleet,
    namespace: str,
    platform: Platform,
    timeout: float = 60.0,
) -> RunningManager:
    """The manager of ``sei-controller run``, both controllers, without leader election or
    servers, reaching each node's sidecar where the fleet runs it."""
    rest = RestClient(await load_config(str(cp.kubeconfig)))
    stack.push_async_callback(rest.close)
    sidecars = await stack.enter_async_context(HTTPSidecarClientFactory(fleet.url_for))
    manager = Manager(
        rest,
        ManagerOptions(
            namespace=namespace,
            metrics_bind_address="0",
            field_owner=FIELD_OWNER,
            registry=CollectorRegistry(),
        ),
    )
    setup_operator(manager, OperatorOptions(platform=platform, sidecars=sidecars))
    task = asyncio.create_task(manager.start(), name="manager")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
    elected = asyncio.create_task(manager.elected.wait())
    try:
        done, _ = await asyncio.wait(
            {elected, task}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
    finally:
        elected.cancel()
    if task in done:
        task.result()  # raises what stopped it
        raise RuntimeError("the manager stopped at start-up")
    if not done:
        raise TimeoutError(f"the manager did not start within {timeout:g}s")
    return RunningManager(manager, task)
