"""Every client verb against the real API server, with the server's own errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from controller_runtime.client import (
    AlreadyExistsError,
    Client,
    ConflictError,
    InvalidError,
    NoKindMatchError,
    NotFoundError,
    PatchType,
    Preconditions,
    PropagationPolicy,
    UnsupportedMediaTypeError,
    merge_from,
)
from controller_runtime.envtest import eventually

W_API = "envtest.example.com/v1"


def configmap(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "x"}},
        "data": dict(data),
    }


def widget(name: str, namespace: str, size: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": W_API,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size},
    }


async def test_create_get_list_update_delete(kube: Client, namespace: str) -> None:
    created = await kube.create(configmap("a", namespace, k="1"))
    assert created["metadata"]["uid"]
    for name in ("b", "c", "d"):
        await kube.create(configmap(name, namespace))
    got = await kube.get("v1", "ConfigMap", "a", namespace)
    assert got["data"] == {"k": "1"}

    listed = await kube.list("v1", "ConfigMap", namespace, label_selector="app=x")
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["a", "b", "c", "d"]
    page = await kube.list("v1", "ConfigMap", namespace, label_selector="app=x", limit=3)
    assert len(page["items"]) == 3
    rest = await kube.list(
        "v1", "ConfigMap", namespace, continue_token=page["metadata"]["continue"]
    )
    assert len(rest["items"]) + 3 >= 4

    got["data"]["k"] = "2"
    updated = await kube.update(got)
    assert updated["data"] == {"k": "2"}
    assert updated["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]

    await kube.delete(updated)
    with pytest.raises(NotFoundError):
        await kube.get("v1", "ConfigMap", "a", namespace)


async def test_typed_errors(kube: Client, namespace: str) -> None:
    await kube.create(configmap("dup", namespace))
    with pytest.raises(AlreadyExistsError):
        await kube.create(configmap("dup", namespace))
    with pytest.raises(NotFoundError):
        await kube.get("v1", "ConfigMap", "missing", namespace)
    with pytest.raises(InvalidError) as invalid:
        await kube.create(configmap("Not_A_Valid_Name", namespace))
    assert [c.field for c in invalid.value.causes] == ["metadata.name"]
    assert "RFC 1123" in invalid.value.causes[0].message
    with pytest.raises(NoKindMatchError, match='no matches for kind "Nope"'):
        await kube.get("nothere.example.com/v1", "Nope", "x", namespace)


async def test_stale_update_and_stale_merge_patch_conflict(kube: Client, namespace: str) -> None:
    original = await kube.create(configmap("cm", namespace, k="1"))
    fresh = copy.deepcopy(original)
    fresh["data"]["k"] = "2"
    await kube.update(fresh)

    stale = copy.deepcopy(original)
    stale["data"]["k"] = "3"
    with pytest.raises(ConflictError):
        await kube.update(stale)
    with pytest.raises(ConflictError):
        await kube.patch(original, merge_from(original, stale, optimistic_lock=True))
    # Without the lock the same merge patch wins (last writer).
    patched = await kube.patch(original, merge_from(original, stale))
    assert patched["data"] == {"k": "3"}


async def test_json_and_strategic_merge_patches(
    kube: Client, namespace: str, widget_crd: dict[str, Any]
) -> None:
    cm = await kube.create(configmap("j", namespace, a="1", b="2"))
    ops = [{"op": "replace", "path": "/data/a", "value": "9"}, {"op": "remove", "path": "/data/b"}]
    patched = await kube.patch(cm, ops, PatchType.JSON)
    assert patched["data"] == {"a": "9"}

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {
            "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
            "nodeName": "nowhere",  # never runs; only the spec matters here
        },
    }
    created = await kube.create(pod)
    # Strategic merge merges the containers list by name: only b's image changes.
    patch = {"spec": {"containers": [{"name": "b", "image": "y:2"}]}}
    result = await kube.patch(created, patch, PatchType.STRATEGIC)
    assert [(c["name"], c["image"]) for c in result["spec"]["containers"]] == [
        ("a", "x:1"),
        ("b", "y:2"),
    ]
    # Custom resources do not support strategic merge: the server says so with 415.
    w = await kube.create(widget("w", namespace))
    with pytest.raises(UnsupportedMediaTypeError):
        await kube.patch(w, {"spec": {"size": 2}}, PatchType.STRATEGIC)


async def test_server_side_apply_conflicts_and_force(kube: Client, namespace: str) -> None:
    desired = configmap("ssa", namespace, owned="by-a")
    applied = await kube.apply(desired, field_manager="manager-a")
    assert applied["data"] == {"owned": "by-a"}

    other = configmap("ssa", namespace, owned="by-b")
    with pytest.raises(ConflictError) as conflict:
        await kube.apply(other, field_manager="manager-b")
    assert 'conflict with "manager-a"' in conflict.value.message
    assert conflict.value.details["causes"][0]["field"] == ".data.owned"

    forced = await kube.apply(other, field_manager="manager-b", force=True)
    assert forced["data"] == {"owned": "by-b"}
    managers = {m["manager"] for m in forced["metadata"]["managedFields"]}
    assert "manager-b" in managers
    # Re-applying the same intent is a no-op that keeps the resourceVersion.
    again = await kube.apply(other, field_manager="manager-b", force=True)
    assert again["metadata"]["resourceVersion"] == forced["metadata"]["resourceVersion"]
    with pytest.raises(ValueError, match="field manager"):
        await Client(kube.rest).apply(desired)


async def test_status_subresource(kube: Client, namespace: str, widget_crd: dict[str, Any]) -> None:
    w = await kube.create(widget("s", namespace, size=2))
    w["status"] = {"phase": "Ready", "observed": 2}
    w["spec"]["size"] = 3
    # A status write ignores spec changes; a main write ignores status changes.
    after_status = await kube.status().update(w)
    assert after_status["status"] == {"phase": "Ready", "observed": 2}
    assert after_status["spec"]["size"] == 2
    after_status["status"]["phase"] = "Ignored"
    after_status["spec"]["size"] = 4
    after_main = await kube.update(after_status)
    assert after_main["status"]["phase"] == "Ready"
    assert after_main["spec"]["size"] == 4

    patched = await kube.status().patch(after_main, {"status": {"observed": 4}})
    assert patched["status"] == {"phase": "Ready", "observed": 4}
    applied = await kube.status().apply(
        {**widget("s", namespace), "status": {"phase": "Applied"}},
        field_manager="status-owner",
        force=True,
    )
    assert applied["status"]["phase"] == "Applied"
    assert applied["metadata"]["generation"] == after_main["metadata"]["generation"]


async def test_validation_by_crd_rule(
    kube: Client, namespace: str, widget_crd: dict[str, Any]
) -> None:
    with pytest.raises(InvalidError) as err:
        await kube.create(widget("big", namespace, size=101))
    assert [c.message for c in err.value.causes] == [
        'Invalid value: "object": size must be at most 100'
    ]


async def test_delete_preconditions_and_propagation(kube: Client, namespace: str) -> None:
    owner = await kube.create(configmap("owner", namespace))
    with pytest.raises(ConflictError, match=r"UID in the precondition \(not-the-uid\)"):
        await kube.delete(owner, preconditions=Preconditions(uid="not-the-uid"))
    with pytest.raises(ConflictError, match=r"ResourceVersion in the precondition \(1\)"):
        await kube.delete(owner, preconditions=Preconditions(resource_version="1"))

    dependent = configmap("dep", namespace)
    dependent["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "owner",
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": True,
        }
    ]
    await kube.create(dependent)
    deleting = await kube.delete(
        owner,
        propagation_policy=PropagationPolicy.FOREGROUND,
        preconditions=Preconditions(uid=owner["metadata"]["uid"]),
    )
    # Foreground: the owner stays, marked, until the garbage collector removed its dependents.
    assert deleting is not None
    assert "foregroundDeletion" in deleting["metadata"]["finalizers"]

    async def names() -> set[str]:
        items = (await kube.list("v1", "ConfigMap", namespace))["items"]
        return {i["metadata"]["name"] for i in items}

    await eventually(names, lambda n: not {"owner", "dep"} & n, timeout=60)


async def test_dry_run_persists_nothing(kube: Client, namespace: str) -> None:
    result = await kube.create(configmap("dry", namespace), dry_run=True)
    assert result["metadata"]["name"] == "dry"
    with pytest.raises(NotFoundError):
        await kube.get("v1", "ConfigMap", "dry", namespace)


async def test_new_crd_is_found_after_install(kube: Client, widget_crd: dict[str, Any]) -> None:
    info = await kube.resource(W_API, "Widget")
    assert (info.plural, info.namespaced) == ("widgets", True)
    node = await kube.resource("v1", "Node")
    assert node.namespaced is False
    assert node.path(name="n1") == "/api/v1/nodes/n1"


async def test_request_metrics(
    kube: Client, namespace: str, metrics_registry: CollectorRegistry
) -> None:
    with pytest.raises(NotFoundError):
        await kube.get("v1", "ConfigMap", "nope", namespace)
    await kube.create(configmap("m", namespace))
    host = kube.rest.host_label
    sample = metrics_registry.get_sample_value
    assert sample("rest_client_requests_total", {"code": "404", "method": "GET", "host": host}) == 1
    assert (
        sample("rest_client_requests_total", {"code": "201", "method": "POST", "host": host}) == 1
    )


async def configmap_names(kube: Client, namespace: str) -> set[str]:
    """The test's own ConfigMaps: kube-controller-manager publishes kube-root-ca.crt into a new
    namespace at a moment of its choosing, so only labelled ones are counted."""
    listed = await kube.list("v1", "ConfigMap", namespace, label_selector="tier")
    return {i["metadata"]["name"] for i in listed["items"]}


async def labelled(kube: Client, namespace: str, **names_to_tier: str) -> None:
    for name, tier in names_to_tier.items():
        cm = configmap(name, namespace)
        cm["metadata"]["labels"]["tier"] = tier
        await kube.create(cm)


async def test_delete_all_of_deletes_what_the_selector_matches(
    kube: Client, namespace: str
) -> None:
    await labelled(kube, namespace, a="cache", b="cache", c="db")
    before = await configmap_names(kube, namespace)
    answer = await kube.delete_all_of("v1", "ConfigMap", namespace, label_selector="tier=cache")
    assert answer["kind"] == "ConfigMapList"
    assert {i["metadata"]["name"] for i in answer["items"]} == {"a", "b"}
    assert await configmap_names(kube, namespace) == before - {"a", "b"}


async def test_delete_all_of_in_dry_run_deletes_nothing(kube: Client, namespace: str) -> None:
    await labelled(kube, namespace, a="cache")
    before = await configmap_names(kube, namespace)
    answer = await kube.delete_all_of(
        "v1", "ConfigMap", namespace, label_selector="tier=cache", dry_run=True
    )
    assert [i["metadata"]["name"] for i in answer["items"]] == ["a"]
    assert await configmap_names(kube, namespace) == before


async def test_raw_read_of_the_metrics_text(kube: Client) -> None:
    metrics = await kube.rest.request_raw("GET", "/metrics", accept="text/plain")
    assert "# TYPE apiserver_request_total counter" in metrics.decode()


async def test_raw_read_returns_protobuf_as_sent(kube: Client) -> None:
    proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    openapi = await kube.rest.request_raw("GET", "/openapi/v2", accept=proto)
    assert not openapi.startswith(b"{")
    assert b"io.k8s.api.core.v1.ConfigMap" in openapi


async def test_raw_read_of_the_version(kube: Client) -> None:
    version = json.loads(await kube.rest.request_raw("GET", "/version"))
    assert version["gitVersion"].startswith("v1.34.")
