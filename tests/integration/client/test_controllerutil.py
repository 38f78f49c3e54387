"""controllerutil against the real server: create-or-update/patch and owner references."""

from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.client import Client, NotFoundError
from controller_runtime.controller.controllerutil import (
    AlreadyOwnedError,
    OperationResult,
    add_finalizer,
    create_or_patch,
    create_or_update,
    remove_finalizer,
    set_controller_reference,
)
from controller_runtime.envtest import eventually


def secret(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
    }


async def test_create_or_update(kube: Client, namespace: str) -> None:
    def mutate(obj: dict[str, Any]) -> None:
        obj.setdefault("stringData", {})["k"] = "v"
        obj["metadata"].setdefault("labels", {})["app"] = "demo"

    obj, result = await create_or_update(kube, secret("s", namespace), mutate)
    assert result is OperationResult.CREATED
    rv = obj["metadata"]["resourceVersion"]

    def same(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {})["app"] = "demo"

    obj, result = await create_or_update(kube, secret("s", namespace), same)
    assert result is OperationResult.UNCHANGED
    assert obj["metadata"]["resourceVersion"] == rv

    async def relabel(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"]["app"] = "other"

    obj, result = await create_or_update(kube, secret("s", namespace), relabel)
    assert result is OperationResult.UPDATED
    assert (await kube.get("v1", "Secret", "s", namespace))["metadata"]["labels"] == {
        "app": "other"
    }

    def rename(obj: dict[str, Any]) -> None:
        obj["metadata"]["name"] = "elsewhere"

    with pytest.raises(ValueError, match="must not change"):
        await create_or_update(kube, secret("s", namespace), rename)


async def test_create_or_patch_writes_status_separately(
    kube: Client, namespace: str, widget_crd: dict[str, Any]
) -> None:
    base = {
        "apiVersion": "envtest.example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": namespace},
    }

    def spec_only(obj: dict[str, Any]) -> None:
        obj["spec"] = {"size": 2}
        obj["status"] = {"phase": "not-written-on-create"}

    obj, result = await create_or_patch(kube, base, spec_only)
    assert result is OperationResult.CREATED
    assert "status" not in obj

    def status_only(obj: dict[str, Any]) -> None:
        obj["status"] = {"phase": "Ready"}

    obj, result = await create_or_patch(kube, base, status_only)
    assert result is OperationResult.UPDATED_STATUS_ONLY
    assert obj["status"] == {"phase": "Ready"}

    def both(obj: dict[str, Any]) -> None:
        obj["spec"]["size"] = 3
        obj["status"]["observed"] = 3

    obj, result = await create_or_patch(kube, base, both)
    assert result is OperationResult.UPDATED_STATUS
    assert (obj["spec"]["size"], obj["status"]["observed"]) == (3, 3)


async def test_controller_reference_lets_the_gc_delete_dependents(
    kube: Client, namespace: str
) -> None:
    owner = await kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o", "namespace": namespace}}
    )
    other = await kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": namespace}}
    )
    dependent = secret("d", namespace)
    set_controller_reference(owner, dependent)
    set_controller_reference(owner, dependent)  # idempotent upsert
    assert len(dependent["metadata"]["ownerReferences"]) == 1
    with pytest.raises(AlreadyOwnedError):
        set_controller_reference(other, dependent)
    assert add_finalizer(dependent, "example.com/hold")
    assert not add_finalizer(dependent, "example.com/hold")
    created = await kube.create(dependent)

    await kube.delete(owner)
    # The finalizer holds the dependent in Terminating until it is removed.
    held = await eventually(
        lambda: kube.get("v1", "Secret", "d", namespace),
        lambda o: "deletionTimestamp" in o["metadata"],
        timeout=60,
    )
    assert remove_finalizer(held, "example.com/hold")
    await kube.update(held)

    async def gone() -> bool:
        try:
            await kube.get("v1", "Secret", "d", namespace)
        except NotFoundError:
            return True
        return False

    await eventually(gone, timeout=60, message="dependent collected")
    assert created["metadata"]["ownerReferences"][0]["controller"] is True
