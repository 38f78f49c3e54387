"""Facts about a SeiNode that every rendered child object shares (spec 1.3, 5.1-5.3, 12.3)."""

from __future__ import annotations

from typing import Any, Final, Literal

from api.v1alpha1 import API_VERSION, DEFAULT_SIDECAR_PORT, S3SnapshotSource, SeiNode

__all__ = [
    "DATA_DIR",
    "DATA_VOLUME",
    "DEFAULT_SIDECAR_IMAGE",
    "DEFAULT_SIDECAR_PORT",
    "NODE_PORTS",
    "NodeMode",
    "RenderError",
    "data_pvc_name",
    "needs_bootstrap",
    "node_mode",
    "node_name",
    "node_namespace",
    "owner_reference",
    "ports_for_mode",
    "s3_snapshot",
    "sidecar_image",
    "sidecar_port",
]

DATA_DIR: Final = "/sei"
DATA_VOLUME: Final = "data"
DEFAULT_SIDECAR_IMAGE: Final = (
    "ghcr.io/sei-protocol/seictl@sha256:"
    "2cb320dd583000765520293d4e28ecc79fed4432c76760923d3aaa47803a4dbf"
)

# sei-config v0.0.11 ports; this order is the order of every generated port list.
NODE_PORTS: Final[tuple[tuple[str, int], ...]] = (
    ("evm-rpc", 8545),
    ("evm-ws", 8546),
    ("grpc", 9090),
    ("rest", 1317),
    ("p2p", 26656),
    ("rpc", 26657),
    ("metrics", 26660),
)
_VALIDATOR_PORTS: Final = frozenset({"p2p", "metrics"})

NodeMode = Literal["full", "archive", "validator"]


class RenderError(ValueError):
    """The SeiNode lacks something the requested object needs."""


def node_name(node: SeiNode) -> str:
    if not node.metadata.name:
        raise RenderError("a SeiNode without metadata.name cannot be rendered")
    return node.metadata.name


def node_namespace(node: SeiNode) -> str:
    if not node.metadata.namespace:
        raise RenderError(f"SeiNode {node.metadata.name} has no metadata.namespace")
    return node.metadata.namespace


def node_mode(node: SeiNode) -> NodeMode:
    """sei-config mode of the node; a replayer is sized and configured as ``full``."""
    spec = node.spec
    if spec.archive is not None:
        return "archive"
    if spec.validator is not None:
        return "validator"
    return "full"  # fullNode or replayer (the API guarantees exactly one mode)


def ports_for_mode(mode: NodeMode) -> tuple[tuple[str, int], ...]:
    """Ports a group exposes for its mode: a validator only p2p and metrics."""
    if mode == "validator":
        return tuple(port for port in NODE_PORTS if port[0] in _VALIDATOR_PORTS)
    return NODE_PORTS


def sidecar_image(node: SeiNode) -> str:
    """``spec.sidecar.image``, or the default image when unset or empty."""
    sidecar = node.spec.sidecar
    return (sidecar.image if sidecar is not None else None) or DEFAULT_SIDECAR_IMAGE


def sidecar_port(node: SeiNode) -> int:
    """``spec.sidecar.port``, or 7777 when unset or 0."""
    sidecar = node.spec.sidecar
    return (sidecar.port if sidecar is not None else 0) or DEFAULT_SIDECAR_PORT


def data_pvc_name(node: SeiNode) -> str:
    return f"data-{node_name(node)}"


def owner_reference(node: SeiNode) -> dict[str, Any]:
    """The controller reference every child carries (garbage collection, Owns watches)."""
    if not node.metadata.uid:
        raise RenderError(f"SeiNode {node_name(node)} has no metadata.uid (not read from the API)")
    return {
        "apiVersion": API_VERSION,
        "kind": "SeiNode",
        "name": node_name(node),
        "uid": node.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def s3_snapshot(node: SeiNode) -> S3SnapshotSource | None:
    source = node.spec.snapshot_source()
    return source.s3 if source is not None else None


def needs_bootstrap(node: SeiNode) -> bool:
    """A bootstrap Job prepares the volume: bootstrapImage set and an S3 height > 0 (12.3).

    Archive nodes have no snapshot source and never bootstrap.
    """
    source = node.spec.snapshot_source()
    return (
        source is not None
        and bool(source.bootstrap_image)
        and source.s3 is not None
        and source.s3.target_height > 0
    )
