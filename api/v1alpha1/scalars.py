"""Scalar types shared by the API models: sized integers, timestamps, resource quantities."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from .markers import Format, IntOrString

__all__ = ["QUANTITY_PATTERN", "Int32", "Int64", "Quantity", "Time", "format_time", "utc_now"]

Int32 = Annotated[int, Format("int32")]
Int64 = Annotated[int, Format("int64")]


def _parse_time(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError("expected an RFC 3339 timestamp")
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as Kubernetes writes it.

    Whole seconds are written without a fraction (``metav1.Time``); a fraction is written with
    trailing zeros removed (Go's RFC3339Nano), so stored values round-trip unchanged.
    """
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# A timezone-aware datetime in Python, an RFC 3339 string on the wire.
Time = Annotated[
    datetime,
    BeforeValidator(_parse_time),
    PlainSerializer(format_time, return_type=str, when_used="json-unless-none"),
    Format("date-time"),
]


def utc_now() -> datetime:
    """Now, truncated to whole seconds like ``metav1.Now()`` on the wire."""
    return datetime.now(UTC).replace(microsecond=0)


# Kubernetes resource.Quantity, written as the CRD pattern of core/v1 quantities.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)


def _check_quantity(value: int | str) -> int | str:
    if isinstance(value, str) and not _QUANTITY_RE.match(value):
        raise ValueError(f"quantities must match the regular expression {QUANTITY_PATTERN!r}")
    return value


# Kept as given (``1`` stays an int, ``"500m"`` a string) so stored objects round-trip.
Quantity = Annotated[int | str, IntOrString(QUANTITY_PATTERN), AfterValidator(_check_quantity)]
