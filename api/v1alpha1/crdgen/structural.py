"""Offline checks of generated schemas against the Kubernetes structural-schema rules.

The API server is the final judge (integration tests install the CRDs); these checks catch
generator mistakes in unit tests and before any file is written:

* every node is typed (``type``, or the int-or-string / preserve-unknown-fields escapes);
* no ``$ref``, no JSON-Schema keywords the API server rejects or ignores;
* ``properties`` and ``additionalProperties`` are exclusive, ``items`` only on arrays;
* ``required`` names declared properties; list-map keys are required scalar item fields;
* every ``default`` validates against its own node (``instance_errors``).

``instance_errors`` is a small validator for the keyword subset the generator emits (CEL rules
excepted); tests also use it to check manifests against a CRD schema.
"""

from __future__ import annotations

import re
from typing import Any

from .openapi import JSON

__all__ = ["instance_errors", "structural_errors"]

_ALLOWED_KEYWORDS = frozenset(
    {
        "type",
        "format",
        "description",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "default",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "anyOf",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-validations",
    }
)
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]
_SCALAR_TYPES = frozenset({"string", "integer", "boolean", "number"})


def structural_errors(schema: JSON, path: str = "") -> list[str]:
    """Violations of the structural-schema rules under ``schema`` (empty when fine)."""
    errors: list[str] = []
    at = path or "<root>"
    unknown = sorted(set(schema) - _ALLOWED_KEYWORDS)
    if unknown:
        errors.append(f"{at}: unsupported keywords {unknown}")
    kind = schema.get("type")
    if "anyOf" in schema:
        if schema["anyOf"] != _INT_OR_STRING_ANY_OF or not schema.get("x-kubernetes-int-or-string"):
            errors.append(f"{at}: anyOf is only allowed as the int-or-string pattern")
    elif kind is None:
        errors.append(f"{at}: missing type")
    if "properties" in schema and "additionalProperties" in schema:
        errors.append(f"{at}: properties and additionalProperties are exclusive")
    if ("properties" in schema or "additionalProperties" in schema) and kind != "object":
        errors.append(f"{at}: properties on a non-object")
    if ("items" in schema) != (kind == "array"):
        errors.append(f"{at}: arrays need items and only arrays may have them")
    errors += [
        f"{at}: required {name!r} is not a property"
        for name in schema.get("required", ())
        if name not in schema.get("properties", {})
    ]
    for rule in schema.get("x-kubernetes-validations", ()):
        keys = set(rule)
        if not {"rule", "message"} <= keys <= {"rule", "message", "fieldPath"} or not all(
            isinstance(v, str) for v in rule.values()
        ):
            errors.append(f"{at}: validation rules need a rule, a message and maybe a fieldPath")
    errors += _list_map_errors(schema, at)
    if "default" in schema:
        errors += [f"{at}: default: {e}" for e in instance_errors(schema["default"], schema)]
    for name, child in schema.get("properties", {}).items():
        errors += structural_errors(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        errors += structural_errors(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        errors += structural_errors(schema["items"], f"{path}[]")
    return errors


def _list_map_errors(schema: JSON, at: str) -> list[str]:
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys")
    if list_type is None and keys is None:
        return []
    if list_type != "map" or not keys:
        return [f"{at}: list-map keys need x-kubernetes-list-type: map and vice versa"]
    items = schema.get("items", {})
    errors = []
    for key in keys:
        field = items.get("properties", {}).get(key, {})
        if field.get("type") not in _SCALAR_TYPES:
            errors.append(f"{at}: list-map key {key!r} is not a scalar item field")
        if key not in items.get("required", ()) and "default" not in field:
            errors.append(f"{at}: list-map key {key!r} must be required or defaulted")
    return errors


def instance_errors(value: Any, schema: JSON, path: str = "") -> list[str]:
    """Violations of ``schema`` by ``value`` (pruning-free: unknown fields are errors)."""
    at = path or "<root>"
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            return [f"{at}: expected integer or string"]
        return _string_errors(value, schema, at) if isinstance(value, str) else []
    kind = schema.get("type")
    if not _has_type(value, kind):
        return [f"{at}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not in {schema['enum']}")
    if kind == "string":
        errors += _string_errors(value, schema, at)
    elif kind == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{at}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{at}: {value} > maximum {schema['maximum']}")
    elif kind == "array":
        errors += _size_errors(len(value), schema, "Items", at)
        for index, item in enumerate(value):
            errors += instance_errors(item, schema["items"], f"{path}[{index}]")
    elif kind == "object":
        errors += _object_errors(value, schema, path)
    return errors


def _object_errors(value: dict[str, Any], schema: JSON, path: str) -> list[str]:
    at = path or "<root>"
    errors = _size_errors(len(value), schema, "Properties", at)
    errors += [
        f"{at}: missing required {n!r}" for n in schema.get("required", ()) if n not in value
    ]
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return errors
    properties = schema.get("properties")
    values = schema.get("additionalProperties")
    for name, item in value.items():
        child = f"{path}.{name}"
        if properties is not None and name in properties:
            errors += instance_errors(item, properties[name], child)
        elif isinstance(values, dict):
            errors += instance_errors(item, values, child)
        else:
            errors.append(f"{child}: unknown field")
    return errors


def _string_errors(value: str, schema: JSON, at: str) -> list[str]:
    errors = _size_errors(len(value), schema, "Length", at)
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{at}: {value!r} does not match {schema['pattern']!r}")
    return errors


def _size_errors(size: int, schema: JSON, suffix: str, at: str) -> list[str]:
    errors = []
    if f"min{suffix}" in schema and size < schema[f"min{suffix}"]:
        errors.append(f"{at}: size {size} < min{suffix} {schema[f'min{suffix}']}")
    if f"max{suffix}" in schema and size > schema[f"max{suffix}"]:
        errors.append(f"{at}: size {size} > max{suffix} {schema[f'max{suffix}']}")
    return errors


def _has_type(value: Any, kind: str | None) -> bool:
    match kind:
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "array":
            return isinstance(value, list)
        case "object":
            return isinstance(value, dict)
    return False
