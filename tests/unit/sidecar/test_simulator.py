"""The sidecar simulator's knobs, counters and layouts (its API semantics are pinned against the
real seictl by tests/integration/sidecar/test_sidecar_contract.py)."""

from __future__ import annotations

import asyncio
import math
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from controller_runtime.envtest import eventually
from controllers.sidecar.api import (
    SidecarError,
    SidecarStatus,
    SidecarTaskNotFoundError,
    SidecarUnavailableError,
    TaskResultStatus,
)
from controllers.sidecar.client import HTTPSidecarClient, HTTPSidecarClientFactory
from controllers.sidecar.simnode import Execution, Fault, Post, SimulatedNode
from controllers.sidecar.simulator import SidecarSimulator

NS = "default"


@pytest_asyncio.fixture(loop_scope="session")
async def sim() -> AsyncIterator[SidecarSimulator]:
    async with SidecarSimulator() as simulator:
        yield simulator


@pytest_asyncio.fixture(loop_scope="session")
async def factory(sim: SidecarSimulator) -> AsyncIterator[HTTPSidecarClientFactory]:
    async with HTTPSidecarClientFactory(sim.url_for, timeout=2.0) as f:
        yield f


@pytest.fixture
def node(sim: SidecarSimulator) -> SimulatedNode:
    return sim.node(NS, "node-a")


@pytest.fixture
def client(factory: HTTPSidecarClientFactory) -> HTTPSidecarClient:
    return factory("node-a", NS, 0)


def new_id() -> str:
    return str(uuid.uuid4())


async def status_of(client: HTTPSidecarClient, task_id: str) -> TaskResultStatus:
    return (await client.get_task(task_id)).status


# --- layouts -------------------------------------------------------------------------------------


async def test_nodes_on_the_shared_port_are_independent(
    sim: SidecarSimulator, factory: HTTPSidecarClientFactory
) -> None:
    a, b = factory("node-a", NS, 0), factory("node-b", NS, 0)
    await a.submit_task("mark-ready")
    assert (await a.status(), await b.status()) == (SidecarStatus.READY, SidecarStatus.INITIALIZING)
    assert a.base_url == f"http://127.0.0.1:{sim.port}/nodes/{NS}/node-a"


async def test_a_node_on_its_own_port_is_served_at_v0(
    sim: SidecarSimulator, factory: HTTPSidecarClientFactory
) -> None:
    url = await sim.serve_node(NS, "solo")
    client = factory("solo", NS, 0)
    assert client.base_url == url
    assert await client.status() is SidecarStatus.INITIALIZING


async def test_a_stopped_node_port_refuses_and_comes_back_with_its_state(
    sim: SidecarSimulator, factory: HTTPSidecarClientFactory
) -> None:
    url = await sim.serve_node(NS, "solo")
    port = int(url.rsplit(":", 1)[1])
    task_id = await factory("solo", NS, 0).submit_task("config-apply", {"mode": "full"}, new_id())
    await sim.stop_node(NS, "solo")
    with pytest.raises(SidecarUnavailableError, match="cannot connect"):
        await factory.for_url(url).status()
    assert await sim.serve_node(NS, "solo", port) == url
    assert await status_of(factory.for_url(url), task_id) is TaskResultStatus.COMPLETED


async def test_a_stopped_node_is_gone_from_the_shared_port_until_served_again(
    sim: SidecarSimulator, factory: HTTPSidecarClientFactory
) -> None:
    shared = factory.for_url(sim.url_template.format(namespace=NS, name="solo"))
    await sim.serve_node(NS, "solo")
    assert await shared.status() is SidecarStatus.INITIALIZING
    await sim.stop_node(NS, "solo")
    with pytest.raises(SidecarUnavailableError):
        await shared.status()
    await sim.serve_node(NS, "solo")
    assert await shared.status() is SidecarStatus.INITIALIZING


async def test_unknown_nodes_are_refused_without_auto_create() -> None:
    async with (
        SidecarSimulator(auto_create=False) as sim,
        HTTPSidecarClientFactory(sim.url_template) as factory,
    ):
        with pytest.raises(SidecarUnavailableError, match="HTTP 502"):
            await factory("ghost", NS, 0).status()
        assert not sim.nodes


