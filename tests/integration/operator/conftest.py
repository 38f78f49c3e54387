"""The operator on the session's local control plane (the harness itself is shared with the
fault suite: tests/fixtures/operator.py)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
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
from .request_log import TEST_OUTCOMES, RecordingRestClient, RequestLog

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

RBAC_CHECK = "test_rbac_verbs.py"


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
    platform's node pool."""
    return await prepare_sei_cluster(control_plane)


@pytest_asyncio.fixture(loop_scope="session")
async def run_operator(
    sei_cluster: ControlPlane, namespace: str, kube: Client, e2e_requests: RequestLog
) -> AsyncIterator[OperatorFactory]:
    """``async with run_operator(sidecars="seictl"|"fleet-simulator"|"simulator") as op``;
    the keywords are :func:`start_operator`'s. The manager's requests go to the RBAC check's
    log."""
    recording = functools.partial(RecordingRestClient, log=e2e_requests)

    def start(**options: Any) -> Any:
        return start_operator(sei_cluster, namespace, kube, rest_client=recording, **options)

    yield start
