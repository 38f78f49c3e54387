"""The operator on the local control plane: a manager running both controllers in this process,
namespaced to the test's namespace, with local sidecars (real `seictl serve` processes through
the local fleet, or the simulator) reached through the sidecar URL resolver."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.client.errors import NotFoundError
from controller_runtime.envtest import ControlPlane, eventually
from controller_runtime.manager import Manager, ManagerOptions
from controllers.operator import Operator, OperatorOptions, setup_operator
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import HomeInitializer, SeictlLauncher, SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simnode import SimulatedNode
from controllers.sidecar.simulator import SidecarSimulator
from controllers.sidecar.url import SidecarURLResolver

from ...fixtures.goldens import golden_platform
from ..sidecar.conftest import seictl_binary
from .request_log import TEST_OUTCOMES, RecordingRestClient, RequestLog

REPO = Path(__file__).resolve().parents[3]
NODEPOOL_LABEL = "karpenter.sh/nodepool"
RBAC_CHECK = "test_rbac_verbs.py"
T = TypeVar("T")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None]:
    """The RBAC check (RBAC_CHECK) runs last, after every e2e test whose requests it checks,
    whenever any e2e test of this directory runs: also when -k/-m deselected it or only some
    files were given. It must not be left out silently (on a subset it checks less, and says
    so)."""
    here = Path(__file__).parent
    checks = [i for i in items if i.path.parent == here and i.path.name == RBAC_CHECK]
    yield  # -k / -m deselection happens in here
    selected = [i for i in items if i in checks]
    items[:] = [i for i in items if i not in checks]
    e2e = [i for i in items if i.path.parent == here]
    if e2e and not checks:  # its file was not collected: collect it beside the e2e tests
        package = e2e[0].getparent(pytest.Module).parent  # type: ignore[union-attr]
        module = pytest.Module.from_parent(package, path=here / RBAC_CHECK)
        checks = [i for i in module.collect() if isinstance(i, pytest.Item)]
    if selected or e2e:
        items.extend(checks)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Records each test's outcome for the RBAC check: its first phase not passed, else
    passed once its call passed."""
    report = yield
    outcomes = item.config.stash.setdefault(TEST_OUTCOMES, {})
    first_news = outcomes.get(item.nodeid, "passed") == "passed"
    if first_news and (report.when == "call" or report.outcome != "passed"):
        outcomes[item.nodeid] = report.outcome
    return report


@pytest.fixture(scope="session")
def e2e_requests() -> RequestLog:
    """Every request of every operator manager the e2e tests run (the RBAC check's input)."""
    return RequestLog()


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
    sidecar_url: SidecarURLResolver
    simulator: SidecarSimulator | None = None
    fleet: LocalFleet | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def metric(self, metric: str, **labels: str) -> float:
        value = self.registry.get_sample_value(metric, labels)
        return 0.0 if value is None else value

    def metric_sum(self, metric: str, **labels: str) -> float:
        """The sum over every series of ``metric`` whose labels include ``labels``."""
        return sum(
            sample.value
            for family in self.registry.collect()
            for sample in family.samples
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items())
        )

    def sidecar(self, name: str) -> SimulatedNode:
        """The simulated sidecar of node ``name`` (simulator modes only); knobs set on it
        before the SeiNode exists apply from the node's first request."""
        assert self.simulator is not None, "this operator runs no simulator"
        return self.simulator.node(self.namespace, name)

    async def node(self, name: str) -> dict[str, Any]:
        return await self.kube.get("sei.io/v1alpha1", "SeiNode", name, self.namespace)

    async def wait_node(
        self, name: str, until: Callable[[dict[str, Any]], bool], timeout: float = 120.0
    ) -> dict[str, Any]:
        return await eventually(
            lambda: self.node(name), until, timeout=timeout, message=f"SeiNode {name}"
        )

    async def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        """The object in the test's namespace, or None if it does not exist."""
        try:
            return await self.kube.get(api_version, kind, name, self.namespace)
        except NotFoundError:
            return None

    async def sidecar_get(self, name: str, path: str) -> tuple[int, Any]:
        """``GET <node's sidecar>/v0/<path>`` as the operator addresses it: status and JSON
        body (None if the body is not JSON). Reads what the sidecar itself holds, whichever
        kind of sidecar runs."""
        url = f"{self.sidecar_url(name, self.namespace, 0)}/v0/{path}"
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url) as response,
        ):
            body = await response.read()
            try:
                return response.status, json.loads(body) if body else None
            except ValueError:
                return response.status, None

    async def events(self, name: str) -> list[dict[str, Any]]:
        listed = await self.kube.list(
            "v1", "Event", self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(listed.get("items") or [])


OperatorFactory = Callable[..., contextlib.AbstractAsyncContextManager[OperatorHarness]]


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    sei_cluster: ControlPlane, namespace: str, kube: Client, e2e_requests: RequestLog
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars="seictl"|"fleet-simulator"|"simulator") as op``."""
    stack = contextlib.AsyncExitStack()

    @contextlib.asynccontextmanager
    async def start(
        sidecars: str = "seictl",
        stall_threshold: float = 600.0,
        simulator: SidecarSimulator | None = None,
        seictl_env: dict[str, str] | None = None,
        init_home: HomeInitializer | None = None,
        **sim_options: Any,
    ) -> AsyncIterator[OperatorHarness]:
        """``simulator``: a started simulator the caller owns (and closes), so that several
        operator instances in turn talk to the same simulated sidecars; by default the
        simulator modes start their own. ``seictl_env`` and ``init_home`` go to the seictl
        launcher (extra environment; what seid-init leaves in each node's home)."""
        rest = RestClient(await load_config(sei_cluster.kubeconfig))
        fleet: LocalFleet | None = None
        async with contextlib.AsyncExitStack() as local:
            local.push_async_callback(rest.close)
            if sidecars == "seictl":
                assert simulator is None, "the seictl mode runs no simulator"
                launcher: Any = SeictlLauncher(
                    seictl_binary(),
                    sei_cluster.log_dir / namespace,
                    env=seictl_env,
                    init_home=init_home,
                )
                fleet = LocalFleet(Client(rest), launcher, namespace=namespace)
            else:
                if simulator is None:
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
            manager_rest = RecordingRestClient(
                rest.configuration, registry=registry, log=e2e_requests
            )
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
                manager, operator, registry, kube, namespace, resolver, simulator, fleet, task
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


async def holds_for(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    seconds: float = 2.0,
    polls: int = 5,
) -> T:
    """Asserts that ``check`` holds on every one of ``polls`` probes spread over ``seconds``:
    a "stays so" observation (the thing under test must have had the chance to change it),
    never a synchronisation. Returns the last probe."""
    value = await probe()
    assert check(value), f"did not hold at first probe: {value!r}"
    for poll in range(1, polls):
        await asyncio.sleep(seconds / (polls - 1))
        value = await probe()
        assert check(value), f"stopped holding at probe {poll + 1}/{polls}: {value!r}"
    return value


def phase_is(phase: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: (obj.get("status") or {}).get("phase") == phase


def plan_task(obj: dict[str, Any], task_type: str) -> dict[str, Any]:
    """The first task of ``task_type`` in the node's plan."""
    tasks = ((obj.get("status") or {}).get("plan") or {}).get("tasks") or []
    return next(t for t in tasks if t["type"] == task_type)


def condition(obj: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == condition_type), None)
