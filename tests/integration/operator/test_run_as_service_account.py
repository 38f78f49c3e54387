"""The manager as config/ deploys it: two replicas, each with the ServiceAccount of config/rbac
(a TokenRequest token, not admin) and the options `sei-controller run` builds from its flags,
electing a leader on the Lease bc1f5b0a.sei.io in the manager's namespace. Under that identity
the leader takes a SeiNodeDeployment to Ready, through an InPlace image rollout and a
scale-down; when it stops, it releases the Lease and the other replica takes over and deletes
the group. Every request is recorded as the authorizer sees it (group, resource, verb): none is
forbidden, the leader-election Role grants exactly what the electors used, and the managers'
requests join the e2e suite's log, which test_rbac_verbs.py checks against the manager-role."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s_client
from prometheus_client import CollectorRegistry

from controller_runtime.client import Client, NotFoundError
from controller_runtime.envtest import ControlPlane, eventually
from controller_runtime.manager import Manager, election
from controllers.cli import build_parser
from controllers.operator import OperatorOptions, setup_operator
from controllers.run import LEADER_ELECTION_ID, run_options
from controllers.sidecar.client import HTTPSidecarClientFactory
from controllers.sidecar.launchers import SimulatorLauncher
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simulator import SidecarSimulator

from ...fixtures.goldens import golden_platform
from ..deploy.kubectl import MANAGER_NAMESPACE, MANAGER_SERVICE_ACCOUNT, apply_default_config
from .request_log import RecordingRestClient, RequestLog, granted
from .test_group_inplace import NEW_IMAGE, group

SND = "sei.io/v1alpha1", "SeiNodeDeployment"
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Replica:
    identity: str
    manager: Manager
    registry: CollectorRegistry
    task: asyncio.Task[None]
    log: RequestLog


async def service_account_configuration(cp: ControlPlane, kube: Client) -> k8s_client.Configuration:
    """Connection settings of the deployed manager's ServiceAccount: a fresh bound token."""
    review = await kube.rest.request(
        "POST",
        f"/api/v1/namespaces/{MANAGER_NAMESPACE}/serviceaccounts/{MANAGER_SERVICE_ACCOUNT}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    config = k8s_client.Configuration()
    config.host = cp.server
    config.ssl_ca_cert = str(cp.pki.ca_cert)
    config.api_key = {"BearerToken": review["status"]["token"]}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    return config


@contextlib.asynccontextmanager
async def replica(
    identity: str,
    config: k8s_client.Configuration,
    namespace: str,
    sidecars: HTTPSidecarClientFactory,
) -> AsyncIterator[Replica]:
    args = build_parser().parse_args(
        [
            "run",
            f"--watch-namespace={namespace}",
            f"--leader-election-namespace={MANAGER_NAMESPACE}",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=0",
        ]
    )
    registry = CollectorRegistry()
    options = dataclasses.replace(
        run_options(args), registry=registry, leader_election_identity=identity
    )
    log = RequestLog()
    rest = RecordingRestClient(config, registry=registry, log=log)
    manager = Manager(rest, options)
    setup_operator(manager, OperatorOptions(platform=golden_platform(), sidecars=sidecars))
    task = asyncio.create_task(manager.start(), name=identity)
    try:
        yield Replica(identity, manager, registry, task, log)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await rest.close()


async def lease_holder(kube: Client) -> str | None:
    try:
        lease = await kube.get(
            "coordination.k8s.io/v1", "Lease", LEADER_ELECTION_ID, MANAGER_NAMESPACE
        )
    except NotFoundError:
        return None
    holder: str | None = (lease.get("spec") or {}).get("holderIdentity")
    return holder


def status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


async def test_service_account_replicas_run_a_group_forbidden_nothing(
    sei_cluster: ControlPlane,
    kube: Client,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    e2e_requests: RequestLog,
) -> None:
    # The elector's own connection (a RestClient made by the manager) is recorded too.
    lease_log = RequestLog()
    monkeypatch.setattr(
        election, "RestClient", functools.partial(RecordingRestClient, log=lease_log)
    )
    await apply_default_config(sei_cluster)
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease"}
    with contextlib.suppress(NotFoundError):  # a fresh election: the first replica creates it
        await kube.delete(
            {**lease, "metadata": {"name": LEADER_ELECTION_ID, "namespace": MANAGER_NAMESPACE}}
        )
    config = await service_account_configuration(sei_cluster, kube)
    ref = {"apiVersion": SND[0], "kind": SND[1], "metadata": {"name": "ha", "namespace": namespace}}

    async def snd() -> dict[str, Any]:
        return await kube.get(*SND, "ha", namespace)

    async with contextlib.AsyncExitStack() as stack:
        simulator = await stack.enter_async_context(SidecarSimulator())
        fleet = LocalFleet(kube, SimulatorLauncher(simulator), namespace=namespace)
        await stack.enter_async_context(fleet)
        sidecars = await stack.enter_async_context(HTTPSidecarClientFactory(fleet.url_for))
        first = await stack.enter_async_context(replica("replica-a", config, namespace, sidecars))
        await eventually(lambda: first.manager.elected.is_set() or first.task.done(), timeout=60)
        assert not first.task.done(), first.task
        async with replica("replica-b", config, namespace, sidecars) as second:
            assert await lease_holder(kube) == "replica-a"

            await kube.create(group("ha", namespace, replicas=2))
            ready = await eventually(snd, lambda g: status(g).get("phase") == "Ready", timeout=180)
            await kube.patch(ref, {"spec": {"template": {"spec": {"image": NEW_IMAGE}}}})
            rolled = await eventually(
                snd,
                lambda g: (
                    status(g).get("templateHash") not in (None, status(ready)["templateHash"])
                    and status(g).get("phase") == "Ready"
                ),
                timeout=300,
            )
            assert status(rolled).get("rollout") is None
            child = await kube.get("sei.io/v1alpha1", "SeiNode", "ha-0", namespace)
            assert child["spec"]["image"] == NEW_IMAGE
            managers = {f["manager"] for f in child["metadata"].get("managedFields") or ()}
            assert "manager" in managers  # the reference binary's field owner

            await kube.patch(ref, {"spec": {"replicas": 1}})
            await eventually(
                snd,
                lambda g: status(g).get("phase") == "Ready" and len(status(g)["nodes"]) == 1,
                timeout=180,
            )

            first.task.cancel()  # a graceful stop: controllers end, then the Lease is released
            with contextlib.suppress(asyncio.CancelledError):
                await first.task
            await eventually(lambda: second.manager.elected.is_set(), timeout=60)
            assert await lease_holder(kube) == "replica-b"

            await kube.delete(ref)
            for kind in ("SeiNodeDeployment", "SeiNode"):  # the nodes' finalizers ran too

                async def listed(kind: str = kind) -> dict[str, Any]:
                    return await kube.list("sei.io/v1alpha1", kind, namespace)

                await eventually(listed, lambda found: not found.get("items"), timeout=120)

    logs = (first.log, second.log, lease_log)
    assert [f for log in logs for f in log.forbidden] == []
    e2e_requests.update(first.log)
    e2e_requests.update(second.log)
    used = first.log.accesses | second.log.accesses
    assert sorted(used - granted(REPO / "config" / "rbac" / "role.yaml")) == []
    lease_role = granted(REPO / "config" / "rbac" / "leader_election_role.yaml")
    assert sorted(lease_log.accesses - lease_role) == []
    assert sorted(lease_role - lease_log.accesses) == []
