"""metav1.Condition and the apimachinery ``SetStatusCondition`` semantics (spec section 2)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from .base import SeiModel
from .markers import ListMapKeys
from .scalars import Int64, Time, utc_now

__all__ = ["Condition", "ConditionStatus", "HasConditions"]

# metav1.Condition validation, as Kubernetes declares it for every CRD that embeds the type.
_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(SeiModel):
    """One aspect of the current state of the object (metav1.Condition)."""

    type: Annotated[str, Field(max_length=316, pattern=_TYPE_PATTERN)]
    status: ConditionStatus
    observed_generation: Annotated[Int64, Field(ge=0)] | None = None
    last_transition_time: Time
    reason: Annotated[str, Field(min_length=1, max_length=1024, pattern=_REASON_PATTERN)]
    message: Annotated[str, Field(max_length=32768)]


class HasConditions(SeiModel):
    """A status with a ``conditions`` list-map keyed by ``type``, and its helpers.

    Invariant: at most one condition per ``type`` (the API server rejects duplicates).
    """

    conditions: Annotated[list[Condition], ListMapKeys(("type",))] | None = None

    def condition(self, type_: str) -> Condition | None:
        """The condition of this type, or None."""
        return next((c for c in self.conditions or () if c.type == type_), None)

    def is_condition_true(self, type_: str) -> bool:
        found = self.condition(type_)
        return found is not None and found.status == ConditionStatus.TRUE

    def set_condition(
        self,
        type_: str,
        status: ConditionStatus,
        reason: str,
        message: str,
        observed_generation: int | None = None,
    ) -> bool:
        """apimachinery ``SetStatusCondition``; returns True if anything changed.

        An existing condition keeps its ``lastTransitionTime`` unless ``status`` changes;
        ``reason``, ``message`` and ``observedGeneration`` are always overwritten. A new
        condition is appended with ``lastTransitionTime`` = now.
        """
        existing = self.condition(type_)
        if existing is None:
            new = Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=utc_now(),
            )
            if observed_generation is not None:
                new.observed_generation = observed_generation
            self.conditions = [*(self.conditions or ()), new]
            return True
        changed = False
        if existing.status != status:
            existing.status = status
            existing.last_transition_time = utc_now()
            changed = True
        if existing.reason != reason:
            existing.reason = reason
            changed = True
        if existing.message != message:
            existing.message = message
            changed = True
        if existing.observed_generation != observed_generation:
            existing.observed_generation = observed_generation
            changed = True
        return changed

    def remove_condition(self, type_: str) -> bool:
        """Delete the condition of this type; returns True if there was one."""
        if self.condition(type_) is None:
            return False
        self.conditions = [c for c in self.conditions or () if c.type != type_]
        return True
