"""The local control plane behaves like a real cluster: StatefulSets run, roll and scale on fake
kubelets, garbage collection follows ownerReferences, CRDs install and validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from controller_runtime.envtest import ControlPlane, eventually

TESTDATA = Path(__file__).parent / "testdata"


def statefulset(name: str, image: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "podManagementPolicy": "Parallel",
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


def converged(replicas: int) -> Any:
    def check(sts: client.V1StatefulSet) -> bool:
        s = sts.status
        return bool(
            s.observed_generation == sts.metadata.generation
            and (s.ready_replicas or 0) == replicas
            and (s.updated_replicas or 0) == replicas
            and s.replicas == replicas
            and s.current_revision == s.update_revision
        )

    return check


async def pods_of(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    pods = await core.list_namespaced_pod(namespace, label_selector=f"app={app}")
    return list(pods.items)


async def test_statefulset_lifecycle(api_client: client.ApiClient, namespace: str) -> None:
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    body: Any = statefulset("web", "nginx:1.27", 3)  # the client accepts plain JSON objects
    await apps.create_namespaced_stateful_set(namespace, body)

    async def read() -> client.V1StatefulSet:
        return await apps.read_namespaced_stateful_set("web", namespace)

    # (a) 3 replicas become Ready, on one revision, with their volumes provisioned and bound.
    first = await eventually(read, converged(3), timeout=90, message="3 ready replicas")
    pods = await pods_of(core, namespace, "web")
    assert sorted(p.metadata.name for p in pods) == ["web-0", "web-1", "web-2"]
    assert all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    claims = await core.list_namespaced_persistent_volume_claim(namespace)
    assert sorted((c.metadata.name, c.status.phase) for c in claims.items) == [
        ("data-web-0", "Bound"),
        ("data-web-1", "Bound"),
        ("data-web-2", "Bound"),
    ]

    # (b) a new image rolls every pod to a new revision and converges again.
    await apps.patch_namespaced_stateful_set(
        "web",
        namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
    )
    rolled = await eventually(
        read,
        lambda s: converged(3)(s) and s.status.update_revision != first.status.update_revision,
        timeout=120,
        message="rollout to the new revision",
    )
    pods = await pods_of(core, namespace, "web")
    assert {p.metadata.labels["controller-revision-hash"] for p in pods} == {
        rolled.status.update_revision
    }
    assert {p.spec.containers[0].image for p in pods} == {"nginx:1.28"}

    # (c) scaling to 1 removes the other pods.
    await apps.patch_namespaced_stateful_set("web", namespace, {"spec": {"replicas": 1}})
    await eventually(read, converged(1), timeout=90, message="scaled to 1")
    remaining = await eventually(
        lambda: pods_of(core, namespace, "web"),
        lambda ps: len(ps) == 1,
        timeout=60,
        message="pods removed",
    )
    assert remaining[0].metadata.name == "web-0"


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
async def test_garbage_collection_of_dependents(
    api_client: client.ApiClient, namespace: str, propagation: str
) -> None:
    core = client.CoreV1Api(api_client)
    owner_body: Any = {"metadata": {"name": "owner"}, "data": {"k": "v"}}
    owner = await core.create_namespaced_config_map(namespace, owner_body)
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for i in range(3):
        dependent: Any = {"metadata": {"name": f"dependent-{i}", "ownerReferences": [ref]}}
        await core.create_namespaced_secret(namespace, dependent)
    unowned: Any = {"metadata": {"name": "unowned"}, "data": {}}
    await core.create_namespaced_secret(namespace, unowned)

    await core.delete_namespaced_config_map(
        "owner", namespace, body=client.V1DeleteOptions(propagation_policy=propagation)
    )

    async def secret_names() -> set[str]:
        secrets = await core.list_namespaced_secret(namespace)
        return {s.metadata.name for s in secrets.items}

    await eventually(
        secret_names, lambda names: names == {"unowned"}, timeout=60, message="dependents deleted"
    )


async def test_crd_from_directory_validates_objects(
    control_plane: ControlPlane, api_client: client.ApiClient, namespace: str
) -> None:
    installed = await control_plane.install_crds([TESTDATA / "crds"])
    assert [c["metadata"]["name"] for c in installed] == ["widgets.envtest.example.com"]
    conditions = {c["type"]: c["status"] for c in installed[0]["status"]["conditions"]}
    assert conditions["Established"] == "True"

    custom = client.CustomObjectsApi(api_client)
    group, version, plural = "envtest.example.com", "v1", "widgets"
    good = {
        "apiVersion": f"{group}/{version}",
        "kind": "Widget",
        "metadata": {"name": "good"},
        "spec": {"size": 3},
    }
    created = await custom.create_namespaced_custom_object(group, version, namespace, plural, good)
    assert created["spec"] == {"size": 3, "color": "blue"}  # the schema default applied

    bad = {**good, "metadata": {"name": "bad"}, "spec": {"size": 0, "color": "purple"}}
    with pytest.raises(ApiException) as err:
        await custom.create_namespaced_custom_object(group, version, namespace, plural, bad)
    assert err.value.status == 422
    status = json.loads(err.value.body or b"{}")
    assert status["reason"] == "Invalid"
    causes = {c["field"]: c["message"] for c in status["details"]["causes"]}
    expected = "Invalid value: 0: spec.size in body should be greater than or equal to 1"
    assert causes["spec.size"] == expected
    assert causes["spec.color"].startswith('Unsupported value: "purple": supported values:')
