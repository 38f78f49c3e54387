"""Navigation helpers over the generated CRD schemas, shared by the generator tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.v1alpha1 import SeiNode, SeiNodeDeployment
from api.v1alpha1.crdgen import build_crd


def schema_of(resource: type[SeiNode] | type[SeiNodeDeployment]) -> dict[str, Any]:
    crd = build_crd(resource)
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """Node at a dotted path; ``[]`` steps into array items, ``*`` into map values."""
    node = schema
    for step in path.split("."):
        if step == "[]":
            node = node["items"]
        elif step == "*":
            node = node["additionalProperties"]
        else:
            node = node["properties"][step]
    return node


def walk(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}" if path else name)
    if "items" in schema:
        yield from walk(schema["items"], f"{path}.[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}.*")


NODE = schema_of(SeiNode)
GROUP = schema_of(SeiNodeDeployment)
