"""The operator on the local control plane: a manager running both controllers in this process,
namespaced to the test's namespace, with local sidecars (real `seictl serve` processes through
the local fleet, or the simulator) reached through the sidecar URL resolver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, eventually
from controller_runtime.manager import Manager, ManagerOptions
from controllers.operator import Operator, OperatorOptions, setup_operator
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import SeictlLauncher, SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simulator import SidecarSimulator
from tests.fixtures.goldens import golden_platform

from ..sidecar.conftest import seictl_binary

REPO = Path(__file__).resolve().parents[3]
NODEPOOL_LABEL = "karpenter.sh/nodepool"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_cluster(control_plane: ControlPlane) -> ControlPlane:
    """The session control plane with the Sei CRDs installed and the fake nodes in the
    platform's node pool (SeiNode pods require `karpenter.sh/nodepool In [sei-node]`)."""
    await control_plane.install_crds([REPO / "config" / "crd"])
    nodepool = golden_platform().nodepool_name
    rest = RestClient(await load_config(control_plane.kubeconfig))
    try:
        admin = Client(rest)
        for name in control_plane.fake_node_names:
            node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
            await admin.patch(node, {"metadata": {"labels": {NODEPOOL_LABEL: nodepool}}})
    finally:
        await rest.close()
    return control_plane


@dataclass
class OperatorHarness:
    """A running operator and what the test needs to observe it."""

    manager: Manager
    operator: Operator
    registry: CollectorRegistry
    kube: Client
    namespace: str
    simulator: SidecarSimulator | None = None
    fleet: LocalFleet | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def metric(self, metric: str, **labels: str) -> float:
        value = self.registry.get_sample_value(metric, labels)
        return 0.0 if value is None else value

    async def node(self, name: str) -> dict[str, Any]:
        return await self.kube.get("sei.io/v1alpha1", "SeiNode", name, self.namespace)

    async def wait_node(
        self, name: str, until: Callable[[dict[str, Any]], bool], timeout: float = 120.0
    ) -> dict[str, Any]:
        return await eventually(
            lambda: self.node(name), until, timeout=timeout, message=f"SeiNode {name}"
        )

    async def events(self, name: str) -> list[dict[str, Any]]:
        listed = await self.kube.list(
            "v1", "Event", self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(listed.get("items") or [])


OperatorFactory = Callable[..., contextlib.AbstractAsyncContextManager[OperatorHarness]]


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    sei_cluster: ControlPlane, namespace: str, kube: Client
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars="seictl"|"fleet-simulator"|"simulator") as op``."""
    stack = contextlib.AsyncExitStack()

    @contextlib.asynccontextmanager
    async def start(
        sidecars: str = "seictl", stall_threshold: float = 600.0, **sim_options: Any
    ) -> AsyncIterator[OperatorHarness]:
        rest = RestClient(await load_config(sei_cluster.kubeconfig))
        fleet: LocalFleet | None = None
        simulator: SidecarSimulator | None = None
        async with contextlib.AsyncExitStack() as local:
            local.push_async_callback(rest.close)
            if sidecars == "seictl":
                launcher: Any = SeictlLauncher(seictl_binary(), sei_cluster.log_dir / namespace)
                fleet = LocalFleet(Client(rest), launcher, namespace=namespace)
            else:
                simulator = await local.enter_async_context(SidecarSimulator(**sim_options))
                if sidecars == "fleet-simulator":
                    fleet = LocalFleet(
                        Client(rest), SimulatorLauncher(simulator), namespace=namespace
                    )
            if fleet is not None:
                await local.enter_async_context(fleet)
                resolver: Any = fleet.url_for
            else:
                assert simulator is not None
                resolver = simulator.url_for
            factory = await local.enter_async_context(HTTPSidecarClientFactory(resolver))
            registry = CollectorRegistry()
            manager_rest = RestClient(rest.configuration, registry=registry)
            local.push_async_callback(manager_rest.close)
            manager = Manager(
                manager_rest,
                ManagerOptions(
                    namespace=namespace,
                    metrics_bind_address="0",
                    field_owner="manager",
                    registry=registry,
                ),
            )
            operator = setup_operator(
                manager,
                OperatorOptions(
                    platform=golden_platform(), sidecars=factory, stall_threshold=stall_threshold
                ),
            )
            task = asyncio.create_task(manager.start(), name="operator")
            harness = OperatorHarness(
                manager, operator, registry, kube, namespace, simulator, fleet, task
            )
            try:
                await eventually(
                    lambda: manager.elected.is_set() or task.done(),
                    timeout=60,
                    message="operator started",
                )
                if task.done():
                    task.result()
                yield harness
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    try:
        yield start
    finally:
        await stack.aclose()


def seinode(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    """A SeiNode manifest; by default a full node of pacific-1 (whose genesis seictl carries)
    with no snapshot and no peers: its whole plan runs on the real sidecar."""
    body: dict[str, Any] = {"chainId": "pacific-1", "image": "ghcr.io/sei-protocol/sei:v6.3.0"}
    body.update(spec)
    if not any(k in body for k in ("fullNode", "archive", "replayer", "validator")):
        body["fullNode"] = {}
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def phase_is(phase: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: (obj.get("status") or {}).get("phase") == phase
