"""The SeiNodeDeployment reconciler on the real kube-apiserver, driven pass by pass.

No manager runs: the test calls ``reconcile(Request(namespace, name))`` itself, so each pass is
observed on its own. The reconciler's client is a CachedClient whose every kind the group reads
is uncached, i.e. the direct runtime Client (always fresh reads); writes go to the API server
as in production. No SeiNode controller runs either: the test plays it (child status, and
StatefulSets where a test needs them). Sidecars are in-memory fakes; events go to a
FakeRecorder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from prometheus_client import CollectorRegistry

from api.v1alpha1 import SeiNodeDeployment, utc_now
from controller_runtime.cache import Cache
from controller_runtime.client import Client
from controller_runtime.controller import Request, Result
from controller_runtime.envtest import ControlPlane
from controller_runtime.events import FakeRecorder
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites
from controllers.operator import group_task_registry
from controllers.plan.engine import PlanExecutor
from controllers.plan.metrics import plan_metrics
from controllers.seinodedeployment.metrics import GroupMetrics, ReconcileErrors
from controllers.seinodedeployment.reconciler import GroupDeps, SeiNodeDeploymentReconciler
from controllers.sidecar.api import SidecarClient
from tests.fixtures.goldens import golden_platform
from tests.unit.plan.fakes import FakeSidecar

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd"
API = "sei.io/v1alpha1"
GROUP = "archive-rpc"
IMAGE_V1 = "ghcr.io/sei-protocol/seid:v1.0.0"
IMAGE_V2 = "ghcr.io/sei-protocol/seid:v2.0.0"
IMAGE_V3 = "ghcr.io/sei-protocol/seid:v3.0.0"
# Every kind the reconciler and its tasks read: all reads are live.
LIVE_KINDS = frozenset(
    {(API, "SeiNodeDeployment"), (API, "SeiNode"), ("apps/v1", "StatefulSet"), ("v1", "Service")}
)


def group_manifest(namespace: str, name: str = GROUP, **spec: Any) -> dict[str, Any]:
    """The spec's test group (11: 3 replicas of a pacific-1 full node restoring an S3
    snapshot, sidecar port 7777, InPlace) with ``spec`` keys replaced."""
    body: dict[str, Any] = {
        "replicas": 3,
        "updateStrategy": {"type": "InPlace"},
        "template": {
            "spec": {
                "chainId": "pacific-1",
                "image": IMAGE_V1,
                "fullNode": {"snapshot": {"s3": {"targetHeight": 100000}}},
                "sidecar": {"port": 7777},
            }
        },
    }
    body.update(spec)
    return {
        "apiVersion": API,
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


@dataclass
class GroupHarness:
    kube: Client
    namespace: str
    reconciler: SeiNodeDeploymentReconciler
    recorder: FakeRecorder
    registry: CollectorRegistry
    sidecars: dict[str, FakeSidecar] = field(default_factory=dict)
    clock: list[datetime] = field(default_factory=list)

    # --- driving ---------------------------------------------------------------------------

    async def reconcile(self, name: str = GROUP) -> Result:
        return await self.reconciler.reconcile(Request(name=name, namespace=self.namespace))

    async def create(self, name: str = GROUP, **spec: Any) -> dict[str, Any]:
        return await self.kube.create(group_manifest(self.namespace, name, **spec))

    async def patch_spec(self, patch: dict[str, Any], name: str = GROUP) -> dict[str, Any]:
        return await self.kube.patch(await self.group_obj(name), {"spec": patch})

    async def set_image(self, image: str, name: str = GROUP) -> dict[str, Any]:
        return await self.patch_spec({"template": {"spec": {"image": image}}}, name)

    async def write_status(self, group: SeiNodeDeployment) -> dict[str, Any]:
        """Persists ``group.status`` as the controller would have (what a test arranges)."""
        stored = await self.group_obj(group.metadata.name or GROUP)
        status = group.to_dict().get("status") or {}
        return await self.kube.status().patch(stored, {"status": status})

    async def set_child_phases(self, *phases: str, name: str = GROUP) -> None:
        """Plays the SeiNode controller: child i reports ``phases[i]``."""
        for ordinal, phase in enumerate(phases):
            child = await self.child(f"{name}-{ordinal}")
            await self.kube.status().patch(child, {"status": {"phase": phase}})

    async def steady_group(self, name: str = GROUP, **spec: Any) -> SeiNodeDeployment:
        """A group whose children exist and all run: created, one pass, children Running,
        one more pass (the status then says Ready)."""
        created = await self.create(name, **spec)
        await self.reconcile(name)
        replicas = int(created["spec"]["replicas"])
        await self.set_child_phases(*["Running"] * replicas, name=name)
        await self.reconcile(name)
        self.recorder.clear()
        return await self.group(name)

    # --- observing ---------------------------------------------------------------------------

    async def group_obj(self, name: str = GROUP) -> dict[str, Any]:
        return await self.kube.get(API, "SeiNodeDeployment", name, self.namespace)

    async def group(self, name: str = GROUP) -> SeiNodeDeployment:
        return SeiNodeDeployment.from_dict(await self.group_obj(name))

    async def child(self, name: str) -> dict[str, Any]:
        return await self.kube.get(API, "SeiNode", name, self.namespace)

    async def children(self, group: str = GROUP) -> list[dict[str, Any]]:
        listed = await self.kube.list(
            API, "SeiNode", self.namespace, label_selector=f"sei.io/nodedeployment={group}"
        )
        return sorted(listed.get("items") or [], key=lambda c: c["metadata"]["name"])

    def events(self, reason: str | None = None) -> list[str]:
        """Recorded events as "<type> <reason> <message>", optionally of one reason."""
        return [str(e) for e in self.recorder.recorded if reason in (None, e.reason)]

    def reasons(self) -> list[str]:
        return [e.reason for e in self.recorder.recorded]

    def metric(self, metric: str, /, **labels: str) -> float | None:
        return self.registry.get_sample_value(metric, labels)


def images(children: list[dict[str, Any]]) -> list[str]:
    return [c["spec"]["image"] for c in children]


def revisions(children: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, podLabel) revision of each child."""
    return [
        (c["metadata"]["labels"]["sei.io/revision"], c["spec"]["podLabels"]["sei.io/revision"])
        for c in children
    ]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sei_crds(control_plane: ControlPlane) -> list[dict[str, Any]]:
    return await control_plane.install_crds([CRD_DIR])


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    sei_crds: list[dict[str, Any]],
    kube: Client,
    namespace: str,
    metrics_registry: CollectorRegistry,
) -> AsyncIterator[GroupHarness]:
    recorder = FakeRecorder()
    sidecars: dict[str, FakeSidecar] = {}
    clock: list[datetime] = []

    def sidecar_of(name: str, namespace: str, port: int) -> SidecarClient:
        return sidecars.setdefault(name, FakeSidecar())

    def now() -> datetime:
        return clock[-1] if clock else utc_now()

    plans = plan_metrics(metrics_registry)
    reconciler = SeiNodeDeploymentReconciler(
        GroupDeps(
            client=CachedClient(Cache(kube), kube, uncached=LIVE_KINDS),
            recorder=recorder,
            sidecars=sidecar_of,
            executor=PlanExecutor(group_task_registry(), plans),
            metrics=GroupMetrics(metrics_registry),
            errors=ReconcileErrors(metrics_registry),
            now=now,
            own_writes=OwnWrites(),
            platform=golden_platform(),
        )
    )
    yield GroupHarness(kube, namespace, reconciler, recorder, metrics_registry, sidecars, clock)
