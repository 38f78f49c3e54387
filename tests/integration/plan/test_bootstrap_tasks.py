"""Bootstrap controller tasks of spec 6.7.2 on the real API server (spec 11.5 bootstrap rows).

The Jobs here carry ``spec.managedBy`` of a foreign controller, so the built-in Job controller
leaves them alone (no pods, no status of its own) and each test sets the Job status itself.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from api.v1alpha1 import SeiNode
from controller_runtime.client import Client
from controller_runtime.client.errors import NotFoundError
from controllers.plan import TaskContext, TaskState, TransientTaskError, seinode_task_registry
from controllers.plan.engine import Task
from controllers.sidecar.api import SidecarClient
from tests.integration.plan.conftest import create_node

pytestmark = pytest.mark.integration

BOOTSTRAP_LABELS = {"sei.io/component": "bootstrap"}


class Resources:
    """Minimal bootstrap objects in the shape of spec 12.3 (the renderer is tested elsewhere)."""

    def __init__(self, node: SeiNode) -> None:
        self.name = node.metadata.name or ""
        self.namespace = node.metadata.namespace or ""

    def _labels(self) -> dict[str, str]:
        return {"sei.io/node": self.name, **BOOTSTRAP_LABELS}

    def bootstrap_service(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": self._labels()},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": self._labels(),
                "ports": [{"name": "sidecar", "port": 7777, "targetPort": 7777}],
            },
        }

    def bootstrap_job(self) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{self.name}-bootstrap",
                "namespace": self.namespace,
                "labels": self._labels(),
            },
            "spec": {
                "managedBy": "tests.sei.io/nobody",
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": self._labels()},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "seid", "image": "sei:bootstrap"}],
                    },
                },
            },
        }


def _no_sidecar() -> SidecarClient:
    raise AssertionError("bootstrap tasks never use the sidecar")


def _task(kube: Client, node: SeiNode, task_type: str, **params: str) -> Task:
    ctx = TaskContext.for_owner(node, client=kube, sidecar=_no_sidecar, resources=Resources(node))
    ns = node.metadata.namespace or ""
    return seinode_task_registry().build(ctx, task_type, "id-1", {"namespace": ns, **params})


def _service_task(kube: Client, node: SeiNode) -> Task:
    return _task(kube, node, "deploy-bootstrap-service", serviceName=node.metadata.name or "")


def _job_task(kube: Client, node: SeiNode, task_type: str = "deploy-bootstrap-job") -> Task:
    return _task(kube, node, task_type, jobName=f"{node.metadata.name}-bootstrap")


def _teardown_task(kube: Client, node: SeiNode) -> Task:
    name = node.metadata.name or ""
    return _task(kube, node, "teardown-bootstrap", jobName=f"{name}-bootstrap", serviceName=name)


async def _get(kube: Client, api_version: str, kind: str, name: str, ns: str) -> dict[str, Any]:
    return await kube.get(api_version, kind, name, ns)


async def _set_job_condition(kube: Client, job: dict[str, Any], type_: str, message: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions: list[dict[str, Any]] = []
    status: dict[str, Any] = {"startTime": now, "conditions": conditions}
    # The Job status API accepts a terminal condition only after its precursor.
    if type_ == "Complete":
        status.update(completionTime=now, succeeded=1)
        conditions.append(
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now}
        )
    else:
        status.update(failed=1)
        conditions.append({"type": "FailureTarget", "status": "True", "lastTransitionTime": now})
    conditions.append(
        {"type": type_, "status": "True", "message": message, "lastTransitionTime": now}
    )
    await kube.status().patch(job, {"status": status})


def _controller_uid(obj: dict[str, Any]) -> str | None:
    refs = obj["metadata"].get("ownerReferences") or []
    return next((r["uid"] for r in refs if r.get("controller")), None)


# --- deploy-bootstrap-service ------------------------------------------------------------------


async def test_deploy_bootstrap_service_creates_the_service_owned_by_the_node(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    task = _service_task(kube, bootstrap_node)

    await task.execute()

    assert await task.status() == TaskState.COMPLETE
    service = await _get(kube, "v1", "Service", "boot", namespace)
    assert _controller_uid(service) == bootstrap_node.metadata.uid


async def test_deploy_bootstrap_service_treats_an_existing_service_as_success(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await _service_task(kube, bootstrap_node).execute()
    again = _service_task(kube, bootstrap_node)

    await again.execute()

    assert await again.status() == TaskState.COMPLETE


async def test_deploy_bootstrap_service_status_detects_an_existing_service(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await kube.create(Resources(bootstrap_node).bootstrap_service())

    assert await _service_task(kube, bootstrap_node).status() == TaskState.COMPLETE


async def test_deploy_bootstrap_service_status_is_running_while_absent(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    assert await _service_task(kube, bootstrap_node).status() == TaskState.RUNNING


# --- deploy-bootstrap-job ----------------------------------------------------------------------


async def test_deploy_bootstrap_job_creates_the_job_owned_by_the_node(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    task = _job_task(kube, bootstrap_node)

    await task.execute()

    assert await task.status() == TaskState.COMPLETE
    job = await _get(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    assert _controller_uid(job) == bootstrap_node.metadata.uid


async def test_deploy_bootstrap_job_treats_an_existing_job_as_success(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await _job_task(kube, bootstrap_node).execute()

    await _job_task(kube, bootstrap_node).execute()


async def test_deploy_bootstrap_job_requires_an_s3_snapshot(
    kube: Client, sei_crds: object, namespace: str
) -> None:
    node = await create_node(kube, namespace, "sync", {"fullNode": {"snapshot": {"stateSync": {}}}})

    with pytest.raises(TransientTaskError) as raised:
        await _job_task(kube, node).execute()

    expected = f"bootstrap job requires an S3 snapshot source (node {namespace}/sync)"
    assert str(raised.value) == expected
    with pytest.raises(NotFoundError):
        await _get(kube, "batch/v1", "Job", "sync-bootstrap", namespace)


# --- await-bootstrap-complete ------------------------------------------------------------------


async def test_await_bootstrap_complete_is_running_while_the_job_runs(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await _job_task(kube, bootstrap_node).execute()

    assert await _job_task(kube, bootstrap_node, "await-bootstrap-complete").status() == (
        TaskState.RUNNING
    )


async def test_await_bootstrap_complete_completes_with_the_job(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    await _job_task(kube, bootstrap_node).execute()
    job = await _get(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    await _set_job_condition(kube, job, "Complete", "")

    assert await _job_task(kube, bootstrap_node, "await-bootstrap-complete").status() == (
        TaskState.COMPLETE
    )


async def test_await_bootstrap_complete_fails_with_the_job_failure_message(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    await _job_task(kube, bootstrap_node).execute()
    job = await _get(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    await _set_job_condition(kube, job, "Failed", "Job has reached the specified backoff limit")
    task = _job_task(kube, bootstrap_node, "await-bootstrap-complete")

    assert await task.status() == TaskState.FAILED
    assert task.error() == "bootstrap job failed: Job has reached the specified backoff limit"


async def test_await_bootstrap_complete_fails_when_the_job_is_gone(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    task = _job_task(kube, bootstrap_node, "await-bootstrap-complete")

    assert await task.status() == TaskState.FAILED
    assert task.error() == "bootstrap job boot-bootstrap not found"


class _CacheWithoutTheJob:
    """A cache that has not seen the Job yet: every read of a Job is NotFound."""

    def __init__(self, kube: Client) -> None:
        self.kube = kube

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        if kind == "Job":
            raise NotFoundError(404, "NotFound", f'jobs.batch "{name}" not found')
        return await self.kube.get(api_version, kind, name, namespace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kube, name)


async def test_await_bootstrap_complete_asks_the_api_server_before_calling_the_job_gone(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await _job_task(kube, bootstrap_node).execute()
    ctx = TaskContext.for_owner(
        bootstrap_node,
        client=_CacheWithoutTheJob(kube),
        sidecar=_no_sidecar,
        resources=Resources(bootstrap_node),
        api_reader=kube,
    )
    ns = bootstrap_node.metadata.namespace or ""
    params = {"namespace": ns, "jobName": "boot-bootstrap"}
    task = seinode_task_registry().build(ctx, "await-bootstrap-complete", "id-1", params)

    assert await task.status() == TaskState.RUNNING


# --- teardown-bootstrap ------------------------------------------------------------------------


async def _deploy(kube: Client, node: SeiNode) -> None:
    await _service_task(kube, node).execute()
    await _job_task(kube, node).execute()


async def _wait_gone(kube: Client, api_version: str, kind: str, name: str, ns: str) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                await _get(kube, api_version, kind, name, ns)
            except NotFoundError:
                return
            await asyncio.sleep(0.1)


async def test_teardown_bootstrap_deletes_the_job_and_the_service(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    await _deploy(kube, bootstrap_node)
    task = _teardown_task(kube, bootstrap_node)

    await task.execute()

    assert await task.status() == TaskState.COMPLETE
    await _wait_gone(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    await _wait_gone(kube, "v1", "Service", "boot", namespace)


async def test_teardown_bootstrap_deletes_the_job_in_the_foreground(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    await _deploy(kube, bootstrap_node)
    job = await _get(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    # A dependent that cannot go away holds a foreground deletion of its owner.
    hold = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "namespace": namespace,
            "finalizers": ["tests.sei.io/hold"],
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": "boot-bootstrap",
                    "uid": job["metadata"]["uid"],
                    "blockOwnerDeletion": True,
                }
            ],
        },
    }
    await kube.create(hold)

    await _teardown_task(kube, bootstrap_node).execute()

    held = await _get(kube, "batch/v1", "Job", "boot-bootstrap", namespace)
    assert held["metadata"].get("deletionTimestamp")
    assert "foregroundDeletion" in held["metadata"]["finalizers"]
    await kube.patch(hold, {"metadata": {"finalizers": None}})
    await _wait_gone(kube, "batch/v1", "Job", "boot-bootstrap", namespace)


async def test_teardown_bootstrap_succeeds_when_nothing_is_left(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    task = _teardown_task(kube, bootstrap_node)

    await task.execute()

    assert await task.status() == TaskState.COMPLETE


async def test_teardown_bootstrap_keeps_the_nodes_own_service(
    kube: Client, bootstrap_node: SeiNode, namespace: str
) -> None:
    own = Resources(bootstrap_node).bootstrap_service()
    own["metadata"]["labels"] = {"sei.io/node": "boot"}
    await kube.create(own)

    await _teardown_task(kube, bootstrap_node).execute()

    await _get(kube, "v1", "Service", "boot", namespace)


async def test_teardown_bootstrap_status_is_complete_when_both_are_gone(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    assert await _teardown_task(kube, bootstrap_node).status() == TaskState.COMPLETE


async def test_teardown_bootstrap_status_is_running_while_they_exist(
    kube: Client, bootstrap_node: SeiNode
) -> None:
    await _deploy(kube, bootstrap_node)

    assert await _teardown_task(kube, bootstrap_node).status() == TaskState.RUNNING
