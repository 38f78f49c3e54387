"""Fixtures of the bad-input suite: the Sei CRDs and the operator (see profile.py for the
hypothesis settings)."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from kubernetes_asyncio import client

from controller_runtime.envtest import ControlPlane
from tests.integration.api.sei_api_helpers import CRD_DIR, SeiObjects

# The operator fixtures, shared with tests/integration/operator (same session control plane).
from tests.integration.operator.conftest import run_operator, sei_cluster

__all__ = ["run_operator", "sei_cluster"]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: ControlPlane) -> list[dict[str, Any]]:
    crds: list[dict[str, Any]] = await control_plane.install_crds([CRD_DIR])
    return crds


@pytest_asyncio.fixture(loop_scope="session")
async def sei(sei_crds: Any, api_client: client.ApiClient, namespace: str) -> SeiObjects:
    return SeiObjects(client.CustomObjectsApi(api_client), namespace)
