"""Fixtures of the bad-input suite: the Sei CRDs and the operator (see profile.py for the
hypothesis settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from kubernetes_asyncio import client

from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane
from tests.fixtures.operator import OperatorFactory, prepare_sei_cluster, start_operator
from tests.integration.api.sei_api_helpers import CRD_DIR, SeiObjects


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_cluster(control_plane: ControlPlane) -> ControlPlane:
    """The session control plane (the one the operator e2e tests use) with the Sei CRDs and
    the fake nodes in the platform's node pool."""
    return await prepare_sei_cluster(control_plane)


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    sei_cluster: ControlPlane, namespace: str, kube: Client
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars=...) as op``: :func:`start_operator`'s keywords."""

    def start(**options: Any) -> Any:
        return start_operator(sei_cluster, namespace, kube, **options)

    yield start


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: ControlPlane) -> list[dict[str, Any]]:
    crds: list[dict[str, Any]] = await control_plane.install_crds([CRD_DIR])
    return crds


@pytest_asyncio.fixture(loop_scope="session")
async def sei(sei_crds: Any, api_client: client.ApiClient, namespace: str) -> SeiObjects:
    return SeiObjects(client.CustomObjectsApi(api_client), namespace)
