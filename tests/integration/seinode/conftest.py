"""Fixtures of the SeiNode integration tests: the sei.io CRDs, SeiNodes to own children, and the
reconciler harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from api.v1alpha1 import SeiNode
from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.envtest import ControlPlane
from tests.integration.seinode.reconciler_harness import ReconcilerHarness, start_harness

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd"

CreateSeiNode = Callable[[str, dict[str, Any]], Awaitable[SeiNode]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: Any) -> list[dict[str, Any]]:
    crds: list[dict[str, Any]] = await control_plane.install_crds([CRD_DIR])
    return crds


@pytest_asyncio.fixture(loop_scope="session")
async def create_seinode(sei_crds: Any, kube: Client, namespace: str) -> CreateSeiNode:
    """Creates a SeiNode (name, spec) in the test namespace and returns it as stored.

    Children need a real owner: the garbage collector deletes objects whose owner uid does
    not exist. No SeiNode controller runs, so the node itself stays untouched.
    """

    async def create(name: str, spec: dict[str, Any]) -> SeiNode:
        stored = await kube.create(
            {
                "apiVersion": "sei.io/v1alpha1",
                "kind": "SeiNode",
                "metadata": {"name": name, "namespace": namespace},
                "spec": spec,
            }
        )
        return SeiNode.from_dict(stored)

    return create


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    sei_crds: Any, control_plane: ControlPlane, kube: Client, namespace: str
) -> AsyncIterator[ReconcilerHarness]:
    """The SeiNode reconciler on its own connection, cache and registry (see
    reconciler_harness); at the end every SeiNode finalizer is dropped so the namespace goes."""
    registry = CollectorRegistry()
    rest = RestClient(await load_config(control_plane.kubeconfig), registry=registry)
    harness = await start_harness(rest, kube, namespace, registry)
    try:
        yield harness
    finally:
        try:
            await harness.release_all()
        finally:
            await harness.cache.stop()
            await rest.close()
