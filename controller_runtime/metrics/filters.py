"""Authentication and authorization of metrics scrapes by the API server, the counterpart of
controller-runtime's `filters.WithAuthenticationAndAuthorization`.

Each request's bearer token is checked with a TokenReview (`authentication.k8s.io/v1`); the user
it names must be allowed, by a SubjectAccessReview (`authorization.k8s.io/v1`), the request's
verb (the lower-cased HTTP method) on the non-resource URL of its path. A scraper therefore needs
RBAC like `nonResourceURLs: ["/metrics"], verbs: ["get"]`; the operator itself needs `create` on
`tokenreviews` and `subjectaccessreviews`.

Answers:
- no or malformed bearer token, or a token the API server rejects: 401 `Unauthorized`;
- the API server could not be asked (error, timeout): 500, never cached, the next scrape retries;
- not allowed: 403 `Authorization denied for user <name>`.

Where controller-runtime answers 500 for a token the API server rejects (k8s' bearer-token
authenticator reports a rejection as an error), this filter answers 401: the caller's credential
is wrong, which is what 401 means; 500 is kept for "could not decide".

Review answers are cached for `cache_ttl` seconds (positive and negative alike, bounded in size;
tokens are keyed by their SHA-256, never stored), so scrapes do not hammer the API server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiohttp import web

from controller_runtime.metrics.reviewcache import ReviewCache

log = structlog.get_logger("metrics.filters")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_CACHE_TTL = 10.0
DEFAULT_CACHE_SIZE = 1024


class ReviewClient(Protocol):
    """What the filter needs of a client: `controller_runtime.client.Client` fits."""

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class UserInfo:
    """The authenticated user, as a TokenReview reports it."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # sorted, hashable form of the map

    @classmethod
    def from_review(cls, user: Mapping[str, Any]) -> UserInfo:
        extra = user.get("extra") or {}
        return cls(
            username=str(user.get("username") or ""),
            uid=str(user.get("uid") or ""),
            groups=tuple(str(g) for g in user.get("groups") or ()),
            extra=tuple(sorted((str(k), tuple(str(v) for v in vs)) for k, vs in extra.items())),
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or None
    when the header is absent, of another scheme, or carries no token."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


class DelegatingAuth:
    """Asks the API server who a token belongs to and what that user may do."""

    def __init__(
        self,
        client: ReviewClient,
        *,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._client = client
        self._tokens: ReviewCache[str, UserInfo | None] = ReviewCache(cache_ttl, cache_size)
        self._decisions: ReviewCache[tuple[UserInfo, str, str], Decision] = ReviewCache(
            cache_ttl, cache_size
        )

    async def authenticate(self, token: str) -> UserInfo | None:
        """The token's user, or None when the API server rejects the token. Raises when the
        API server cannot be asked."""
        key = hashlib.sha256(token.encode()).hexdigest()
        return await self._tokens.get_or_load(key, lambda: self._token_review(token))

    async def authorize(self, user: UserInfo, verb: str, path: str) -> Decision:
        """Whether user may `verb` the non-resource URL path. Raises when the API server cannot
        be asked."""
        return await self._decisions.get_or_load(
            (user, verb, path), lambda: self._access_review(user, verb, path)
        )

    async def _token_review(self, token: str) -> UserInfo | None:
        review = await self._client.create(
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            }
        )
        status = review.get("status") or {}
        if not status.get("authenticated"):
            log.debug("token rejected", error=status.get("error", ""))
            return None
        return UserInfo.from_review(status.get("user") or {})

    async def _access_review(self, user: UserInfo, verb: str, path: str) -> Decision:
        spec: dict[str, Any] = {
            "user": user.username,
            "groups": list(user.groups),
            "nonResourceAttributes": {"path": path, "verb": verb},
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra}
        review = await self._client.create(
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": spec,
            }
        )
        status = review.get("status") or {}
        allowed = bool(status.get("allowed")) and not status.get("denied")
        return Decision(allowed, str(status.get("reason") or status.get("evaluationError") or ""))

    def protect(self, handler: Handler) -> Handler:
        """handler, served only to authenticated and authorized callers."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request.headers.get("Authorization"))
            if token is None:
                return _error(401, "Unauthorized")
            try:
                user = await self.authenticate(token)
            except Exception as exc:
                log.error("authentication failed", path=request.path, error=repr(exc))
                return _error(500, "Authentication failed")
            if user is None:
                return _error(401, "Unauthorized")
            verb = request.method.lower()
            try:
                decision = await self.authorize(user, verb, request.path)
            except Exception as exc:
                msg = f"Authorization for user {user.username} failed"
                log.error(msg, path=request.path, error=repr(exc))
                return _error(500, msg)
            if not decision.allowed:
                msg = f"Authorization denied for user {user.username}"
                log.debug(msg, path=request.path, verb=verb, reason=decision.reason)
                return _error(403, msg)
            return await handler(request)

        return guarded


def _error(status: int, message: str) -> web.Response:
    """A plain-text error like Go's http.Error."""
    return web.Response(
        status=status,
        text=message + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )
