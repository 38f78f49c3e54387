"""Fixtures of the plan-engine integration tests: the sei.io CRDs and a bootstrap SeiNode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_asyncio

from api.v1alpha1 import SeiNode
from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: ControlPlane) -> list[dict[str, Any]]:
    crds: list[dict[str, Any]] = await control_plane.install_crds([CRD_DIR])
    return crds


async def create_node(kube: Client, namespace: str, name: str, spec: dict[str, Any]) -> SeiNode:
    """A SeiNode created on the server (so it has a uid to own children)."""
    body = {"chainId": "pacific-1", "image": "sei:v1", **spec}
    created = await kube.create(
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "metadata": {"name": name, "namespace": namespace},
            "spec": body,
        }
    )
    return SeiNode.from_dict(created)


@pytest_asyncio.fixture(loop_scope="session")
async def bootstrap_node(sei_crds: object, kube: Client, namespace: str) -> SeiNode:
    snapshot = {"s3": {"targetHeight": 100}, "bootstrapImage": "sei:bootstrap"}
    return await create_node(kube, namespace, "boot", {"fullNode": {"snapshot": snapshot}})