async def test_cli_serves_until_sigterm() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controllers.sidecar.simulator",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert f"http://127.0.0.1:{port}/nodes/{{namespace}}/{{name}}" in line.decode()
        async with HTTPSidecarClientFactory(line.decode().split()[-1]) as factory:
            assert await factory("n", NS, 0).status() is SidecarStatus.INITIALIZING
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# --- task timing ---------------------------------------------------------------------------------


async def test_a_task_runs_for_the_nodes_latency(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.latencies["config-apply"] = 0.2
    task_id = await client.submit_task("config-apply", {"mode": "full"}, new_id())
    assert await status_of(client, task_id) is TaskResultStatus.RUNNING
    await eventually(lambda: status_of(client, task_id), lambda s: s is TaskResultStatus.COMPLETED)


async def test_mark_ready_ignores_the_latency(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.latency = math.inf
    task_id = await client.submit_task("mark-ready", None, new_id())
    assert await status_of(client, task_id) is TaskResultStatus.COMPLETED


async def test_monitor_tasks_run_until_finished(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    upload = await client.submit_task("snapshot-upload")
    export = await client.submit_task("result-export", {"bucket": "b"})
    assert {await status_of(client, upload), await status_of(client, export)} == {
        TaskResultStatus.RUNNING
    }
    node.finish(export)
    node.finish(upload, error="upload loop died")
    exported, uploaded = await client.get_task(export), await client.get_task(upload)
    assert (exported.status, uploaded.status, uploaded.error) == (
        TaskResultStatus.COMPLETED,
        TaskResultStatus.FAILED,
        "upload loop died",
    )


async def test_finishing_a_task_that_is_not_running_is_refused(node: SimulatedNode) -> None:
    with pytest.raises(ValueError, match="not running"):
        node.finish(new_id())


async def test_await_condition_completes_when_the_chain_reaches_the_height(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    params = {"condition": "height", "targetHeight": 100, "action": "SIGTERM_SEID"}
    task_id = await client.submit_task("await-condition", params, new_id())
    node.set_height(99)
    assert await status_of(client, task_id) is TaskResultStatus.RUNNING
    node.set_height(100)
    await eventually(lambda: status_of(client, task_id), lambda s: s is TaskResultStatus.COMPLETED)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "condition is required"),
        ({"condition": "moon"}, 'unknown condition "moon"'),
        ({"condition": "height", "targetHeight": 0}, "targetHeight must be > 0, got 0"),
    ],
)
async def test_await_condition_fails_on_bad_params_like_seictl(
    client: HTTPSidecarClient, params: dict[str, object], error: str
) -> None:
    result = await client.get_task(await client.submit_task("await-condition", params))
    assert (result.status, result.error) == (TaskResultStatus.FAILED, error)


# --- failures, restarts, loss --------------------------------------------------------------------


async def test_fail_knob_fails_the_next_runs_then_lets_them_pass(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.fail("configure-genesis", "genesis not found in bucket", times=2)
    task_id = new_id()
    outcomes = []
    for _ in range(3):
        await client.submit_task("configure-genesis", None, task_id)
        result = await client.get_task(task_id)
        outcomes.append((result.status, result.error, result.raw and result.raw["run"]))
    assert outcomes == [
        (TaskResultStatus.FAILED, "genesis not found in bucket", 1),
        (TaskResultStatus.FAILED, "genesis not found in bucket", 2),
        (TaskResultStatus.COMPLETED, None, 3),
    ]


async def test_fail_knob_without_a_count_fails_every_run(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.fail("snapshot-restore", "access denied", times=None)
    task_id = new_id()
    for _ in range(4):
        await client.submit_task("snapshot-restore", None, task_id)
    assert len(node.executions_of(task_id)) == 4
    assert (await client.get_task(task_id)).error == "access denied"


async def test_restart_loses_readiness_keeps_results_and_reruns_running_tasks(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    ready, done, running = new_id(), new_id(), new_id()
    await client.submit_task("mark-ready", None, ready)
    await client.submit_task("config-apply", {"mode": "full"}, done)
    node.latencies["snapshot-restore"] = math.inf
    await client.submit_task("snapshot-restore", None, running)
    node.restart()
    assert await client.status() is SidecarStatus.INITIALIZING
    assert await status_of(client, done) is TaskResultStatus.COMPLETED
    assert node.executions_of(running) == [Execution(running, "snapshot-restore", 1)] * 2
    assert node.executions_of(done) == [Execution(done, "config-apply", 1)]


async def test_restart_readiness_needs_a_new_mark_ready_id(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    ready = new_id()
    await client.submit_task("mark-ready", None, ready)
    node.restart()
    await client.submit_task("mark-ready", None, ready)
    assert await client.status() is SidecarStatus.INITIALIZING
    await client.submit_task("mark-ready")
    assert await client.status() is SidecarStatus.READY


async def test_lose_tasks_makes_every_id_unknown(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    task_id = await client.submit_task("config-apply", {"mode": "full"}, new_id())
    node.lose_tasks()
    with pytest.raises(SidecarTaskNotFoundError):
        await client.get_task(task_id)


async def test_a_task_lost_while_running_never_reappears(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.latencies["config-apply"] = 0.05
    task_id = await client.submit_task("config-apply", {"mode": "full"}, new_id())
    node.lose_tasks()
    node.latencies["config-apply"] = 0.0
    marker = await client.submit_task("config-apply", {"mode": "full"}, new_id())
    assert await status_of(client, marker) is TaskResultStatus.COMPLETED
    with pytest.raises(SidecarTaskNotFoundError):
        await client.get_task(task_id)


async def test_generate_identity_gives_a_node_id_that_survives_restart(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    await client.submit_task("generate-identity", {"chainId": "c", "moniker": "m"}, new_id())
    node_id = await client.node_id()
    node.restart()
    assert await client.node_id() == node_id


# --- counters ------------------------------------------------------------------------------------


async def test_posts_record_every_submission_as_sent(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    task_id = new_id()
    await client.submit_task("mark-ready", None, task_id)
    await client.submit_task("mark-ready", None, task_id)
    answered = await client.submit_task("mark-ready")
    with pytest.raises(SidecarError):
        await client.submit_task("warp-drive", None, task_id)
    assert node.posts == [
        Post(task_id, "mark-ready", 201, task_id),
        Post(task_id, "mark-ready", 201, task_id),
        Post(None, "mark-ready", 201, answered),
        Post(task_id, "warp-drive", 400, None),
    ]
    assert node.executions == [
        Execution(task_id, "mark-ready", 1),
        Execution(answered, "mark-ready", 1),
    ]


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(Fault))
async def test_every_fault_is_a_typed_error_for_the_client(
    sim: SidecarSimulator, node: SimulatedNode, fault: Fault
) -> None:
    node.inject(fault)
    async with HTTPSidecarClientFactory(sim.url_template, timeout=0.5) as factory:
        with pytest.raises(SidecarError):
            await factory("node-a", NS, 0).status()


async def test_faults_last_the_given_number_of_requests(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.inject(Fault.SERVER_ERROR, times=2)
    outcomes: list[object] = []
    for _ in range(3):
        try:
            outcomes.append(await client.status())
        except SidecarError as exc:
            outcomes.append(type(exc))
    assert outcomes == [SidecarError, SidecarError, SidecarStatus.INITIALIZING]


async def test_faults_can_target_one_endpoint(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.inject(Fault.BAD_JSON, endpoints={"submit"})
    assert await client.status() is SidecarStatus.INITIALIZING
    with pytest.raises(SidecarUnavailableError, match="not JSON"):
        await client.submit_task("mark-ready")
    assert node.posts == []  # the fault answered before the node saw the request


async def test_an_unreachable_node_drops_connections(
    node: SimulatedNode, client: HTTPSidecarClient
) -> None:
    node.unreachable = True
    with pytest.raises(SidecarUnavailableError):
        await client.status()
    node.clear_faults()
    assert await client.status() is SidecarStatus.INITIALIZING


async def test_a_response_delay_past_the_timeout_is_a_timeout(
    sim: SidecarSimulator, node: SimulatedNode
) -> None:
    node.response_delay = 5.0
    async with HTTPSidecarClientFactory(sim.url_template, timeout=0.3) as factory:
        with pytest.raises(SidecarUnavailableError, match=r"no complete answer within 0\.3s"):
            await factory("node-a", NS, 0).status()
