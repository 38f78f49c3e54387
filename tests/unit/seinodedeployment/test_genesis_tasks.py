"""The ceremony's group tasks on an in-memory cluster (spec 6.7.3; decision F15)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.v1alpha1 import Resource, SeiNode
from controllers.operator import group_task_registry
from controllers.plan.engine import (
    Task,
    TaskContext,
    TaskState,
    TerminalTaskError,
    TransientTaskError,
)
from controllers.plan.ids import export_state_task_id
from controllers.seinodedeployment.children import desired_child
from controllers.sidecar.api import (
    SidecarClient,
    SidecarTaskNotFoundError,
    SidecarUnavailableError,
    TaskResult,
    TaskResultStatus,
)
from tests.fixtures.platform import platform_for_tests

from .fakes import FakeKube
from .fixtures import child, group

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
EXPORTER = "archive-rpc-exporter"


@dataclass
class CeremonySidecar:
    """A node's sidecar as the ceremony tasks use it: node id, task submission and results."""

    name: str
    node_id_value: str | None = None
    results: dict[str, TaskResult] = field(default_factory=dict)
    submissions: list[tuple[str, dict[str, Any] | None, str | None]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{self.name}:7777"

    async def submit_task(
        self, task_type: str, params: dict[str, Any] | None = None, task_id: str | None = None
    ) -> str:
        self.submissions.append((task_type, params, task_id))
        return task_id or "random"

    async def get_task(self, task_id: str) -> TaskResult:
        if task_id not in self.results:
            raise SidecarTaskNotFoundError("task not found")
        return self.results[task_id]

    async def status(self) -> Any:
        raise AssertionError("not used by ceremony tasks")

    async def node_id(self) -> str:
        if self.node_id_value is None:
            raise SidecarUnavailableError(f"HTTP 500: node_key.json not found on {self.name}")
        return self.node_id_value


@dataclass
class Sidecars:
    by_name: dict[str, CeremonySidecar] = field(default_factory=dict)

    def __call__(self, name: str, namespace: str, port: int) -> SidecarClient:
        return self.by_name.setdefault(name, CeremonySidecar(name))


def _task(
    kube: FakeKube,
    task_type: str,
    params: dict[str, Any],
    sidecars: Sidecars | None = None,
    owner: Resource | None = None,
    now: datetime = NOW,
) -> Task:
    def no_assembler() -> Any:
        raise AssertionError("controller tasks never use the assembler's sidecar")

    ctx = TaskContext.for_owner(
        owner or group(),
        client=kube,
        sidecar=no_assembler,
        sidecars=sidecars if sidecars is not None else Sidecars(),
        platform=platform_for_tests(),
        now=lambda: now,
    )
    return group_task_registry().build(ctx, task_type, "task-id", params)


def _names(n: int = 3) -> list[str]:
    return [f"archive-rpc-{i}" for i in range(n)]


def _peers_task(kube: FakeKube, sidecars: Sidecars) -> Task:
    params = {"groupName": "archive-rpc", "namespace": "sei", "nodeNames": _names()}
    return _task(kube, "collect-and-set-peers", params, sidecars)


def _seinode(kube: FakeKube, name: str) -> dict[str, Any]:
    return kube.stored("sei.io/v1alpha1", "SeiNode", name, "sei")


# --- await-nodes-running -----------------------------------------------------------------------


def _await(kube: FakeKube, expected: int = 3) -> Task:
    params = {
        "groupName": "archive-rpc",
        "namespace": "sei",
        "expected": expected,
        "nodeNames": _names(),
    }
    return _task(kube, "await-nodes-running", params)


async def test_await_nodes_running_completes_when_all_run() -> None:
    kube = FakeKube()
    kube.add(*(child(n, i) for i, n in enumerate(_names())))
    assert await _await(kube).status() == TaskState.COMPLETE


async def test_await_nodes_running_waits_for_an_initializing_node() -> None:
    kube = FakeKube()
    kube.add(child("archive-rpc-0", 0), child("archive-rpc-1", 1))
    kube.add(child("archive-rpc-2", 2, phase="Initializing"))
    assert await _await(kube).status() == TaskState.RUNNING


async def test_await_nodes_running_waits_for_a_missing_node() -> None:
    kube = FakeKube()
    kube.add(child("archive-rpc-0", 0), child("archive-rpc-1", 1))
    assert await _await(kube).status() == TaskState.RUNNING


async def test_await_nodes_running_fails_on_a_failed_node() -> None:
    kube = FakeKube()
    kube.add(child("archive-rpc-0", 0), child("archive-rpc-1", 1, phase="Failed"))
    kube.add(child("archive-rpc-2", 2, phase="Initializing"))
    task = _await(kube)
    assert await task.status() == TaskState.FAILED
    assert task.error() == "node archive-rpc-1 is in Failed phase"


# --- collect-and-set-peers ---------------------------------------------------------------------


def _ids() -> dict[str, str]:
    return {n: f"{i:040x}" for i, n in enumerate(_names(), start=1)}


async def test_collect_and_set_peers_writes_every_peer_into_every_node() -> None:
    kube = FakeKube()
    kube.add(*(child(n, i) for i, n in enumerate(_names())))
    sidecars = Sidecars({n: CeremonySidecar(n, node_id) for n, node_id in _ids().items()})
    task = _peers_task(kube, sidecars)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    expected = [f"{node_id}@{n}-0.{n}.sei.svc.cluster.local:26656" for n, node_id in _ids().items()]
    for name in _names():
        assert _seinode(kube, name)["spec"]["peers"] == [{"static": {"addresses": expected}}]


async def test_collect_and_set_peers_writes_nothing_until_every_node_id_is_known() -> None:
    kube = FakeKube()
    kube.add(*(child(n, i) for i, n in enumerate(_names())))
    sidecars = Sidecars({n: CeremonySidecar(n, node_id) for n, node_id in _ids().items()})
    sidecars.by_name["archive-rpc-2"].node_id_value = None
    with pytest.raises(TransientTaskError, match="archive-rpc-2"):
        await _peers_task(kube, sidecars).execute()
    assert kube.writes == []


async def test_collect_and_set_peers_retries_a_missing_node() -> None:
    kube = FakeKube()
    kube.add(child("archive-rpc-0", 0))
    sidecars = Sidecars({n: CeremonySidecar(n, node_id) for n, node_id in _ids().items()})
    with pytest.raises(TransientTaskError, match="archive-rpc-1"):
        await _peers_task(kube, sidecars).execute()


# --- create-exporter (F15) ---------------------------------------------------------------------

CREATE_PARAMS = {
    "groupName": "archive-rpc",
    "exporterName": EXPORTER,
    "namespace": "sei",
    "sourceChainId": "pacific-1",
    "sourceImage": "seid:v5",
    "exportHeight": 1000,
}


def _exporter(phase: str | None = "Running", terminating: bool = False) -> dict[str, Any]:
    node = child(EXPORTER, None, revision=None, phase=phase, **{"sei.io/role": "exporter"})
    if terminating:
        node["metadata"]["deletionTimestamp"] = "2026-01-01T11:00:00Z"
        node["metadata"]["finalizers"] = ["sei.io/seinode-finalizer"]
    return node


async def test_create_exporter_creates_the_exporter_of_the_spec() -> None:
    kube = FakeKube()
    grp = group(
        spec__template__spec__sidecar={"image": "seictl:v1", "port": 7777},
        spec__template__spec__peers=[{"static": {"addresses": ["a@b:26656"]}}],
    )
    task = _task(kube, "create-exporter", CREATE_PARAMS, owner=grp)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    created = _seinode(kube, EXPORTER)
    assert created["metadata"]["labels"] == {
        "sei.io/nodedeployment": "archive-rpc",
        "sei.io/role": "exporter",
    }
    [ref] = created["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["controller"]) == (
        "SeiNodeDeployment",
        "archive-rpc",
        True,
    )
    assert created["spec"] == {
        "chainId": "pacific-1",
        "image": "seid:v5",
        "fullNode": {"snapshot": {"s3": {"targetHeight": 1000}, "bootstrapImage": "seid:v5"}},
        "sidecar": {"image": "seictl:v1", "port": 7777},
        "peers": [{"static": {"addresses": ["a@b:26656"]}}],
    }
    # A valid SeiNode that needs the bootstrap Job (12.3).
    SeiNode.from_dict(created)


async def test_create_exporter_completes_on_a_live_exporter() -> None:
    kube = FakeKube()
    kube.add(_exporter("Initializing"))
    task = _task(kube, "create-exporter", CREATE_PARAMS)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
    assert kube.writes == []


async def test_create_exporter_deletes_a_failed_exporter_and_does_not_complete() -> None:
    kube = FakeKube()
    kube.add(_exporter("Failed"))
    task = _task(kube, "create-exporter", CREATE_PARAMS)
    await task.execute()
    assert await task.status() == TaskState.RUNNING
    assert kube.writes == [("delete", EXPORTER, None)]


async def test_create_exporter_waits_for_a_terminating_exporter_to_be_gone() -> None:
    """F15: a Terminating exporter is neither ready nor replaced before it is gone."""
    kube = FakeKube()
    kube.add(_exporter("Running", terminating=True))
    task = _task(kube, "create-exporter", CREATE_PARAMS)
    await task.execute()
    assert await task.status() == TaskState.RUNNING
    assert kube.writes == []


async def test_create_exporter_recreates_once_the_old_one_is_gone() -> None:
    kube = FakeKube()
    kube.add(_exporter("Failed"))
    first = _task(kube, "create-exporter", CREATE_PARAMS)
    await first.execute()
    assert await _task(kube, "create-exporter", CREATE_PARAMS).status() == TaskState.COMPLETE
    assert [(verb, name) for verb, name, _ in kube.writes] == [
        ("delete", EXPORTER),
        ("create", EXPORTER),
    ]


async def test_create_exporter_needs_a_group_owner() -> None:
    node = SeiNode.from_dict(desired_child(group(), 0, "1"))
    task = _task(FakeKube(), "create-exporter", CREATE_PARAMS, owner=node)
    with pytest.raises(TerminalTaskError, match="not a SeiNodeDeployment"):
        await task.execute()


# --- await-exporter-running --------------------------------------------------------------------

EXPORTER_PARAMS = {"exporterName": EXPORTER, "namespace": "sei"}


@pytest.mark.parametrize(
    ("phase", "state"),
    [
        ("Running", TaskState.COMPLETE),
        ("Initializing", TaskState.RUNNING),
        (None, TaskState.RUNNING),
    ],
)
async def test_await_exporter_running_follows_the_phase(
    phase: str | None, state: TaskState
) -> None:
    kube = FakeKube()
    kube.add(_exporter(phase))
    assert await _task(kube, "await-exporter-running", EXPORTER_PARAMS).status() == state


async def test_await_exporter_running_fails_on_a_failed_exporter() -> None:
    kube = FakeKube()
    kube.add(_exporter("Failed"))
    task = _task(kube, "await-exporter-running", EXPORTER_PARAMS)
    assert await task.status() == TaskState.FAILED
    assert task.error() == f"exporter {EXPORTER} failed"


async def test_await_exporter_running_fails_when_the_exporter_is_missing() -> None:
    task = _task(FakeKube(), "await-exporter-running", EXPORTER_PARAMS)
    assert await task.status() == TaskState.FAILED
    assert task.error() == f"exporter {EXPORTER} not found — create-exporter may have failed"


# --- submit-export-state -----------------------------------------------------------------------

EXPORT_PARAMS = EXPORTER_PARAMS | {"exportHeight": 1000, "sourceChainId": "pacific-1"}
EXPORT_ID = export_state_task_id(EXPORTER)


def _created_exporter(age: timedelta) -> dict[str, Any]:
    node = _exporter("Running")
    node["metadata"]["creationTimestamp"] = (NOW - age).isoformat().replace("+00:00", "Z")
    return node


def _result(status: TaskResultStatus, error: str | None = None) -> TaskResult:
    return TaskResult(id=EXPORT_ID, type="export-state", status=status, error=error)


async def test_submit_export_state_posts_the_export_to_the_exporter() -> None:
    kube, sidecars = FakeKube(), Sidecars()
    kube.add(_created_exporter(timedelta(minutes=5)))
    task = _task(kube, "submit-export-state", EXPORT_PARAMS, sidecars)
    await task.execute()
    platform = platform_for_tests()
    assert sidecars.by_name[EXPORTER].submissions == [
        (
            "export-state",
            {
                "height": 1000,
                "chainId": "pacific-1",
                "s3Bucket": platform.genesis_bucket,
                "s3Key": "pacific-1/exported-state.json",
                "s3Region": platform.genesis_region,
            },
            EXPORT_ID,
        )
    ]


@pytest.mark.parametrize(
    ("result", "state", "error"),
    [
        (_result(TaskResultStatus.RUNNING), TaskState.RUNNING, None),
        (_result(TaskResultStatus.COMPLETED), TaskState.COMPLETE, None),
        (
            _result(TaskResultStatus.FAILED, "disk full"),
            TaskState.FAILED,
            "export-state failed: disk full",
        ),
        (_result(TaskResultStatus.FAILED), TaskState.FAILED, "export-state failed: unknown error"),
    ],
)
async def test_submit_export_state_follows_the_sidecar_task(
    result: TaskResult, state: TaskState, error: str | None
) -> None:
    kube = FakeKube()
    kube.add(_created_exporter(timedelta(hours=1)))
    sidecars = Sidecars({EXPORTER: CeremonySidecar(EXPORTER, results={EXPORT_ID: result})})
    task = _task(kube, "submit-export-state", EXPORT_PARAMS, sidecars)
    assert (await task.status(), task.error()) == (state, error)


async def test_submit_export_state_times_out_six_hours_after_the_exporter_was_created() -> None:
    kube = FakeKube()
    kube.add(_created_exporter(timedelta(hours=6, seconds=1)))
    result = _result(TaskResultStatus.RUNNING)
    sidecars = Sidecars({EXPORTER: CeremonySidecar(EXPORTER, results={EXPORT_ID: result})})
    task = _task(kube, "submit-export-state", EXPORT_PARAMS, sidecars)
    assert (await task.status(), task.error()) == (
        TaskState.FAILED,
        "export-state timed out after 6h0m0s",
    )


async def test_submit_export_state_resubmits_a_task_the_sidecar_lost() -> None:
    kube, sidecars = FakeKube(), Sidecars()
    kube.add(_created_exporter(timedelta(hours=1)))
    task = _task(kube, "submit-export-state", EXPORT_PARAMS, sidecars)
    assert await task.status() == TaskState.RUNNING
    assert [s[2] for s in sidecars.by_name[EXPORTER].submissions] == [EXPORT_ID]


# --- teardown-exporter -------------------------------------------------------------------------


async def test_teardown_exporter_deletes_and_waits_until_gone() -> None:
    kube = FakeKube()
    kube.add(_exporter("Running"))
    task = _task(kube, "teardown-exporter", EXPORTER_PARAMS)
    await task.execute()
    assert kube.writes == [("delete", EXPORTER, None)]
    assert await task.status() == TaskState.COMPLETE  # the fake deletes at once


async def test_teardown_exporter_stays_running_while_the_exporter_terminates() -> None:
    kube = FakeKube()
    kube.add(_exporter("Running", terminating=True))
    task = _task(kube, "teardown-exporter", EXPORTER_PARAMS)
    await task.execute()
    assert kube.writes == []
    assert await task.status() == TaskState.RUNNING


async def test_teardown_exporter_completes_when_there_is_none() -> None:
    task = _task(FakeKube(), "teardown-exporter", EXPORTER_PARAMS)
    await task.execute()
    assert await task.status() == TaskState.COMPLETE
