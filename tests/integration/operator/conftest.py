"""The operator on the session's local control plane (the harness itself is shared with the
fault suite: tests/fixtures/operator.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane

from ...fixtures.operator import (
    NODEPOOL_LABEL,
    OperatorFactory,
    OperatorHarness,
    condition,
    holds_for,
    phase_is,
    plan_task,
    prepare_sei_cluster,
    seinode,
    start_operator,
)

__all__ = [
    "NODEPOOL_LABEL",
    "OperatorFactory",
    "OperatorHarness",
    "condition",
    "holds_for",
    "phase_is",
    "plan_task",
    "seinode",
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_cluster(control_plane: ControlPlane) -> ControlPlane:
    """The session control plane with the Sei CRDs installed and the fake nodes in the
    platform's node pool."""
    return await prepare_sei_cluster(control_plane)


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    sei_cluster: ControlPlane, namespace: str, kube: Client
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars="seictl"|"fleet-simulator"|"simulator") as op``;
    the keywords are :func:`start_operator`'s."""

    def start(**options: Any) -> Any:
        return start_operator(sei_cluster, namespace, kube, **options)

    yield start
