"""Pod-level pieces shared by the node StatefulSet and the bootstrap Job (5.3, 12.3)."""

from __future__ import annotations

from typing import Any, Final

from api.v1alpha1 import SeiNode

from ..platform import Platform
from .node import DATA_VOLUME, data_pvc_name, node_namespace, owner_reference

__all__ = [
    "DO_NOT_DISRUPT_ANNOTATION",
    "NODEPOOL_AFFINITY_KEY",
    "child_metadata",
    "data_volumes",
    "do_not_disrupt",
    "node_affinity",
    "node_tolerations",
]

DO_NOT_DISRUPT_ANNOTATION: Final = "karpenter.sh/do-not-disrupt"
NODEPOOL_AFFINITY_KEY: Final = "karpenter.sh/nodepool"


def child_metadata(node: SeiNode, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """Metadata of a child object: the node's namespace and its controller reference."""
    return {
        "name": name,
        "namespace": node_namespace(node),
        "labels": labels,
        "ownerReferences": [owner_reference(node)],
    }


def do_not_disrupt() -> dict[str, str]:
    """Pod annotation: Karpenter must not consolidate a node away under a running seid."""
    return {DO_NOT_DISRUPT_ANNOTATION: "true"}


def node_tolerations(platform: Platform) -> list[dict[str, Any]]:
    return [
        {"key": platform.toleration_key, "value": platform.toleration_value, "effect": "NoSchedule"}
    ]


def node_affinity(platform: Platform) -> dict[str, Any]:
    """Required scheduling onto the platform's Karpenter node pool."""
    expression = {
        "key": NODEPOOL_AFFINITY_KEY,
        "operator": "In",
        "values": [platform.nodepool_name],
    }
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }


def data_volumes(node: SeiNode) -> list[dict[str, Any]]:
    return [{"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": data_pvc_name(node)}}]
