"""Label peer sources (spec 12.5): SeiNodes matching a selector become DNS peers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.v1alpha1 import SeiNode


def label_sources(node: SeiNode) -> list[tuple[dict[str, str], str]]:
    """(selector, namespace) of every ``label`` peer source, namespace defaulted to the node's."""
    own_namespace = node.metadata.namespace or ""
    return [
        (dict(peer.label.selector), peer.label.namespace or own_namespace)
        for peer in node.spec.peers or ()
        if peer.label is not None
    ]


def peer_address(name: str, namespace: str) -> str:
    """The stable pod DNS name of a SeiNode's pod (StatefulSet ordinal 0, headless Service)."""
    return f"{name}-0.{name}.{namespace}.svc.cluster.local"


def resolve_peers(node: SeiNode, matches: Iterable[Mapping[str, Any]]) -> list[str]:
    """Sorted, de-duplicated peer addresses of the matching SeiNodes, the node itself excluded
    (same name AND namespace: a namesake elsewhere is a peer)."""
    own = (node.metadata.name, node.metadata.namespace)
    addresses = set()
    for match in matches:
        meta = match.get("metadata") or {}
        name, namespace = meta.get("name", ""), meta.get("namespace", "")
        if (name, namespace) != own:
            addresses.add(peer_address(name, namespace))
    return sorted(addresses)
