"""The base class of every API model: JSON names, unknown-field preservation, dump semantics.

Wire contract of every :class:`SeiModel` (the reconciler edge relies on all of it):

* Attributes are snake_case; the JSON name is lowerCamelCase (irregular names in
  ``_IRREGULAR_JSON_NAMES``). Both spellings are accepted on input; output uses JSON names.
* Unknown keys (fields of a newer API version, or anything we do not model) are kept verbatim
  and re-emitted after the modelled fields.
* :meth:`SeiModel.to_dict` emits exactly: every field that was present in the parsed input
  (including explicit ``null``), every field the code assigned, and every field whose value
  differs from its default (a default container that was mutated in place). Untouched defaults
  are never emitted, so parse -> ``to_dict`` reproduces a stored object exactly (modulo JSON key
  order, which carries no meaning), and a merge patch or server-side apply body built from a
  model says only what the code meant to say; the API server applies CRD defaults itself.
* Pydantic validation enforces the same value constraints and CEL rules the CRD declares (both
  come from one declaration, see :mod:`api.v1alpha1.markers`). Assignment is not validated:
  a reconciler may pass through intermediate states while editing an object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from .markers import CelRule

__all__ = ["SeiModel", "json_name"]

# Field names whose JSON spelling is not the mechanical lowerCamelCase of the attribute name.
_IRREGULAR_JSON_NAMES: Mapping[str, str] = {
    "genesis_s3_uri": "genesisS3URI",
}


def json_name(attribute: str) -> str:
    """JSON (wire) name of a model attribute."""
    return _IRREGULAR_JSON_NAMES.get(attribute) or to_camel(attribute)


class SeiModel(BaseModel):
    """Base of all sei.io/v1alpha1 models (see the module docstring for the wire contract)."""

    model_config = ConfigDict(
        alias_generator=json_name,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )

    # CEL rules of this type, in declaration order; filled by __pydantic_init_subclass__ from
    # methods decorated with @cel_rule (inherited rules first).
    cel_rules: ClassVar[tuple[CelRule, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        own = tuple(
            rule
            for member in vars(cls).values()
            if (rule := getattr(member, "__cel_rule__", None)) is not None
        )
        cls.cel_rules = (*cls.cel_rules, *own)

    @model_validator(mode="after")
    def _enforce_cel_rules(self) -> Self:
        for rule in type(self).cel_rules:
            if not rule.check(self):
                raise ValueError(rule.message)
        return self

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Self:
        """Parse a JSON object as served by the API server (or written in a manifest)."""
        return cls.model_validate(obj)

    def to_dict(self) -> dict[str, Any]:
        """JSON object of this model: what was parsed plus what the code changed."""
        _mark_changed_fields(self)
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _mark_changed_fields(value: object) -> None:
    """Add to ``model_fields_set`` every unset field whose value differs from its default.

    Pydantic only records assignments to a model's own attributes; ``node.status.phase = x``
    on a default-constructed ``status`` marks ``phase`` on the status but not ``status`` on the
    node. Walking the tree bottom-up before dumping closes that gap.
    """
    if isinstance(value, SeiModel):
        fields_set = value.__pydantic_fields_set__
        for name, info in type(value).model_fields.items():
            current = getattr(value, name)
            _mark_changed_fields(current)
            if name not in fields_set and current != info.get_default(call_default_factory=True):
                fields_set.add(name)
    elif isinstance(value, list):
        for item in value:
            _mark_changed_fields(item)
    elif isinstance(value, dict):
        for item in value.values():
            _mark_changed_fields(item)
