"""``templateHash``: the fingerprint of the rollout-relevant template fields (spec section 4.3)."""

from __future__ import annotations

import hashlib

from .seinode_types import SeiNodeSpec

__all__ = ["TEMPLATE_HASH_LENGTH", "template_hash"]

TEMPLATE_HASH_LENGTH = 16


def template_hash(spec: SeiNodeSpec) -> str:
    """First 16 lowercase hex chars of SHA-256 over the separator-less concatenation of
    chainId, image, entrypoint command and args (if entrypoint is set), and the sidecar image
    (if sidecar is set; an unset image counts as empty).

    Reproduced exactly, ambiguities included: ``["ab"]`` and ``["a", "b"]`` collide, and
    ``sidecar: null`` equals ``sidecar: {image: ""}``. Every other field (replicas, overrides,
    peers, podLabels, sidecar port/resources, mode sub-specs, metadata) is deliberately absent.
    """
    parts = [spec.chain_id, spec.image]
    if spec.entrypoint is not None:
        parts.extend(spec.entrypoint.command)
        parts.extend(spec.entrypoint.args or ())
    if spec.sidecar is not None:
        parts.append(spec.sidecar.image or "")
    digest = hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()
    return digest[:TEMPLATE_HASH_LENGTH]
