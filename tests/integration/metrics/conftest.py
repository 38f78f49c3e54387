"""Fixtures for the metrics integration tests: a factory of real Prometheus instances, and
service accounts with and without the RBAC to scrape `/metrics`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from controller_runtime.client import Client, NotFoundError
from tests.integration.metrics.prometheus import (
    Prometheus,
    PrometheusNotInstalled,
    ScrapeTarget,
    find_prometheus,
    run_prometheus,
)

StartPrometheus = Callable[[Sequence[ScrapeTarget]], Awaitable[Prometheus]]


@pytest_asyncio.fixture(loop_scope="session")
async def start_prometheus(tmp_path: Path) -> AsyncIterator[StartPrometheus]:
    """`await start_prometheus([ScrapeTarget(...)])` starts a Prometheus scraping those targets
    every second; every instance is stopped at teardown."""
    try:
        find_prometheus()
    except PrometheusNotInstalled as exc:
        pytest.fail(str(exc))
    started: list[Prometheus] = []
    async with AsyncExitStack() as stack:

        async def start(targets: Sequence[ScrapeTarget]) -> Prometheus:
            workdir = tmp_path / f"prometheus-{len(started)}"
            prom = await stack.enter_async_context(run_prometheus(targets, workdir))
            started.append(prom)
            return prom

        start.instances = started  # type: ignore[attr-defined]  # read by the report hook
        yield start


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        factory = getattr(item, "funcargs", {}).get("start_prometheus")
        for prom in getattr(factory, "instances", []):
            report.sections.append((f"prometheus log {prom.log_path}", prom.log_tail(60)))
    return report


@dataclass(frozen=True)
class Scrapers:
    namespace: str
    allowed: str
    """A token of `scraper`, bound to a ClusterRole allowing GET on /metrics."""
    denied: str
    """A token of `scraper-denied`, which has no RBAC at all."""

    @property
    def allowed_user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:scraper"

    @property
    def denied_user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:scraper-denied"


async def request_token(kube: Client, namespace: str, service_account: str) -> str:
    """A short-lived token of service_account from the TokenRequest API."""
    review = await kube.rest.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    token: str = review["status"]["token"]
    assert token
    return token


@pytest_asyncio.fixture(loop_scope="session")
async def scrapers(kube: Client, namespace: str) -> AsyncIterator[Scrapers]:
    # Cluster-scoped names are unique per test, and removed afterwards.
    role = f"metrics-reader-{uuid.uuid4().hex[:8]}"
    for name in ("scraper", "scraper-denied"):
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            }
        )
    cluster_objects = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": "scraper", "namespace": namespace}],
        },
    ]
    try:
        for obj in cluster_objects:
            await kube.create(obj)
        yield Scrapers(
            namespace=namespace,
            allowed=await request_token(kube, namespace, "scraper"),
            denied=await request_token(kube, namespace, "scraper-denied"),
        )
    finally:
        for obj in reversed(cluster_objects):
            with suppress(NotFoundError):
                await kube.delete(obj)
