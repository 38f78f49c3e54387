"""Schema markers: the CRD facts a Python type cannot express on its own.

Markers are placed in ``typing.Annotated`` metadata (or, for CEL rules, on methods) and are read
by the CRD generator (:mod:`api.v1alpha1.crdgen`). Value constraints that pydantic itself knows
(``Field(ge=..., le=..., min_length=..., max_length=..., pattern=...)``) are NOT duplicated here:
the generator reads them from pydantic's field metadata, so Python and the API server enforce
the same numbers from one declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "CelRule",
    "CrdNames",
    "CrdRequired",
    "Format",
    "IntOrString",
    "ListMapKeys",
    "PreserveUnknownFields",
    "PrinterColumn",
    "cel_rule",
]


@dataclass(frozen=True)
class Format:
    """OpenAPI ``format`` of a scalar (``int32``, ``int64``, ``date-time``)."""

    value: str


@dataclass(frozen=True)
class ListMapKeys:
    """The array is ``x-kubernetes-list-type: map`` keyed by these item fields (JSON names).

    Invariant (checked by the generator): every key is required in the item schema.
    """

    keys: tuple[str, ...]


@dataclass(frozen=True)
class PreserveUnknownFields:
    """Free-form JSON object: ``x-kubernetes-preserve-unknown-fields: true``, no properties."""


@dataclass(frozen=True)
class IntOrString:
    """``x-kubernetes-int-or-string: true`` (the Python type is ``int | str``).

    ``pattern`` constrains the string form in the CRD; Python checks it with a validator.
    """

    pattern: str | None = None


@dataclass(frozen=True)
class CrdRequired:
    """Listed in the CRD's ``required`` although the Python field has a default.

    Used where the API server must insist on a field on create/update but stored objects may
    legitimately lack it (objects stored under an older schema: the server validates only on
    writes), or where the server applies a default before checking ``required``.
    """


_Model = TypeVar("_Model")


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry together with its Python equivalent.

    ``check`` returns True when the object satisfies the rule; it must agree with ``rule`` on
    every object the API server can hold (integration tests exercise both on the same input).
    """

    rule: str
    message: str
    check: Callable[[Any], bool]
    # The field the API server blames (``fieldPath``, relative to the model, e.g. ``.image``);
    # None blames the object the rule is on.
    field_path: str | None = None


def cel_rule(
    rule: str, message: str, field_path: str | None = None
) -> Callable[[Callable[[_Model], bool]], Callable[[_Model], bool]]:
    """Declare a method ``(self) -> bool`` as the Python side of a CEL rule on its model.

    The rule is attached to the model type, so it is emitted everywhere the type is used
    (e.g. the SeiNodeSpec rules appear under ``SeiNodeDeployment.spec.template.spec`` too) and
    enforced by pydantic validation of that type.
    """

    def decorate(check: Callable[[_Model], bool]) -> Callable[[_Model], bool]:
        check.__cel_rule__ = CelRule(  # type: ignore[attr-defined]
            rule=rule, message=message, check=check, field_path=field_path
        )
        return check

    return decorate


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry (``kubectl get`` column)."""

    name: str
    type: str
    json_path: str
    priority: int = 0
    description: str | None = None


@dataclass(frozen=True)
class CrdNames:
    """Names, short names, categories and printer columns of a top-level kind's CRD."""

    plural: str
    singular: str
    list_kind: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()
