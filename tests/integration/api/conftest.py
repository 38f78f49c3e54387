"""Fixtures of the sei.io API integration tests: the installed CRDs and an object helper."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from kubernetes_asyncio import client

from tests.integration.api.sei_api_helpers import CRD_DIR, SeiObjects


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: Any) -> list[dict[str, Any]]:
    """The generated CRDs, installed once per session (Established and served)."""
    crds: list[dict[str, Any]] = await control_plane.install_crds([CRD_DIR])
    return crds


@pytest_asyncio.fixture(loop_scope="session")
async def sei(sei_crds: Any, api_client: client.ApiClient, namespace: str) -> SeiObjects:
    return SeiObjects(client.CustomObjectsApi(api_client), namespace)
