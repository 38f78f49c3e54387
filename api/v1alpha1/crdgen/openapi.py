"""Structural OpenAPI v3 schemas from the pydantic models, by walking their fields.

Pydantic's ``model_json_schema()`` is not structural (``$ref``, ``anyOf`` with ``null``, null
defaults, ``title``), so the walk is ours. Every schema node gets a ``type`` (or
``x-kubernetes-int-or-string`` / ``x-kubernetes-preserve-unknown-fields``), nested models are
inlined, and an Optional field simply becomes a property absent from ``required``.

The walk fails loudly on any type or metadata it does not understand, so a model change can
never silently drop a constraint from the CRD.
"""

from __future__ import annotations

import inspect
import re
import types
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..base import SeiModel
from ..markers import (
    CelRule,
    CrdRequired,
    Format,
    IntOrString,
    ListMapKeys,
    PreserveUnknownFields,
)

__all__ = ["JSON", "field_schema", "model_schema"]

JSON = dict[str, Any]

# Pydantic validators/serializers in Annotated metadata carry no schema information.
_RUNTIME_ONLY_METADATA = ("BeforeValidator", "AfterValidator", "PlainSerializer")

_LENGTH_KEYWORDS = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}


def model_schema(model: type[SeiModel], overrides: dict[str, JSON] | None = None) -> JSON:
    """Schema of an object type: its properties, required list and CEL rules.

    ``overrides`` maps JSON property names to schemas used verbatim (for the API server owned
    ``apiVersion``, ``kind`` and ``metadata`` of top-level kinds).
    """
    properties: JSON = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if overrides and key in overrides:
            properties[key] = overrides[key]
            continue
        schema, crd_required = field_schema(info)
        properties[key] = schema
        if info.is_required() or crd_required:
            required.append(key)
    schema = {"type": "object"}
    description = _docstring(model)
    if description:
        schema["description"] = description
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = sorted(required)
    if model.cel_rules:
        schema["x-kubernetes-validations"] = [_validation(rule) for rule in model.cel_rules]
    return schema


def _validation(rule: CelRule) -> JSON:
    entry: JSON = {"message": rule.message, "rule": rule.rule}
    if rule.field_path is not None:
        entry["fieldPath"] = rule.field_path
    return entry


def field_schema(info: FieldInfo) -> tuple[JSON, bool]:
    """Schema of one field and whether the CRD lists it as required beyond Python's view."""
    collector = _Collector()
    schema = collector.annotation(info.annotation, list(info.metadata))
    if info.description:
        schema["description"] = info.description
    if info.default is not PydanticUndefined and info.default is not None:
        schema["default"] = _json_value(info.default)
    return schema, collector.crd_required


