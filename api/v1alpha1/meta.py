"""Object metadata and the base of the two top-level kinds."""

from __future__ import annotations

from typing import ClassVar, Final, Self

from pydantic import Field, model_validator

from .base import SeiModel
from .markers import CrdNames
from .scalars import Int64, Time

__all__ = ["API_VERSION", "GROUP", "VERSION", "ObjectMeta", "OwnerReference", "Resource"]

GROUP: Final = "sei.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "sei.io/v1alpha1"


class OwnerReference(SeiModel):
    """metav1.OwnerReference (fields we use; anything else is preserved)."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(SeiModel):
    """metav1.ObjectMeta. Fields not declared here (e.g. ``managedFields``) are preserved.

    The CRD schema of ``metadata`` is owned by the API server; the generator emits only
    ``type: object`` for it.
    """

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: Int64 | None = None
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
    deletion_grace_period_seconds: Int64 | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None
    owner_references: list[OwnerReference] | None = None


class Resource(SeiModel):
    """A top-level object: apiVersion, kind, metadata (subclasses add spec and status).

    ``apiVersion`` and ``kind`` are always emitted by :meth:`to_dict`, also on objects built in
    code, because every write (create, update, server-side apply) needs them.
    """

    # CRD names and printer columns of the kind; every concrete kind sets it.
    crd_names: ClassVar[CrdNames]

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    @model_validator(mode="after")
    def _always_emit_type_meta(self) -> Self:
        self.__pydantic_fields_set__.update(("api_version", "kind"))
        return self
