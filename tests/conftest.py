"""Cluster fixtures: one real control plane per test session, a fresh namespace per test.

At the root of tests/ so that every suite that needs a cluster (tests/integration,
tests/badinput, tests/faults) shares the one session control plane; unit tests never
request these fixtures, so they start nothing.

The control plane is the full one (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok with fake Ready nodes). When a test fails, the component logs are kept and
their tails are attached to the failure report.

The suites in WITHOUT_WATCH_LIST_SUITES run twice: against that control plane, and against a
second one whose API server does not serve streaming lists (WatchList off, as on older or
managed clusters), so the informer's paginated-list path stays covered. `kube`, `api_client`
and `namespace` follow the test's `cluster`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes_asyncio import client
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions

from .fixtures.assets import control_plane_assets

REPO = Path(__file__).resolve().parents[1]
_failures: list[str] = []
WITHOUT_WATCH_LIST_SUITES = (
    "tests/integration/cache/",
    "tests/integration/client/test_controllerutil.py",
)
CLUSTERS = {"watch-list": "control_plane", "no-watch-list": "control_plane_without_watch_list"}


@pytest.fixture(scope="session")
def envtest_assets() -> Path:
    """The directory of the control-plane binaries, for tests that start their own."""
    return control_plane_assets()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def control_plane(envtest_assets: Path) -> AsyncIterator[ControlPlane]:
    cp = ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets, full=True, fake_nodes=2))
    await cp.start()
    try:
        yield cp
    finally:
        keep = bool(_failures)
        await cp.stop(keep_logs=keep)
        if keep:
            print(f"\ncontrol plane logs kept in {cp.log_dir}")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def control_plane_without_watch_list(envtest_assets: Path) -> AsyncIterator[ControlPlane]:
    """A second full control plane whose API server refuses streaming lists (started on first
    use). The test CRDs are installed at start, so tests that request widget_crd (which
    installs them on `control_plane`) run unchanged on it."""
    cp = ControlPlane(
        ControlPlaneOptions(
            assets_dir=envtest_assets,
            full=True,
            fake_nodes=0,
            apiserver_feature_gates={"WatchList": False},
        )
    )
    await cp.start()
    try:
        await cp.install_crds([REPO / "tests/integration/testdata/crds"])
        yield cp
    finally:
        keep = bool(_failures)
        await cp.stop(keep_logs=keep)
        if keep:
            print(f"\ncontrol plane (WatchList off) logs kept in {cp.log_dir}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = metafunc.definition.path.relative_to(REPO).as_posix()
    if "cluster" in metafunc.fixturenames and path.startswith(WITHOUT_WATCH_LIST_SUITES):
        metafunc.parametrize("cluster", list(CLUSTERS), indirect=True)


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> ControlPlane:
    """The control plane behind `kube`, `api_client` and `namespace`: `control_plane`, or for
    WITHOUT_WATCH_LIST_SUITES each of CLUSTERS in turn."""
    name = CLUSTERS[getattr(request, "param", "watch-list")]
    plane: ControlPlane = request.getfixturevalue(name)
    return plane


@pytest_asyncio.fixture(loop_scope="session")
async def api_client(cluster: ControlPlane) -> AsyncIterator[client.ApiClient]:
    api = await cluster.new_api_client()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    """A fresh registry per test, so metric assertions see only that test's traffic."""
    return CollectorRegistry()


@pytest_asyncio.fixture(loop_scope="session")
async def kube(cluster: ControlPlane, metrics_registry: CollectorRegistry) -> AsyncIterator[Client]:
    """The runtime's own client, as cluster admin."""
    rest = RestClient(await load_config(cluster.kubeconfig), registry=metrics_registry)
    try:
        yield Client(rest, field_owner="integration-tests")
    finally:
        await rest.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def widget_crd(control_plane: ControlPlane) -> dict[str, object]:
    """The test CRD `widgets.envtest.example.com` (status subresource, defaults, CEL rule)."""
    installed = await control_plane.install_crds([REPO / "tests/integration/testdata/crds"])
    return installed[0]


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(api_client: client.ApiClient) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(api_client)
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        # Deletion finishes in the background (the namespace controller empties it).
        await core.delete_namespace(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        _failures.append(item.nodeid)
        funcargs = getattr(item, "funcargs", {})
        cp = funcargs.get("cluster") or funcargs.get("control_plane")
        if isinstance(cp, ControlPlane):
            report.sections.append(("control plane", cp.describe()))
    return report