class _Collector:
    """Builds the schema of one field; remembers field-level markers on the way."""

    def __init__(self) -> None:
        self.crd_required = False

    def annotation(self, annotation: Any, metadata: list[Any]) -> JSON:
        """Schema of ``annotation`` with ``metadata`` (outermost first) applied to it."""
        origin = get_origin(annotation)
        if origin is Annotated:
            inner, *extra = get_args(annotation)
            return self.annotation(inner, [*extra, *metadata])
        if origin in (Union, types.UnionType):
            arms = [arm for arm in get_args(annotation) if arm is not type(None)]
            if len(arms) == 1:
                return self.annotation(arms[0], metadata)
            return self._int_or_string(arms, metadata)
        schema = self._base(annotation, metadata)
        self._apply(schema, metadata)
        return schema

    def _int_or_string(self, arms: list[Any], metadata: list[Any]) -> JSON:
        if set(arms) != {int, str}:
            raise TypeError(f"unsupported union {arms!r}: only int | str can be structural")
        if not any(isinstance(m, IntOrString) for m in metadata):
            raise TypeError("int | str needs the IntOrString() marker")
        schema: JSON = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
        self._apply(schema, metadata)
        return schema

    def _base(self, annotation: Any, metadata: list[Any]) -> JSON:
        origin = get_origin(annotation)
        if origin is list:
            (item,) = get_args(annotation)
            return {"type": "array", "items": self._nested(item)}
        if origin is dict:
            key, value = get_args(annotation)
            if key is not str:
                raise TypeError(f"map keys must be str, not {key!r}")
            if value is Any:
                if not any(isinstance(m, PreserveUnknownFields) for m in metadata):
                    raise TypeError("dict[str, Any] needs the PreserveUnknownFields() marker")
                return {"type": "object"}
            return {"type": "object", "additionalProperties": self._nested(value)}
        if origin is Literal:
            values = get_args(annotation)
            if not all(isinstance(v, str) for v in values):
                raise TypeError(f"only string literals are supported, not {annotation!r}")
            return {"type": "string", "enum": list(values)}
        if inspect.isclass(annotation):
            if issubclass(annotation, SeiModel):
                return model_schema(annotation)
            if issubclass(annotation, Enum):
                schema: JSON = {"type": "string", "enum": [m.value for m in annotation]}
                description = _docstring(annotation)
                if description:
                    schema["description"] = description
                return schema
            if issubclass(annotation, bool):
                return {"type": "boolean"}
            if issubclass(annotation, int):
                return {"type": "integer"}
            if issubclass(annotation, str):
                return {"type": "string"}
            if issubclass(annotation, datetime):
                return {"type": "string"}
        raise TypeError(f"no OpenAPI mapping for {annotation!r}")

    def _nested(self, annotation: Any) -> JSON:
        # Markers inside list items / map values belong to the items, never to the field.
        return _Collector().annotation(annotation, [])

    def _apply(self, schema: JSON, metadata: list[Any]) -> None:
        for item in metadata:
            self._apply_one(schema, item)

    def _apply_one(self, schema: JSON, item: Any) -> None:
        kind = str(schema.get("type"))
        if isinstance(item, FieldInfo):
            if item.description:
                schema["description"] = item.description
            self._apply(schema, list(item.metadata))
        elif isinstance(item, Format):
            schema["format"] = item.value
        elif isinstance(item, CrdRequired):
            self.crd_required = True
        elif isinstance(item, ListMapKeys):
            _list_map(schema, item.keys)
        elif isinstance(item, PreserveUnknownFields):
            schema["x-kubernetes-preserve-unknown-fields"] = True
        elif isinstance(item, IntOrString):
            schema["x-kubernetes-int-or-string"] = True
            if item.pattern is not None:
                schema["pattern"] = item.pattern
        elif isinstance(item, annotated_types.Ge):
            schema["minimum"] = item.ge
        elif isinstance(item, annotated_types.Le):
            schema["maximum"] = item.le
        elif isinstance(item, annotated_types.MinLen):
            schema[_LENGTH_KEYWORDS[kind][0]] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            schema[_LENGTH_KEYWORDS[kind][1]] = item.max_length
        elif type(item).__name__ in _RUNTIME_ONLY_METADATA:
            pass
        elif getattr(item, "pattern", None) is not None:
            schema["pattern"] = item.pattern
            _reject_other_constraints(item)
        else:
            raise TypeError(f"metadata {item!r} has no OpenAPI mapping")


def _reject_other_constraints(item: Any) -> None:
    # pydantic's general metadata object may carry more than a pattern; none is supported.
    others = {k: v for k, v in vars(item).items() if k != "pattern" and v is not None}
    if others:
        raise TypeError(f"unsupported constraints {others!r}")


def _list_map(schema: JSON, keys: tuple[str, ...]) -> None:
    items = schema.get("items", {})
    missing = [k for k in keys if k not in items.get("required", ())]
    if schema.get("type") != "array" or items.get("type") != "object" or missing:
        raise TypeError(f"list-map keys {keys} must be required fields of object items")
    schema["x-kubernetes-list-type"] = "map"
    schema["x-kubernetes-list-map-keys"] = list(keys)


def _json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | str | float):
        return value
    raise TypeError(f"default {value!r} is not a JSON scalar")


def _docstring(cls: type) -> str | None:
    """First paragraph of the class's own docstring, on one line, reST quotes made plain."""
    doc = vars(cls).get("__doc__")
    if not doc:
        return None
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return re.sub(r"\s+", " ", paragraph).replace("``", "`").strip()
