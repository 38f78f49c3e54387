"""Label keys and label sets of a SeiNode's child objects (spec 5.2-5.4, 12.3)."""

from __future__ import annotations

from typing import Final

from api.v1alpha1 import SeiNode

from .node import node_name

__all__ = [
    "BOOTSTRAP_COMPONENT",
    "COMPONENT_LABEL",
    "NODE_LABEL",
    "bootstrap_labels",
    "resource_labels",
    "selector_labels",
]

NODE_LABEL: Final = "sei.io/node"
COMPONENT_LABEL: Final = "sei.io/component"
BOOTSTRAP_COMPONENT: Final = "bootstrap"


def resource_labels(node: SeiNode) -> dict[str, str]:
    """``spec.podLabels`` plus ``sei.io/node=<name>``; the system label wins over a user one.

    On the StatefulSet, its pod template, the data PVC and the headless Service.
    """
    labels = dict(node.spec.pod_labels or {})
    labels[NODE_LABEL] = node_name(node)
    return labels


def selector_labels(node: SeiNode) -> dict[str, str]:
    """Only ``sei.io/node``: the StatefulSet selector is immutable, pod labels are not."""
    return {NODE_LABEL: node_name(node)}


def bootstrap_labels(node: SeiNode) -> dict[str, str]:
    """Labels (and selector) of the bootstrap Job, its pod and its Service; no podLabels."""
    return {NODE_LABEL: node_name(node), COMPONENT_LABEL: BOOTSTRAP_COMPONENT}
