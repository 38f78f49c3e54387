"""Cached objects carry apiVersion and kind, however the informer loaded them.

Against the cluster without WatchList the state comes from a plain list, whose items the
server sends without apiVersion/kind; the reflector fills them in from the list's kind.
"""

from __future__ import annotations

from typing import Any

from controller_runtime.cache import Cache
from controller_runtime.client import Client
from controller_runtime.controller.controllerutil import set_controller_reference
from controller_runtime.envtest import ControlPlane


def configmap(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
    }


def serves_watch_list(cluster: ControlPlane) -> bool:
    return cluster.options.apiserver_feature_gates.get("WatchList", True)


async def test_objects_present_at_start_are_cached_with_api_version_and_kind(
    cluster: ControlPlane, kube: Client, namespace: str
) -> None:
    await kube.create(configmap("before-start", namespace))
    cache = Cache(kube)
    await cache.start()
    try:
        cached = await cache.get("v1", "ConfigMap", "before-start", namespace)
        informer = await cache.get_informer("v1", "ConfigMap")
        # Loaded the way the server supports: a streaming list, or else a plain list.
        assert informer.reflector.stats.watch_lists == int(serves_watch_list(cluster))
        assert (cached["apiVersion"], cached["kind"]) == ("v1", "ConfigMap")
        listed = await cache.list("v1", "ConfigMap", namespace)
        assert {(o["apiVersion"], o["kind"]) for o in listed["items"]} == {("v1", "ConfigMap")}
    finally:
        await cache.stop()


async def test_an_object_present_at_start_can_own_another_from_the_cache(
    kube: Client, namespace: str
) -> None:
    owner = await kube.create(configmap("owner", namespace))
    cache = Cache(kube)
    await cache.start()
    try:
        cached_owner = await cache.get("v1", "ConfigMap", "owner", namespace)
        dependent = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "owned", "namespace": namespace},
        }
        set_controller_reference(cached_owner, dependent)
        created = await kube.create(dependent)
        ref = created["metadata"]["ownerReferences"][0]
        assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("v1", "ConfigMap", "owner")
        assert (ref["uid"], ref["controller"]) == (owner["metadata"]["uid"], True)
    finally:
        await cache.stop()
