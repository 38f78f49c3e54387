"""A leader that can no longer renew its Lease stops its controllers before anything else, so
no write of the old leader lands after the new leader's first write.

Two managers, "a" (leader) and "b" (standby), each run a controller that keeps writing one
ConfigMap with its identity. Manager "a" talks to the API server through a TCP proxy; its
controller writes over a direct connection. Then the proxy is cut: "a" can neither renew nor
release the Lease (release_on_cancel), while its controller could still write - as when Lease
requests fail and others do not (a stuck connection pool, an overloaded server). "b" takes over
once the Lease expires on its clock. The test watches the ConfigMap and checks the order in
which the server applied the writes.

The bug this guards against: the old leader first tried to release the Lease (retrying up to
the renew deadline) and stopped its controllers only afterwards, so both replicas wrote for
seconds after the takeover.
"""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, RestClient, load_config
from controller_runtime.controller import Funcs, Request, Result
from controller_runtime.controller.builder import Builder
from controller_runtime.envtest import ControlPlane, TcpProxy, eventually
from controller_runtime.manager import LeaderElectionLostError, Manager, ManagerOptions

LEASE = "handover"
BEAT = "beat"
# The standby may take over LEASE_DURATION after it last saw the Lease change; the leader
# declares the loss RETRY + RENEW after its last renewal, which leaves it 1.5 s to stop.
LEASE_DURATION, RENEW, RETRY = 6.0, 4.0, 0.5
WRITE_EVERY = 0.05


class Writer:
    """Writes the ConfigMap BEAT with its identity and a sequence number, every 50 ms."""

    def __init__(self, client: Client, identity: str) -> None:
        self.client, self.identity, self.writes = client, identity, 0

    async def reconcile(self, request: Request) -> Result:
        if request.name != BEAT:
            return Result()
        self.writes += 1
        cm = {"apiVersion": "v1", "kind": "ConfigMap"}
        annotations = {"writer": self.identity, "seq": str(self.writes)}
        await self.client.patch(
            {**cm, "metadata": {"name": BEAT, "namespace": request.namespace}},
            {"metadata": {"annotations": annotations}},
        )
        return Result(requeue_after=WRITE_EVERY)


def replica(rest: RestClient, writes: Client, namespace: str, identity: str) -> Manager:
    """A manager on rest whose controller writes through writes."""
    manager = Manager(
        rest,
        ManagerOptions(
            namespace=namespace,
            metrics_bind_address="0",
            registry=CollectorRegistry(),
            leader_election=True,
            leader_election_id=LEASE,
            leader_election_namespace=namespace,
            leader_election_identity=identity,
            leader_election_release_on_cancel=True,
            lease_duration=LEASE_DURATION,
            renew_deadline=RENEW,
            retry_period=RETRY,
        ),
    )
    # Only creates and the controller's own requeues drive it, not the echo of its writes.
    (
        Builder(manager)
        .for_("v1", "ConfigMap", predicates=[Funcs(update_fn=lambda _: False)])
        .complete(Writer(writes, identity))
    )
    return manager


async def record_writes(kube: Client, namespace: str, since: str, log: list[str]) -> None:
    """Appends the writer of every change of BEAT, in the order the server applied them."""
    async with kube.watch(
        "v1",
        "ConfigMap",
        namespace,
        resource_version=since,
        field_selector=f"metadata.name={BEAT}",
    ) as events:
        async for event in events:
            if event["type"] == "MODIFIED":
                annotations = event["object"]["metadata"].get("annotations") or {}
                log.append(annotations.get("writer", ""))


async def test_no_write_of_the_old_leader_lands_after_the_new_leaders_first(
    kube: Client, namespace: str, control_plane: ControlPlane
) -> None:
    proxy = TcpProxy("127.0.0.1", control_plane.ports.apiserver)
    await proxy.start()
    config = await load_config(control_plane.kubeconfig)
    config.host = f"https://{proxy.address}"
    via_proxy = RestClient(config, registry=CollectorRegistry())
    created = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": BEAT, "namespace": namespace},
        }
    )
    writers: list[str] = []
    recorder = asyncio.create_task(
        record_writes(kube, namespace, created["metadata"]["resourceVersion"], writers)
    )
    a = replica(via_proxy, kube, namespace, "a")
    b = replica(kube.rest, kube, namespace, "b")
    a_run = asyncio.create_task(a.start())
    b_run: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: "a" in writers, timeout=60, message="a writes as the leader")
        b_run = asyncio.create_task(b.start())
        await eventually(
            lambda: b.elector is not None and b.elector.leader() == "a",
            timeout=60,
            message="b campaigns and sees a leading",
        )
        proxy.cut()
        await eventually(lambda: "b" in writers, timeout=60, message="b takes over")
        with pytest.raises(LeaderElectionLostError):
            await asyncio.wait_for(a_run, 60)  # a has stopped everything
        # One write after a has stopped, so the recorder has seen all of a's writes.
        await kube.patch(created, {"metadata": {"annotations": {"writer": "end"}}})
        await eventually(lambda: "end" in writers, timeout=30, message="the last write")
    finally:
        for task in (a_run, b_run, recorder):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (a_run, b_run, recorder) if t), return_exceptions=True)
        await proxy.stop()
        await via_proxy.close()

    first_b = writers.index("b")
    late = writers[first_b:].count("a")
    around = writers[max(first_b - 3, 0) : first_b + 12]
    assert late == 0, f"{late} writes of the old leader after the new one's first: {around}"
    assert writers[:first_b].count("a") > 0


class LeaseWatcher:
    """A leader-gated runnable that, while stopping, reads who holds the Lease."""

    def __init__(self, kube: Client, namespace: str) -> None:
        self.kube, self.namespace = kube, namespace
        self.running = asyncio.Event()
        self.holder_while_stopping: str | None = None

    async def start(self) -> None:
        self.running.set()
        try:
            await asyncio.Event().wait()
        finally:
            lease = await self.kube.get("coordination.k8s.io/v1", "Lease", LEASE, self.namespace)
            self.holder_while_stopping = lease["spec"].get("holderIdentity", "")


async def test_a_graceful_stop_releases_the_lease_only_after_leader_work_stopped(
    kube: Client, namespace: str
) -> None:
    manager = replica(kube.rest, kube, namespace, "a")
    watcher = LeaseWatcher(kube, namespace)
    manager.add(watcher)
    task = asyncio.create_task(manager.start())
    await asyncio.wait_for(watcher.running.wait(), 60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert watcher.holder_while_stopping == "a"
    lease = await kube.get("coordination.k8s.io/v1", "Lease", LEASE, namespace)
    assert lease["spec"].get("holderIdentity", "") == ""  # released afterwards
