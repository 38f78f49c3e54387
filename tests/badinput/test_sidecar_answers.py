"""The sidecar client against malformed answers from a stand-in sidecar (no cluster).

Whatever answers in the sidecar's place, every call returns a well-typed value or raises a
SidecarError whose message says what was wrong, within the client's own timeout and without
reading more than its body cap (a trickling or endless body, a gzip bomb).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from controllers.sidecar.api import (
    SidecarError,
    SidecarMalformedError,
    SidecarStatus,
    SidecarUnavailableError,
    SidecarUnreachableError,
    TaskResult,
)
from controllers.sidecar.client import MAX_BODY_BYTES, HTTPSidecarClient, HTTPSidecarClientFactory

from .profile import BADINPUT
from .standin import EXPECTED, HARMLESS, Answer, StandInSidecars

TASK_ID = "3f0c4a52-8d0e-5b8e-9d59-6a1b2c3d4e5f"
NAMESPACE, NODE = "ns", "node-0"
# The client's budget per call in these tests: a trickle costs this much per call.
TIMEOUT = 1.0
Call = Callable[[HTTPSidecarClient], Awaitable[Any]]
CALLS: dict[str, tuple[str, Call]] = {
    "submit": ("submit", lambda c: c.submit_task("config-apply", {"mode": "full"}, TASK_ID)),
    "get-task": ("task", lambda c: c.get_task(TASK_ID)),
    "status": ("status", lambda c: c.status()),
    "node-id": ("node-id", lambda c: c.node_id()),
}
MALFORMED = sorted(set(Answer) - HARMLESS)


@pytest_asyncio.fixture(loop_scope="session")
async def sidecars() -> AsyncIterator[StandInSidecars]:
    standin = StandInSidecars()
    await standin.start()
    try:
        yield standin
    finally:
        await standin.close()


@pytest_asyncio.fixture(loop_scope="session")
async def client(sidecars: StandInSidecars) -> AsyncIterator[HTTPSidecarClient]:
    async with HTTPSidecarClientFactory(sidecars.url_for, timeout=TIMEOUT) as factory:
        yield factory(NODE, NAMESPACE, 0)


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("answer", MALFORMED)
async def test_malformed_answer_is_a_sidecar_error_saying_what_was_wrong(
    sidecars: StandInSidecars, client: HTTPSidecarClient, answer: Answer, call: str
) -> None:
    kind, invoke = CALLS[call]
    sidecars.standin.inject(NAMESPACE, NODE, answer, {kind})
    with pytest.raises(SidecarError) as caught:
        await invoke(client)
    # A web page's 200 to a submission is an unexpected status before it is not JSON.
    unexpected_status = answer == Answer.HTML_OK and call == "submit"
    expected = "HTTP 200: '<!DOCTYPE html>" if unexpected_status else EXPECTED[answer]
    assert expected in str(caught.value)
    # The error type says which: an answer that is no sidecar answer (Malformed), nothing
    # sound answering in time or a gateway's error (Unavailable), the answerer's own error
    # status (the base SidecarError).
    assert type(caught.value) is _error_type(answer, unexpected_status)
    assert sidecars.standin.served == [(NAMESPACE, NODE, kind, answer)]


def _error_type(answer: Answer, unexpected_status: bool) -> type[SidecarError]:
    if answer == Answer.HTML_ERROR or unexpected_status:
        return SidecarError
    if answer in (Answer.TRICKLE, Answer.HTML_GATEWAY):
        return SidecarUnavailableError
    return SidecarMalformedError


async def test_a_sidecar_not_listening_is_unreachable() -> None:
    async with HTTPSidecarClientFactory(timeout=TIMEOUT) as factory:
        client = factory.for_url("http://127.0.0.1:1")
        with pytest.raises(SidecarUnreachableError, match="cannot connect"):
            await client.status()


async def test_html_error_page_is_cut_to_a_printable_snippet(
    sidecars: StandInSidecars, client: HTTPSidecarClient
) -> None:
    sidecars.standin.inject(NAMESPACE, NODE, Answer.HTML_ERROR, {"status"})
    with pytest.raises(SidecarError) as caught:
        await client.status()
    message = str(caught.value)
    assert len(message) < 400  # a 64 KiB page does not end up in a condition message
    assert message.isprintable()


async def test_the_sidecars_json_under_another_content_type_is_read(
    sidecars: StandInSidecars, client: HTTPSidecarClient
) -> None:
    sidecars.standin.inject(NAMESPACE, NODE, Answer.WRONG_CONTENT_TYPE, {"status", "submit"})
    assert await client.status() in set(SidecarStatus)
    assert await client.submit_task("config-apply", None, TASK_ID) == TASK_ID


async def test_gzip_bomb_is_cut_at_the_cap_not_inflated(
    sidecars: StandInSidecars, client: HTTPSidecarClient
) -> None:
    sidecars.standin.inject(NAMESPACE, NODE, Answer.GZIP_BOMB, {"status"})
    with pytest.raises(SidecarUnavailableError, match=f"larger than {MAX_BODY_BYTES} bytes"):
        await client.status()


# --- any answer at all ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
# Bodies shaped like the real answers, with any field replaced or dropped.
shaped = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.just(TASK_ID), json_values),
        "type": json_values,
        "status": st.one_of(st.sampled_from(["running", "completed", "failed"]), json_values),
        "error": json_values,
        "params": json_values,
        "submittedAt": json_values,
        "nodeId": st.one_of(st.just("ab" * 20), json_values),
    },
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
)
statuses = st.sampled_from([200, 201, 202, 204, 301, 400, 404, 409, 500, 502, 503])


@BADINPUT
@given(
    status=statuses, body=bodies, content_type=st.sampled_from(["application/json", "text/html"])
)
async def test_any_answer_is_a_typed_value_or_a_sidecar_error(
    status: int, body: bytes, content_type: str
) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    async with _raw_server(answer) as url, HTTPSidecarClientFactory(timeout=TIMEOUT) as factory:
        client = factory.for_url(url)
        for _, invoke in CALLS.values():
            try:
                value = await invoke(client)
            except SidecarError:
                continue
            assert isinstance(value, str | SidecarStatus | TaskResult), value


@contextlib.asynccontextmanager
async def _raw_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
