"""The fault suite's own full control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok), separate from the integration session's: its tests kill the API server
and compact etcd, which must not leak into other suites. Started on first use and stopped when
the suite's last test is done (package scope), so it never idles beside the integration
suite's control plane.

Everything else is the operator e2e harness (tests/fixtures/operator.py), on this plane.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane, ControlPlaneOptions

from ..fixtures.assets import control_plane_assets
from ..fixtures.operator import OperatorFactory, prepare_sei_cluster, start_operator

REPO = Path(__file__).resolve().parents[2]
_failed: list[str] = []


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def fault_plane() -> AsyncIterator[ControlPlane]:
    cp = ControlPlane(
        ControlPlaneOptions(assets_dir=control_plane_assets(), full=True, fake_nodes=2)
    )
    await cp.start()
    try:
        await prepare_sei_cluster(cp)
        yield cp
    finally:
        await cp.stop(keep_logs=bool(_failed))
        if _failed:
            print(f"\nfault control plane logs kept in {cp.log_dir}")


@pytest_asyncio.fixture(loop_scope="session")
async def kube(fault_plane: ControlPlane) -> AsyncIterator[Client]:
    """Cluster admin, straight to the API server (never through a test's fault proxy)."""
    rest = RestClient(await load_config(fault_plane.kubeconfig))
    try:
        yield Client(rest, field_owner="fault-tests")
    finally:
        await rest.close()


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(kube: Client) -> AsyncIterator[str]:
    name = f"f-{uuid.uuid4().hex[:10]}"
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    # Deletion finishes in the background (the namespace controller empties it).
    await kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    fault_plane: ControlPlane, namespace: str, kube: Client
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars=..., server=..., ...) as op``: the keywords are
    :func:`tests.fixtures.operator.start_operator`'s."""

    def start(**options: Any) -> Any:
        return start_operator(fault_plane, namespace, kube, **options)

    yield start


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        _failed.append(item.nodeid)
        cp = getattr(item, "funcargs", {}).get("fault_plane")
        if isinstance(cp, ControlPlane):
            report.sections.append(("fault control plane", cp.describe()))
    return report
