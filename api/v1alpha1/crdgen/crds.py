"""CustomResourceDefinition documents for the kinds of sei.io/v1alpha1."""

from __future__ import annotations

from ..markers import PrinterColumn
from ..meta import GROUP, VERSION, Resource
from ..seinode_types import SeiNode
from ..seinodedeployment_types import SeiNodeDeployment
from .openapi import JSON, model_schema

__all__ = ["KINDS", "build_crd", "crd_file_name"]

# Generated kinds, in the order they are listed in kustomization.yaml.
KINDS: tuple[type[Resource], ...] = (SeiNode, SeiNodeDeployment)

# The API server owns these three; a CRD may not constrain metadata beyond name/generateName.
_ROOT_OVERRIDES: dict[str, JSON] = {
    "apiVersion": {
        "description": "Versioned schema of this representation of the object.",
        "type": "string",
    },
    "kind": {
        "description": "REST resource this object represents.",
        "type": "string",
    },
    "metadata": {"type": "object"},
}


def _kind_of(resource: type[Resource]) -> str:
    return str(resource.model_fields["kind"].default)


def crd_file_name(resource: type[Resource]) -> str:
    return f"{GROUP}_{resource.crd_names.plural}.yaml"


def build_crd(resource: type[Resource]) -> JSON:
    """The apiextensions.k8s.io/v1 CRD of a top-level kind (namespaced, status subresource)."""
    names = resource.crd_names
    crd_names: JSON = {
        "kind": _kind_of(resource),
        "listKind": names.list_kind,
        "plural": names.plural,
        "singular": names.singular,
    }
    if names.short_names:
        crd_names["shortNames"] = list(names.short_names)
    if names.categories:
        crd_names["categories"] = list(names.categories)
    version: JSON = {
        "name": VERSION,
        "schema": {"openAPIV3Schema": model_schema(resource, overrides=_ROOT_OVERRIDES)},
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
    }
    if names.printer_columns:
        version["additionalPrinterColumns"] = [
            _printer_column(column) for column in names.printer_columns
        ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": crd_names,
            "scope": "Namespaced",
            "versions": [version],
        },
    }


def _printer_column(column: PrinterColumn) -> JSON:
    rendered: JSON = {"jsonPath": column.json_path, "name": column.name, "type": column.type}
    if column.priority:
        rendered["priority"] = column.priority
    if column.description:
        rendered["description"] = column.description
    return rendered
