"""Typed API errors, decoded from the API server's `Status` bodies.

The class is chosen by the Status `reason` first (it is what the server means), then by the
HTTP code, so a 409 is AlreadyExists or Conflict as the server says, and a 422 carries the
server's field causes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One field error of an Invalid response (`details.causes[]`)."""

    type: str
    message: str
    field: str


class ApiError(Exception):
    """A non-2xx answer of the API server."""

    def __init__(
        self, status: int, reason: str, message: str, body: dict[str, Any] | str | None = None
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body

    @property
    def details(self) -> dict[str, Any]:
        if isinstance(self.body, dict):
            return dict(self.body.get("details") or {})
        return {}

    @property
    def retry_after_seconds(self) -> int | None:
        value = self.details.get("retryAfterSeconds")
        return int(value) if value is not None else None


class BadRequestError(ApiError):
    pass


class UnauthorizedError(ApiError):
    pass


class ForbiddenError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class MethodNotAllowedError(ApiError):
    pass


class AlreadyExistsError(ApiError):
    pass


class ConflictError(ApiError):
    """Optimistic-concurrency failure, or a server-side apply field conflict."""


class GoneError(ApiError):
    """410: a resourceVersion older than the server still has (watch/list must relist)."""


class UnsupportedMediaTypeError(ApiError):
    pass


class InvalidError(ApiError):
    """422: the object failed validation; `causes` has the server's per-field messages."""

    @property
    def causes(self) -> list[Cause]:
        return [
            Cause(c.get("reason", ""), c.get("message", ""), c.get("field", ""))
            for c in self.details.get("causes") or []
        ]


class TooManyRequestsError(ApiError):
    pass


class InternalError(ApiError):
    pass


class ServiceUnavailableError(ApiError):
    pass


class ServerTimeoutError(ApiError):
    pass


class NoKindMatchError(LookupError):
    """The server does not serve this kind at this apiVersion (e.g. a CRD not installed)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f'no matches for kind "{kind}" in version "{api_version}"')
        self.api_version = api_version
        self.kind = kind


_BY_REASON: dict[str, type[ApiError]] = {
    "BadRequest": BadRequestError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "NotFound": NotFoundError,
    "MethodNotAllowed": MethodNotAllowedError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Gone": GoneError,
    "Expired": GoneError,
    "UnsupportedMediaType": UnsupportedMediaTypeError,
    "Invalid": InvalidError,
    "TooManyRequests": TooManyRequestsError,
    "InternalError": InternalError,
    "ServiceUnavailable": ServiceUnavailableError,
    "Timeout": ServerTimeoutError,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    410: GoneError,
    415: UnsupportedMediaTypeError,
    422: InvalidError,
    429: TooManyRequestsError,
    500: InternalError,
    503: ServiceUnavailableError,
    504: ServerTimeoutError,
}


def error_from_status(status: int, body: dict[str, Any] | str | None) -> ApiError:
    """Builds the typed error for an HTTP status and the (decoded) response body."""
    reason, message = "", ""
    if isinstance(body, dict) and body.get("kind") == "Status":
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or "")
        status = int(body.get("code") or status)
    elif isinstance(body, str):
        message = body.strip()[:1000]
    cls = _BY_REASON.get(reason) or _BY_CODE.get(status, ApiError)
    return cls(status, reason or cls.__name__.removesuffix("Error"), message, body)


def error_from_text(status: int, text: str) -> ApiError:
    try:
        body: dict[str, Any] | str = json.loads(text) if text else ""
    except json.JSONDecodeError:
        body = text
    return error_from_status(status, body)


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, NotFoundError)


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, ConflictError)


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, AlreadyExistsError)


def is_gone(err: BaseException) -> bool:
    return isinstance(err, GoneError)
