"""The SeiNode reconciler on the real API server, driven pass by pass, without a manager.

The reconciler gets what ``setup_operator`` gives it (see controllers/operator.py): a cached
client over a real informer cache (namespaced to the test's namespace) and the read-your-own-
writes map, the manager-like registry (SeiNode and plan metrics, and the REST request counter of
its own connection), a FakeRecorder, and in-memory sidecars. The test itself writes through a
separate direct client, as a user or another controller would.

A real cache answers what the watch delivered so far, so every test write is followed by
:meth:`ReconcilerHarness.synced`: in production the reconcile a write triggers runs after the
cache has it. Where a test needs a cache that lags (decision F1, the status-patch invariant),
:class:`LaggingClient` pins an object: the reconciler reads it as it was, deterministically,
instead of hoping the watch is slow. Its writes go through a :class:`RecordingClient`, so a test
can say "this pass wrote nothing to the node" even where a needless patch would change nothing
on the server (and so leave the resourceVersion alone).

Reads use the real cache rather than the direct client on purpose: passes then meet what they
meet under the manager (their own writes not yet in the cache, read back through OwnWrites).
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from api.v1alpha1 import SeiNode, utc_now
from controller_runtime.cache import Cache
from controller_runtime.client import Client, Object, PatchType, RestClient
from controller_runtime.client.errors import NotFoundError
from controller_runtime.controller import Request, Result
from controller_runtime.envtest import eventually
from controller_runtime.events import FakeRecorder
from controller_runtime.manager import CachedClient
from controller_runtime.manager.own_writes import OwnWrites
from controllers.plan.catalog import seinode_task_registry
from controllers.plan.engine import PlanExecutor
from controllers.plan.metrics import plan_metrics
from controllers.seinode.metrics import SeiNodeMetrics
from controllers.seinode.reconciler import SeiNodeDeps, SeiNodeReconciler
from controllers.sidecar.api import SidecarClient, SidecarError
from tests.fixtures.platform import platform_for_tests
from tests.unit.plan.fakes import FakeSidecar

API_VERSION = "sei.io/v1alpha1"
KIND = "SeiNode"
GROUP_KIND = "SeiNodeDeployment"
IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"
NEW_IMAGE = "ghcr.io/sei-protocol/sei:v6.4.0"
EC2_PEERS = [{"ec2Tags": {"region": "eu-central-1", "tags": {"ChainIdentifier": "pacific-1"}}}]
S3_SNAPSHOT = {"s3": {"targetHeight": 100000000}, "trustPeriod": "9999h0m0s"}

_Key = tuple[str, str, str, str]


def _key(api_version: str, kind: str, namespace: str | None, name: str) -> _Key:
    return (api_version, kind, namespace or "", name)


def _version(obj: Mapping[str, Any]) -> int:
    return int((obj.get("metadata") or {}).get("resourceVersion") or 0)


def _node_ref(name: str, namespace: str) -> Object:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
    }


@dataclass(frozen=True)
class Write:
    verb: str  # create | update | patch | apply | delete
    kind: str
    name: str
    subresource: str | None = None


class RecordingClient(Client):
    """A direct client that remembers every write it sends. A write the API server finds to
    change nothing leaves the resourceVersion alone, so "no write" is asserted on this record
    rather than on resourceVersions."""

    def __init__(self, rest: RestClient, field_owner: str) -> None:
        super().__init__(rest, field_owner=field_owner)
        self.writes: list[Write] = []

    def _record(self, verb: str, obj: Object, subresource: str | None = None) -> None:
        name = (obj.get("metadata") or {}).get("name", "")
        self.writes.append(Write(verb, str(obj.get("kind", "")), name, subresource))

    async def create(self, obj: Object, **kwargs: Any) -> Object:
        self._record("create", obj)
        return await super().create(obj, **kwargs)

    async def update(self, obj: Object, **kwargs: Any) -> Object:
        self._record("update", obj, kwargs.get("subresource"))
        return await super().update(obj, **kwargs)

    async def patch(
        self, obj: Object, patch: Any, patch_type: PatchType = PatchType.MERGE, **kwargs: Any
    ) -> Object:
        verb = "apply" if patch_type == PatchType.APPLY else "patch"
        self._record(verb, obj, kwargs.get("subresource"))
        return await super().patch(obj, patch, patch_type, **kwargs)

    async def delete(self, obj: Object, **kwargs: Any) -> Object | None:
        self._record("delete", obj)
        return await super().delete(obj, **kwargs)


class LaggingClient(CachedClient):
    """The manager's cached client, whose cache can be made to lag on chosen objects: a pinned
    object is answered as it was when pinned, whatever the API server and the informer hold
    since (what a cache answers before the watch delivered the latest events)."""

    def __init__(self, cache: Cache, client: RecordingClient) -> None:
        super().__init__(cache, client)
        self.recording = client
        self.pinned: dict[_Key, Object] = {}

    def pin(self, obj: Object) -> None:
        meta = obj["metadata"]
        key = _key(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        self.pinned[key] = copy.deepcopy(obj)

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object:
        pinned = self.pinned.get(_key(api_version, kind, namespace, name))
        if pinned is not None:
            return copy.deepcopy(pinned)
        return await super().get(api_version, kind, name, namespace)


@dataclass
class FakeSidecars:
    """One FakeSidecar per node name, recording what it accepts (a submitted task answers
    ``running`` until the test says otherwise); ``factory_error`` makes building any client
    fail."""

    by_node: dict[str, FakeSidecar] = field(default_factory=dict)
    factory_error: SidecarError | None = None

    def __call__(self, name: str, namespace: str, port: int) -> SidecarClient:
        if self.factory_error is not None:
            raise self.factory_error
        return self.of(name)

    def of(self, name: str) -> FakeSidecar:
        return self.by_node.setdefault(name, FakeSidecar(record_submissions=True))


def seinode_manifest(
    name: str,
    namespace: str,
    spec: Mapping[str, Any] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    finalizers: list[str] | None = None,
    owner: Mapping[str, Any] | None = None,
) -> Object:
    """A SeiNode of pacific-1 (default: a full node with no snapshot and no peers)."""
    body: dict[str, Any] = {"chainId": "pacific-1", "image": IMAGE}
    body.update(copy.deepcopy(dict(spec or {})))
    if not any(k in body for k in ("fullNode", "archive", "replayer", "validator")):
        body["fullNode"] = {}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": body}


@dataclass
class ReconcilerHarness:
    reconciler: SeiNodeReconciler
    reads: LaggingClient
    kube: Client
    cache: Cache
    recorder: FakeRecorder
    registry: CollectorRegistry
    sidecars: FakeSidecars
    namespace: str

    # --- driving ---------------------------------------------------------------------------

    async def reconcile(self, name: str) -> Result:
        return await self.reconciler.reconcile(Request(self.namespace, name))

    async def reconcile_times(self, name: str, passes: int) -> Result:
        result = Result()
        for _ in range(passes):
            result = await self.reconcile(name)
        return result

    def sidecar(self, name: str) -> FakeSidecar:
        return self.sidecars.of(name)

    # --- the test's own writes (each waits until the reconciler's cache has it) -------------

    async def synced(self, obj: Object) -> Object:
        meta = obj["metadata"]
        want = _version(obj)
        return await eventually(
            lambda: self.cache.get(obj["apiVersion"], obj["kind"], meta["name"], self.namespace),
            lambda cached: _version(cached) >= want,
            timeout=30,
            message=f"cache has {obj['kind']} {meta['name']} at resourceVersion {want}",
        )

    async def create(self, name: str, spec: Mapping[str, Any] | None = None, **meta: Any) -> Object:
        created = await self.kube.create(seinode_manifest(name, self.namespace, spec, **meta))
        await self.synced(created)
        return created

    async def set_status(self, name: str, status: Mapping[str, Any]) -> Object:
        target = _node_ref(name, self.namespace)
        written = await self.kube.status().patch(target, {"status": dict(status)})
        await self.synced(written)
        return written

    async def set_spec(self, name: str, spec: Mapping[str, Any]) -> Object:
        target = _node_ref(name, self.namespace)
        written = await self.kube.patch(target, {"spec": dict(spec)})
        await self.synced(written)
        return written

    async def running(
        self,
        name: str,
        spec: Mapping[str, Any] | None = None,
        *,
        owner: Mapping[str, Any] | None = None,
        **status: Any,
    ) -> Object:
        """A node that finished its plan: finalizer present, phase Running, its image already
        reported as rolled out (so a pass writes status only for what the test is about)."""
        created = await self.create(
            name, spec, finalizers=["sei.io/seinode-finalizer"], owner=owner
        )
        image = created["spec"]["image"]
        return await self.set_status(name, {"phase": "Running", "currentImage": image, **status})

    async def create_group(self, name: str, rollout: Mapping[str, Any] | None = None) -> Object:
        """A SeiNodeDeployment (no controller runs for it), optionally with status.rollout."""
        group = await self.kube.create(
            {
                "apiVersion": API_VERSION,
                "kind": GROUP_KIND,
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "replicas": 1,
                    "template": {"spec": {"chainId": "pacific-1", "image": IMAGE, "fullNode": {}}},
                    "updateStrategy": {"type": "InPlace"},
                },
            }
        )
        if rollout is not None:
            group = await self.kube.status().patch(group, {"status": {"rollout": dict(rollout)}})
        await self.synced(group)
        return group

    # --- observing -------------------------------------------------------------------------

    async def raw(self, name: str) -> Object:
        """The node as the API server has it now."""
        return await self.kube.get(API_VERSION, KIND, name, self.namespace)

    async def node(self, name: str) -> SeiNode:
        return SeiNode.from_dict(await self.raw(name))

    async def child(self, api_version: str, kind: str, name: str) -> Object | None:
        try:
            return await self.kube.get(api_version, kind, name, self.namespace)
        except NotFoundError:
            return None

    def metric(self, sample: str, /, **labels: str) -> float | None:
        value: float | None = self.registry.get_sample_value(sample, labels)
        return value

    def node_writes(self, name: str) -> list[Write]:
        """The reconciler's writes to the SeiNode ``name`` so far."""
        return [w for w in self.reads.recording.writes if (w.kind, w.name) == (KIND, name)]

    def responses(self, code: int) -> float:
        """HTTP responses with ``code`` the reconciler's own connection received."""
        total = 0.0
        for family in self.registry.collect():
            if family.name != "rest_client_requests":
                continue
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("code") == str(code):
                    total += sample.value
        return total

    async def release_all(self) -> None:
        """Drops every finalizer in the namespace, so the namespace can be deleted."""
        listed = await self.kube.list(API_VERSION, KIND, self.namespace)
        for item in listed.get("items") or []:
            if item["metadata"].get("finalizers"):
                with contextlib.suppress(NotFoundError):
                    await self.kube.patch(item, {"metadata": {"finalizers": None}})


async def start_harness(
    rest: RestClient, kube: Client, namespace: str, registry: CollectorRegistry
) -> ReconcilerHarness:
    direct = RecordingClient(rest, field_owner="manager")
    cache = Cache(direct, namespace=namespace)
    await cache.start()
    reads = LaggingClient(cache, direct)
    recorder = FakeRecorder()
    sidecars = FakeSidecars()
    reconciler = SeiNodeReconciler(
        SeiNodeDeps(
            client=reads,
            recorder=recorder,
            platform=platform_for_tests(),
            sidecars=sidecars,
            executor=PlanExecutor(seinode_task_registry(), plan_metrics(registry)),
            metrics=SeiNodeMetrics(registry),
            now=utc_now,
            own_writes=OwnWrites(),
        )
    )
    return ReconcilerHarness(
        reconciler, reads, kube, cache, recorder, registry, sidecars, namespace
    )


def random_uuid() -> str:
    return str(uuid.uuid4())
