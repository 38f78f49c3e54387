"""Kubernetes core/v1 types embedded in our specs."""

from __future__ import annotations

from typing import Annotated

from .base import SeiModel
from .markers import ListMapKeys
from .scalars import Quantity

__all__ = ["ResourceClaim", "ResourceRequirements"]


class ResourceClaim(SeiModel):
    """core/v1 ResourceClaim: one entry of ``resources.claims``."""

    name: str
    request: str | None = None


class ResourceRequirements(SeiModel):
    """core/v1 ResourceRequirements (compute requests/limits of a container)."""

    claims: Annotated[list[ResourceClaim], ListMapKeys(("name",))] | None = None
    limits: dict[str, Quantity] | None = None
    requests: dict[str, Quantity] | None = None
