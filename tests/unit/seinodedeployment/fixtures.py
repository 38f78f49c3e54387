"""The spec's group fixture (11: `archive-rpc` in `sei`, 3 replicas) and child helpers."""

from __future__ import annotations

import copy
from typing import Any

from api.v1alpha1 import SeiNodeDeployment

GROUP_UID = "9d3c8f0e-0000-4000-8000-000000000001"
OLD_HASH = "oldhash1234"

_GROUP: dict[str, Any] = {
    "apiVersion": "sei.io/v1alpha1",
    "kind": "SeiNodeDeployment",
    "metadata": {"name": "archive-rpc", "namespace": "sei", "uid": GROUP_UID, "generation": 1},
    "spec": {
        "replicas": 3,
        "updateStrategy": {"type": "InPlace"},
        "template": {
            "spec": {
                "chainId": "pacific-1",
                "image": "ghcr.io/sei-protocol/seid:v1.0.0",
                "fullNode": {"snapshot": {"s3": {"targetHeight": 100000}}},
                "sidecar": {"port": 7777},
            }
        },
    },
}


def group(**changes: Any) -> SeiNodeDeployment:
    obj = copy.deepcopy(_GROUP)
    for path, value in changes.items():
        target = obj
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return SeiNodeDeployment.from_dict(obj)


def child(
    name: str,
    ordinal: int | None = None,
    revision: str | None = "1",
    phase: str | None = "Running",
    owner_uid: str = GROUP_UID,
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"sei.io/nodedeployment": "archive-rpc", **labels}
    if ordinal is not None:
        all_labels["sei.io/nodedeployment-ordinal"] = str(ordinal)
    if revision is not None:
        all_labels["sei.io/revision"] = revision
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {
            "name": name,
            "namespace": "sei",
            "labels": all_labels,
            "ownerReferences": [
                {
                    "kind": "SeiNodeDeployment",
                    "name": "archive-rpc",
                    "uid": owner_uid,
                    "controller": True,
                }
            ],
        },
        "spec": {"chainId": "pacific-1", "image": "ghcr.io/sei-protocol/seid:v1.0.0"},
        "status": {"phase": phase} if phase else {},
    }
