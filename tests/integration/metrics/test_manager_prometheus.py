"""A real Prometheus scrapes a running manager (leader-elected, one controller) and its query
API returns the runtime's own series under controller-runtime's names."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry

from controller_runtime.client import Client
from controller_runtime.controller import Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.envtest import eventually
from controller_runtime.manager import Manager, ManagerOptions
from tests.integration.metrics.conftest import StartPrometheus
from tests.integration.metrics.prometheus import ScrapeTarget


async def test_prometheus_scrapes_a_manager(
    kube: Client, namespace: str, start_prometheus: StartPrometheus
) -> None:
    manager = Manager(
        kube.rest,
        ManagerOptions(
            namespace=namespace,
            metrics_bind_address="127.0.0.1:0",
            leader_election=True,
            leader_election_id="prometheus-test",
            leader_election_namespace=namespace,
            registry=CollectorRegistry(),
        ),
    )
    seen: list[Request] = []

    async def reconcile(request: Request) -> Result:
        seen.append(request)
        return Result()

    Builder(manager).for_("v1", "ConfigMap").complete(reconcile)
    task = asyncio.create_task(manager.start())
    try:
        await eventually(manager.elected.is_set, timeout=30)
        cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
        await kube.create({**cm, "metadata": {"name": "scraped", "namespace": namespace}})
        await eventually(lambda: [r for r in seen if r.name == "scraped"], timeout=30)

        assert manager.metrics_server is not None
        prom = await start_prometheus(
            [ScrapeTarget(f"127.0.0.1:{manager.metrics_server.port}", job="manager")]
        )
        success = await prom.wait_for_series(
            'controller_runtime_reconcile_total{controller="configmap",result="success"}',
            lambda series: float(series[0]["value"][1]) >= 1,
        )
        assert success[0]["metric"]["job"] == "manager"
        depth = await prom.wait_for_series('workqueue_depth{name="configmap"}')
        assert depth[0]["metric"]["controller"] == "configmap"
        leader = await prom.wait_for_series('leader_election_master_status{name="prometheus-test"}')
        assert float(leader[0]["value"][1]) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
