"""Events as sources hand them to handlers and predicates (typed, like controller-runtime's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]


@dataclass(frozen=True)
class CreateEvent:
    object: Object
    is_in_initial_list: bool = False


@dataclass(frozen=True)
class UpdateEvent:
    object_old: Object
    object_new: Object


@dataclass(frozen=True)
class DeleteEvent:
    object: Object
    delete_state_unknown: bool = False  # the final state was missed (from a tombstone)


@dataclass(frozen=True)
class GenericEvent:
    object: Object


Event = CreateEvent | UpdateEvent | DeleteEvent | GenericEvent


def meta(obj: Object) -> dict[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}
