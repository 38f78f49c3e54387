"""The headline feature end to end (issue 11 acceptance): a SeiNodeDeployment of real
`seictl serve` sidecars (local fleet, kwok pods) reaches Ready and an image bump rolls it InPlace,
telling exactly the story an operator reads from the API."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import ControlPlane, eventually

from .conftest import OperatorFactory, OperatorHarness

OLD_IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"
NEW_IMAGE = "ghcr.io/sei-protocol/sei:v6.4.0"


def group(name: str, namespace: str, replicas: int = 3, image: str = OLD_IMAGE) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "InPlace"},
            "template": {
                "metadata": {"labels": {"team": "rpc"}},
                "spec": {"chainId": "pacific-1", "image": image, "fullNode": {}},
            },
        },
    }


async def _group(kube: Client, name: str, namespace: str) -> dict[str, Any]:
    return await kube.get("sei.io/v1alpha1", "SeiNodeDeployment", name, namespace)


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in _status(obj).get("conditions") or () if c["type"] == type_), None)


def _reason(obj: dict[str, Any], type_: str) -> str | None:
    found = _condition(obj, type_)
    return None if found is None else str(found["reason"])


def _ready_group(replicas: int) -> Any:
    return lambda obj: (
        _status(obj).get("phase") == "Ready" and _status(obj).get("readyReplicas") == replicas
    )


async def _pods(kube: Client, namespace: str, group_name: str) -> dict[str, dict[str, Any]]:
    listed = await kube.list(
        "v1", "Pod", namespace, label_selector=f"sei.io/nodedeployment={group_name}"
    )
    return {p["metadata"]["name"]: p for p in listed.get("items") or []}


async def _create_ready_group(
    op: OperatorHarness, kube: Client, name: str, replicas: int = 3
) -> dict[str, Any]:
    await kube.create(group(name, op.namespace, replicas))
    return await eventually(
        lambda: _group(kube, name, op.namespace), _ready_group(replicas), timeout=180
    )


class StatusRecorder:
    """Every status the group shows while a rollout runs (from a watch: nothing is missed)."""

    def __init__(self, kube: Client, namespace: str, name: str) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.seen: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with self.kube.watch(
            "sei.io/v1alpha1",
            "SeiNodeDeployment",
            self.namespace,
            field_selector=f"metadata.name={self.name}",
        ) as events:
            async for event in events:
                self.seen.append(_status(event["object"]))

    async def __aenter__(self) -> StatusRecorder:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _bump(kube: Client, name: str, namespace: str, image: str) -> None:
    obj = {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": name, "namespace": namespace},
    }
    await kube.patch(obj, {"spec": {"template": {"spec": {"image": image}}}})


async def test_group_reaches_ready(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        ready = await _create_ready_group(op, kube, "rpc")
        status = ready["status"]
        assert [n["name"] for n in status["nodes"]] == ["rpc-0", "rpc-1", "rpc-2"]
        assert status["incumbentNodes"] == ["rpc-0", "rpc-1", "rpc-2"]
        assert _reason(ready, "NodesReady") == "AllNodesReady"
        assert status["observedGeneration"] == 1
        assert status["templateHash"]


async def test_image_bump_rolls_in_place(
    run_operator: OperatorFactory, kube: Client, namespace: str, control_plane: ControlPlane
) -> None:
    async with run_operator(sidecars="seictl") as op:
        before = await _create_ready_group(op, kube, "wave")
        old_hash = before["status"]["templateHash"]
        old_pods = await _pods(kube, namespace, "wave")
        async with StatusRecorder(kube, namespace, "wave") as recorder:
            await _bump(kube, "wave", namespace, NEW_IMAGE)
            kubectl = await asyncio.create_subprocess_exec(
                str(control_plane.assets.directory / "kubectl"),
                f"--kubeconfig={control_plane.kubeconfig}",
                "-n",
                namespace,
                "wait",
                "--for=condition=RolloutInProgress=false",
                "snd/wave",
                "--timeout=300s",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            done = await eventually(
                lambda: _group(kube, "wave", namespace),
                lambda g: (
                    _status(g).get("templateHash") not in (None, old_hash)
                    and _status(g).get("phase") == "Ready"
                ),
                timeout=300,
            )
            output, _ = await kubectl.communicate()
            assert kubectl.returncode == 0, output.decode()
        cond = _condition(done, "RolloutInProgress")
        assert cond is not None
        assert (cond["status"], cond["reason"]) == ("False", "RolloutComplete")
        assert done["status"].get("rollout") is None
        assert done["status"].get("plan") is None
        assert done["status"]["observedGeneration"] == 2
        # The story in order: Upgrading with a rollout targeting the new hash, per-node progress.
        during = [s for s in recorder.seen if s.get("rollout")]
        assert during, "the rollout was never visible in status"
        assert {s["rollout"]["targetHash"] for s in during} == {done["status"]["templateHash"]}
        assert all(s.get("phase") == "Upgrading" for s in during)
        assert any(s["rollout"].get("nodes") for s in during)
        # F3: the group never stopped seeing its children.
        assert all(len(s.get("nodes") or []) == 3 for s in recorder.seen if s.get("phase"))
        reasons = [e["reason"] for e in await op.events("wave")]
        for reason in ("RolloutStarted", "PlanStarted", "RolloutComplete", "PlanComplete"):
            assert reason in reasons
        pods = await _pods(kube, namespace, "wave")
        assert set(pods) == set(old_pods)
        for name, pod in pods.items():
            assert pod["metadata"]["uid"] != old_pods[name]["metadata"]["uid"]
            seid = next(c for c in pod["spec"]["containers"] if c["name"] == "seid")
            assert seid["image"] == NEW_IMAGE
        assert op.fleet is not None
        for i in range(3):
            sidecar = op.fleet.sidecar(namespace, f"wave-{i}")
            assert sidecar is not None
            assert sidecar.pod_uid == pods[f"wave-{i}-0"]["metadata"]["uid"]
            assert await op.sidecar_get(f"wave-{i}", "status") == (200, {"status": "Ready"})
            # The node's task store (kept across its sidecar's restart, like the data PVC)
            # holds the init plan's mark-ready and the rollout's release of the new pod.
            _, tasks = await op.sidecar_get(f"wave-{i}", "tasks")
            marks = [t for t in tasks if t["type"] == "mark-ready" and t["status"] == "completed"]
            plan_mark = next(
                t["id"]
                for t in (await op.node(f"wave-{i}"))["status"]["plan"]["tasks"]
                if t["type"] == "mark-ready"
            )
            assert plan_mark in {t["id"] for t in marks}
            assert len(marks) >= 2
        # F6: not one write of ours was refused with a conflict.
        assert op.metric_sum("rest_client_requests_total", code="409") == 0


async def test_scaling_restarts_no_existing_pod(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    async with run_operator(sidecars="seictl") as op:
        await _create_ready_group(op, kube, "scale")
        uids = {n: p["metadata"]["uid"] for n, p in (await _pods(kube, namespace, "scale")).items()}
        obj = {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {"name": "scale", "namespace": namespace},
        }
        await kube.patch(obj, {"spec": {"replicas": 5}})
        await eventually(lambda: _group(kube, "scale", namespace), _ready_group(5), timeout=180)
        after_up = await _pods(kube, namespace, "scale")
        assert {n: after_up[n]["metadata"]["uid"] for n in uids} == uids
        await kube.patch(obj, {"spec": {"replicas": 2}})
        await eventually(lambda: _group(kube, "scale", namespace), _ready_group(2), timeout=180)
        after_down = await eventually(
            lambda: _pods(kube, namespace, "scale"), lambda pods: len(pods) == 2, timeout=120
        )
        assert {n: p["metadata"]["uid"] for n, p in after_down.items()} == {
            n: uids[n] for n in ("scale-0-0", "scale-1-0")
        }
