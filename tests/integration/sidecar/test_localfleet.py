"""The local fleet on the full local control plane (kwok runs the pods): a node's sidecar comes
up with its pod, starts afresh (keeping its task store) when the pod is replaced, and stops when
the pod is gone. Run with real `seictl serve` processes and with simulator nodes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from controller_runtime.client import Client
from controller_runtime.envtest import eventually
from controllers.sidecar.api import (
    SidecarStatus,
    SidecarUnavailableError,
    TaskResultStatus,
)
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import SeictlLauncher, SidecarLauncher, SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet, RunningSidecar
from controllers.sidecar.simulator import SidecarSimulator

from .conftest import seictl_binary

NODE = "node-a"
CHAIN = "fleet-1"


def node_statefulset(name: str, namespace: str) -> dict[str, Any]:
    """The shape the SeiNode controller renders (5.3), reduced to what the fleet reads."""
    labels = {"sei.io/node": name}
    sidecar_env = [
        {"name": "SEI_CHAIN_ID", "value": CHAIN},
        {"name": "SEI_SIDECAR_PORT", "value": "7777"},
        {"name": "SEI_HOME", "value": "/sei"},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "initContainers": [
                        {
                            "name": "sei-sidecar",
                            "image": "sidecar",
                            "restartPolicy": "Always",
                            "env": sidecar_env,
                        }
                    ],
                    "containers": [{"name": "seid", "image": "seid"}],
                },
            },
        },
    }


@pytest_asyncio.fixture(loop_scope="session", params=["seictl", "simulator"])
async def fleet(
    request: pytest.FixtureRequest, kube: Client, namespace: str, tmp_path: Path
) -> AsyncIterator[LocalFleet]:
    simulator: SidecarSimulator | None = None
    launcher: SidecarLauncher
    if request.param == "seictl":
        launcher = SeictlLauncher(seictl_binary(), tmp_path / "fleet")
    else:
        simulator = SidecarSimulator()
        launcher = SimulatorLauncher(simulator)
    fleet = LocalFleet(kube, launcher, namespace=namespace)
    await fleet.start()
    try:
        yield fleet
    finally:
        await fleet.close()
        if simulator is not None:
            await simulator.close()


@pytest_asyncio.fixture(loop_scope="session")
async def sidecars(fleet: LocalFleet) -> AsyncIterator[HTTPSidecarClientFactory]:
    async with HTTPSidecarClientFactory(fleet.url_for) as factory:
        yield factory


async def running(fleet: LocalFleet, namespace: str, starts: int) -> RunningSidecar:
    sidecar: RunningSidecar | None = await eventually(
        lambda: fleet.sidecar(namespace, NODE),
        lambda s: s is not None and s.starts == starts,
        timeout=120,
        message=f"sidecar start #{starts} of {namespace}/{NODE}",
    )
    assert sidecar is not None
    return sidecar


async def test_a_node_pod_gets_a_sidecar_answering_on_its_own_port(
    fleet: LocalFleet, sidecars: HTTPSidecarClientFactory, kube: Client, namespace: str
) -> None:
    await kube.create(node_statefulset(NODE, namespace))
    started = await running(fleet, namespace, 1)
    client = sidecars(NODE, namespace, 7777)
    assert (started.pod_name, client.base_url) == (f"{NODE}-0", started.url)
    assert await client.status() is SidecarStatus.INITIALIZING


async def test_a_replaced_pod_gets_a_fresh_sidecar_that_keeps_its_tasks(
    fleet: LocalFleet, sidecars: HTTPSidecarClientFactory, kube: Client, namespace: str
) -> None:
    await kube.create(node_statefulset(NODE, namespace))
    first = await running(fleet, namespace, 1)
    client = sidecars(NODE, namespace, 7777)
    ready = await client.submit_task("mark-ready", None, str(uuid.uuid4()))
    await eventually(client.status, lambda s: s is SidecarStatus.READY, timeout=30)

    pod = await kube.get("v1", "Pod", f"{NODE}-0", namespace)
    await kube.delete(pod)  # the StatefulSet controller recreates it with a new uid
    second = await running(fleet, namespace, 2)

    assert second.pod_uid != first.pod_uid
    assert second.url == first.url
    assert await client.status() is SidecarStatus.INITIALIZING
    assert (await client.get_task(ready)).status is TaskResultStatus.COMPLETED


async def test_the_sidecar_stops_when_the_pod_is_gone(
    fleet: LocalFleet, sidecars: HTTPSidecarClientFactory, kube: Client, namespace: str
) -> None:
    sts = await kube.create(node_statefulset(NODE, namespace))
    await running(fleet, namespace, 1)
    client = sidecars(NODE, namespace, 7777)
    await kube.delete(sts)  # garbage collection deletes the pod
    await eventually(lambda: fleet.sidecar(namespace, NODE), lambda s: s is None, timeout=120)
    with pytest.raises(SidecarUnavailableError, match="cannot connect"):
        await client.status()


async def test_a_sidecar_restarted_in_its_pod_is_initializing_and_keeps_its_tasks(
    fleet: LocalFleet, sidecars: HTTPSidecarClientFactory, kube: Client, namespace: str
) -> None:
    await kube.create(node_statefulset(NODE, namespace))
    first = await running(fleet, namespace, 1)
    client = sidecars(NODE, namespace, 7777)
    ready = await client.submit_task("mark-ready", None, str(uuid.uuid4()))
    await eventually(client.status, lambda s: s is SidecarStatus.READY, timeout=30)

    second = await fleet.restart_sidecar(namespace, NODE)

    assert (second.starts, second.pod_uid) == (2, first.pod_uid)
    assert await client.status() is SidecarStatus.INITIALIZING
    assert (await client.get_task(ready)).status is TaskResultStatus.COMPLETED
