"""Taking over from the reference operator (issue 11 acceptance): a group, its SeiNodes and their
StatefulSets and Services exactly as the reference wrote them (reference-goldens/snd-rpc-group,
server-side applied as `seinode-controller`) keep their pods when our operator starts."""

from __future__ import annotations

import json
from typing import Any

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from ...fixtures.goldens import GOLDENS_DIR, load
from ...fixtures.managed_fields import applied_by, field_set
from .conftest import OperatorFactory
from .test_group_inplace import _group, _pods, _ready_group

SCENARIO = GOLDENS_DIR / "snd-rpc-group"
GROUP = "pacific-1-rpc"
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def _as_written(obj: dict[str, Any], namespace: str, uids: dict[str, str]) -> dict[str, Any]:
    """The object in our namespace, owner uids swapped, server-set metadata and status gone."""
    text = json.dumps(obj)
    for old, new in uids.items():
        text = text.replace(old, new)
    out: dict[str, Any] = dict(json.loads(text))
    for key in SERVER_FIELDS:
        out["metadata"].pop(key, None)
    out["metadata"]["namespace"] = namespace
    out.pop("status", None)
    return out


def _completed_plan(plan: dict[str, Any]) -> dict[str, Any]:
    done: dict[str, Any] = dict(json.loads(json.dumps(plan)))
    done["phase"] = "Complete"
    for task in done["tasks"]:
        task["status"] = "Complete"
    return done


async def _write_as_the_reference(kube: Client, namespace: str) -> dict[str, str]:
    """Creates what the reference left behind after its nodes reached Running."""
    group = load(SCENARIO / f"seinodedeployments-{GROUP}.yaml")
    created = await kube.create(_as_written(group, namespace, {}))
    stored_group_status = group["status"]
    await kube.status().patch(created, {"status": stored_group_status})
    uids = {group["metadata"]["uid"]: created["metadata"]["uid"]}
    for i in range(3):
        node = load(SCENARIO / f"seinodes-{GROUP}-{i}.yaml")
        made = await kube.create(_as_written(node, namespace, uids))
        uids[node["metadata"]["uid"]] = made["metadata"]["uid"]
        status = {
            "phase": "Running",
            "currentImage": node["spec"]["image"],
            "plan": _completed_plan(node["status"]["plan"]),
        }
        await kube.status().patch(made, {"status": status})
    for i in range(3):
        for kind in ("statefulsets", "services"):
            obj = load(SCENARIO / f"{kind}-{GROUP}-{i}.yaml")
            body = applied_by(obj, field_set(obj, "seinode-controller", "Apply"))
            await kube.apply(
                _as_written(body, namespace, uids), field_manager="seinode-controller", force=True
            )
        pvc = load(SCENARIO / f"persistentvolumeclaims-data-{GROUP}-{i}.yaml")
        pvc_body = _as_written(pvc, namespace, uids)
        pvc_body["spec"].pop("volumeName", None)
        pvc_body["metadata"].pop("annotations", None)
        await kube.create(pvc_body, field_manager="manager")
    return uids


async def test_takeover_restarts_no_pod(
    run_operator: OperatorFactory, kube: Client, namespace: str
) -> None:
    await _write_as_the_reference(kube, namespace)
    pods = await eventually(
        lambda: _pods(kube, namespace, GROUP),
        lambda ps: (
            len(ps) == 3
            and all((p.get("status") or {}).get("phase") == "Running" for p in ps.values())
        ),
        timeout=120,
    )
    generations = {
        i: (await kube.get("apps/v1", "StatefulSet", f"{GROUP}-{i}", namespace))["metadata"][
            "generation"
        ]
        for i in range(3)
    }
    async with run_operator(sidecars="seictl") as op:
        await eventually(lambda: _group(kube, GROUP, namespace), _ready_group(3), timeout=120)
        assert op.fleet is not None
        fleet = op.fleet

        async def released() -> int:
            ready = 0
            for i in range(3):
                sidecar = fleet.sidecar(namespace, f"{GROUP}-{i}")
                if sidecar is not None and await _sidecar_ready(sidecar.url):
                    ready += 1
            return ready

        # The operator has acted on every node: it released each sidecar (F2).
        await eventually(released, lambda n: n == 3, timeout=120)
        after = await _pods(kube, namespace, GROUP)
        assert {n: p["metadata"]["uid"] for n, p in after.items()} == {
            n: p["metadata"]["uid"] for n, p in pods.items()
        }
        for i in range(3):
            sts = await kube.get("apps/v1", "StatefulSet", f"{GROUP}-{i}", namespace)
            assert sts["metadata"]["generation"] == generations[i]
        nodes = await kube.list("sei.io/v1alpha1", "SeiNode", namespace)
        assert sorted(n["metadata"]["labels"]["sei.io/revision"] for n in nodes["items"]) == [
            "1",
            "1",
            "1",
        ]


async def _sidecar_ready(url: str) -> bool:
    import aiohttp

    try:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/v0/status") as resp:
            body = await resp.json()
    except (aiohttp.ClientError, ValueError):
        return False
    return bool(body.get("status") == "Ready")
