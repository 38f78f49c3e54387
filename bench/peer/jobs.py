"""The peer benchmark's jobs, as the driver (run.py) sees them: what it creates before a peer
starts, when the peer has converged, and what must hold afterwards.

- mirror: ConfigMaps, each mirrored to a Secret it owns (mirror.py, go/main.go);
- workload: PeerNodes (a SeiNode-like kind), each with a PVC, a StatefulSet and a headless
  Service it owns and status.phase Running (workload.py, go/workload/main.go).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller_runtime.client import Client

HERE = Path(__file__).resolve().parent
Object = dict[str, Any]


@dataclass(frozen=True)
class Job:
    name: str
    python_script: Path
    crds: tuple[Path, ...]
    populate: Callable[[Client, str, int], Coroutine[Any, Any, None]]
    converged: Callable[[Client, str, int], Coroutine[Any, Any, None]]
    check: Callable[[Client, str, int], Coroutine[Any, Any, None]]
    takes_workers: bool


async def create_namespace_with(
    client: Client, namespace: str, objects: list[Object], concurrency: int = 32
) -> None:
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    gate = asyncio.Semaphore(concurrency)

    async def put(obj: Object) -> None:
        async with gate:
            await client.create(obj)

    await asyncio.gather(*(put(o) for o in objects))


async def wait_until(
    client: Client,
    api_version: str,
    kind: str,
    namespace: str,
    count: int,
    done: Callable[[Object], bool],
) -> None:
    """Returns when ``count`` objects of the kind satisfy ``done`` (watching, relisting if cut).
    Its watch starts from a list's resourceVersion, so it sees every object whenever it
    connects: no need to wait for it before starting the peer."""
    while True:
        listed = await client.list(api_version, kind, namespace)
        seen = {o["metadata"]["name"] for o in listed["items"] if done(o)}
        if len(seen) >= count:
            return
        rv = listed["metadata"]["resourceVersion"]
        async with client.watch(
            api_version, kind, namespace, resource_version=rv, timeout_seconds=3600
        ) as events:
            async for event in events:
                if event["type"] in ("ADDED", "MODIFIED") and done(event["object"]):
                    seen.add(event["object"]["metadata"]["name"])
                    if len(seen) >= count:
                        return


def controller_ref(obj: Object) -> tuple[str, str]:
    [ref] = obj["metadata"]["ownerReferences"]
    assert ref["controller"] is True, obj["metadata"]["name"]
    return ref["kind"], ref["name"]


# --- mirror -----------------------------------------------------------------------------------


def configmap(i: int, namespace: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:05d}", "namespace": namespace, "labels": {"app": "peer"}},
        "data": {f"key-{k}": f"value-{i}-{k}-" + "v" * 40 for k in range(3)},
    }


async def populate_configmaps(client: Client, namespace: str, count: int) -> None:
    await create_namespace_with(client, namespace, [configmap(i, namespace) for i in range(count)])


async def wait_for_secrets(client: Client, namespace: str, count: int) -> None:
    await wait_until(client, "v1", "Secret", namespace, count, lambda _: True)


async def check_secrets(client: Client, namespace: str, count: int) -> None:
    secrets = {
        s["metadata"]["name"]: s for s in (await client.list("v1", "Secret", namespace))["items"]
    }
    assert len(secrets) == count, f"{len(secrets)} Secrets, want {count}"
    for i in range(count):
        want = configmap(i, namespace)
        secret = secrets[want["metadata"]["name"]]
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data == want["data"], secret["metadata"]["name"]
        assert controller_ref(secret) == ("ConfigMap", want["metadata"]["name"])


MIRROR = Job(
    name="mirror",
    python_script=HERE / "mirror.py",
    crds=(),
    populate=populate_configmaps,
    converged=wait_for_secrets,
    check=check_secrets,
    takes_workers=False,
)

# --- workload ---------------------------------------------------------------------------------

PEERNODE_API = "bench.sei.io/v1"


def peernode(i: int, namespace: str) -> Object:
    return {
        "apiVersion": PEERNODE_API,
        "kind": "PeerNode",
        "metadata": {"name": f"node-{i:05d}", "namespace": namespace},
        "spec": {"image": "ghcr.io/sei-protocol/sei:v6.3.0", "storage": "10Gi"},
    }


async def populate_peernodes(client: Client, namespace: str, count: int) -> None:
    await create_namespace_with(client, namespace, [peernode(i, namespace) for i in range(count)])


def _running(obj: Object) -> bool:
    return (obj.get("status") or {}).get("phase") == "Running"


async def wait_for_running(client: Client, namespace: str, count: int) -> None:
    await wait_until(client, PEERNODE_API, "PeerNode", namespace, count, _running)


async def check_workloads(client: Client, namespace: str, count: int) -> None:
    nodes = (await client.list(PEERNODE_API, "PeerNode", namespace))["items"]
    assert len(nodes) == count
    assert all(_running(n) for n in nodes)
    names = {n["metadata"]["name"] for n in nodes}
    for api_version, kind, prefix in (
        ("v1", "PersistentVolumeClaim", "data-"),
        ("apps/v1", "StatefulSet", ""),
        ("v1", "Service", ""),
    ):
        children = (await client.list(api_version, kind, namespace))["items"]
        owners = {controller_ref(c) for c in children}
        assert owners == {("PeerNode", n) for n in names}, kind
        assert {c["metadata"]["name"] for c in children} == {prefix + n for n in names}, kind
    statefulsets = (await client.list("apps/v1", "StatefulSet", namespace))["items"]
    for sts in statefulsets:
        [container] = sts["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "ghcr.io/sei-protocol/sei:v6.3.0"
        [volume] = sts["spec"]["template"]["spec"]["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == "data-" + sts["metadata"]["name"]


WORKLOAD = Job(
    name="workload",
    python_script=HERE / "workload.py",
    crds=(HERE / "peernode-crd.yaml",),
    populate=populate_peernodes,
    converged=wait_for_running,
    check=check_workloads,
    takes_workers=True,
)

JOBS = {job.name: job for job in (MIRROR, WORKLOAD)}
