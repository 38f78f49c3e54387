"""Label peer resolution (spec 12.5; ports of the pure parts of TestReconcilePeers_*)."""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import SeiNode
from controllers.seinode.peers import label_sources, resolve_peers


def _node(name: str = "me", namespace: str = "default", peers: Any = None) -> SeiNode:
    spec: dict[str, Any] = {"chainId": "c", "image": "i", "fullNode": {}}
    if peers is not None:
        spec["peers"] = peers
    return SeiNode.from_dict({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def _obj(name: str, namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}}


def test_resolves_label_source_sorted() -> None:
    got = resolve_peers(_node(), [_obj("peer-2"), _obj("peer-1")])
    assert got == [
        "peer-1-0.peer-1.default.svc.cluster.local",
        "peer-2-0.peer-2.default.svc.cluster.local",
    ]


def test_excludes_self() -> None:
    assert resolve_peers(_node("me"), [_obj("me"), _obj("peer-1")]) == [
        "peer-1-0.peer-1.default.svc.cluster.local"
    ]


def test_cross_namespace_does_not_exclude_matching_name() -> None:
    assert resolve_peers(_node("me", "a"), [_obj("me", "b")]) == ["me-0.me.b.svc.cluster.local"]


def test_deduplicates_overlapping_sources() -> None:
    assert resolve_peers(_node(), [_obj("p"), _obj("p")]) == ["p-0.p.default.svc.cluster.local"]


def test_label_source_namespace_defaults_to_the_nodes() -> None:
    node = _node(
        namespace="sei",
        peers=[{"label": {"selector": {"role": "rpc"}}}, {"static": {"addresses": ["a@b:1"]}}],
    )
    assert label_sources(node) == [({"role": "rpc"}, "sei")]


def test_label_source_namespace_is_kept_when_set() -> None:
    node = _node(peers=[{"label": {"selector": {"role": "rpc"}, "namespace": "other"}}])
    assert label_sources(node) == [({"role": "rpc"}, "other")]
