"""The TokenReview/SubjectAccessReview filter against a fake API server (the real one is in
tests/integration/metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from controller_runtime.metrics.filters import DelegatingAuth, UserInfo, bearer_token
from controller_runtime.metrics.httpserver import AppServer, BindAddress

ALICE: dict[str, Any] = {
    "username": "system:serviceaccount:ns:alice",
    "uid": "u-1",
    "groups": ["system:serviceaccounts", "system:authenticated"],
    "extra": {"authentication.kubernetes.io/pod-name": ["p"]},
}


class FakeApiServer:
    """Answers reviews: `tokens` maps a token to its user; `allowed` holds (user, verb, path)."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {"alice-token": ALICE}
        self.allowed: set[tuple[str, str, str]] = {(ALICE["username"], "get", "/metrics")}
        self.reviews: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.reviews.append(obj)
        if self.fail is not None:
            raise self.fail
        spec = obj["spec"]
        if obj["kind"] == "TokenReview":
            user = self.tokens.get(spec["token"])
            if user is None:
                return {**obj, "status": {"authenticated": False, "error": "invalid token"}}
            return {**obj, "status": {"authenticated": True, "user": user}}
        attrs = spec["nonResourceAttributes"]
        ok = (spec["user"], attrs["verb"], attrs["path"]) in self.allowed
        return {**obj, "status": {"allowed": ok, "reason": "" if ok else "no RBAC"}}

    def kinds(self) -> list[str]:
        return [r["kind"] for r in self.reviews]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwdw==", None),
        ("Bearer a b", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_user_info_from_review_is_hashable_and_complete() -> None:
    user = UserInfo.from_review(ALICE)
    assert user.username == ALICE["username"]
    assert user.uid == "u-1"
    assert user.groups == ("system:serviceaccounts", "system:authenticated")
    assert user.extra == (("authentication.kubernetes.io/pod-name", ("p",)),)
    assert hash(user) == hash(UserInfo.from_review(dict(ALICE)))


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="secret")


@pytest_asyncio.fixture(loop_scope="session")
async def served() -> AsyncIterator[tuple[FakeApiServer, str]]:
    api = FakeApiServer()
    auth = DelegatingAuth(api)
    app = web.Application()
    app.router.add_route("*", "/metrics", auth.protect(ok))
    server = AppServer()
    port = await server.start(app, BindAddress("127.0.0.1", 0), None)
    try:
        yield api, f"http://127.0.0.1:{port}/metrics"
    finally:
        await server.stop()


async def call(url: str, token: str | None = None, method: str = "GET") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def test_no_token_is_401_without_asking_the_api_server(
    served: tuple[FakeApiServer, str],
) -> None:
    api, url = served
    assert await call(url) == (401, "Unauthorized\n")
    assert api.reviews == []


async def test_rejected_token_is_401_and_cached(served: tuple[FakeApiServer, str]) -> None:
    api, url = served
    assert await call(url, "garbage") == (401, "Unauthorized\n")
    assert await call(url, "garbage") == (401, "Unauthorized\n")
    assert api.kinds() == ["TokenReview"]


async def test_allowed_user_passes_and_reviews_are_cached(
    served: tuple[FakeApiServer, str],
) -> None:
    api, url = served
    for _ in range(3):
        assert await call(url, "alice-token") == (200, "secret")
    assert api.kinds() == ["TokenReview", "SubjectAccessReview"]
    assert api.reviews[0]["spec"] == {"token": "alice-token"}
    assert api.reviews[1]["spec"] == {
        "user": ALICE["username"],
        "uid": "u-1",
        "groups": ALICE["groups"],
        "extra": ALICE["extra"],
        "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
    }


async def test_verb_is_the_lower_cased_method(served: tuple[FakeApiServer, str]) -> None:
    api, url = served
    assert await call(url, "alice-token", method="POST") == (
        403,
        f"Authorization denied for user {ALICE['username']}\n",
    )
    assert api.reviews[-1]["spec"]["nonResourceAttributes"] == {"path": "/metrics", "verb": "post"}


async def test_api_server_errors_are_500_and_not_cached(
    served: tuple[FakeApiServer, str],
) -> None:
    api, url = served
    api.fail = RuntimeError("connection refused")
    assert await call(url, "alice-token") == (500, "Authentication failed\n")
    api.fail = None
    assert await call(url, "alice-token") == (200, "secret")


async def test_authorization_errors_are_500(served: tuple[FakeApiServer, str]) -> None:
    api, url = served
    assert await call(url, "alice-token") == (200, "secret")  # the token review is cached now
    api.fail = RuntimeError("timeout")
    # POST needs a SubjectAccessReview of its own, which cannot be made.
    assert await call(url, "alice-token", method="POST") == (
        500,
        f"Authorization for user {ALICE['username']} failed\n",
    )
    assert await call(url, "alice-token") == (200, "secret")  # cached decisions still serve


async def test_denied_flag_wins_over_allowed() -> None:
    class Contradicting(FakeApiServer):
        async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
            if obj["kind"] == "SubjectAccessReview":
                return {**obj, "status": {"allowed": True, "denied": True}}
            return await super().create(obj)

    decision = await DelegatingAuth(Contradicting()).authorize(UserInfo("x"), "get", "/metrics")
    assert not decision.allowed
