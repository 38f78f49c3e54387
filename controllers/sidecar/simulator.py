"""An aiohttp sidecar simulator: the spec 7.2 API for many nodes, with fault injection.

Two layouts, usable together:
- one shared port, a path per node: ``http://<host>:<port>/nodes/<namespace>/<name>/v0/...``
  (the operator's URL template is :attr:`SidecarSimulator.url_template`); unknown nodes are
  created on first contact unless ``auto_create=False``;
- one port per node at ``/v0/...`` (:meth:`SidecarSimulator.serve_node`), which can be stopped
  and started again on the same port like a pod going away and coming back. While a node's own
  server is stopped, its path on the shared port drops connections too (its pod is gone), so
  an operator addressing the shared port sees the same sidecar lifecycle as one addressing the
  node's port (e.g. operator processes given a URL template, beside a local fleet).

The node semantics and knobs live in :mod:`controllers.sidecar.simnode`. In-process::

    async with SidecarSimulator() as sim:
        factory = HTTPSidecarClientFactory(sim.url_template)
        sim.node("default", "node-a").fail("configure-genesis", "no such bucket")

From a shell: ``python -m controllers.sidecar.simulator --port 7777`` (``--node ns/name`` serves
one node at ``/v0`` instead, like a single real sidecar).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from controllers.sidecar.simceremony import GenesisBucket
from controllers.sidecar.simnode import (
    SPEC_TASK_TYPES,
    Fault,
    SimulatedNode,
)

__all__ = ["SidecarSimulator", "main"]

log = structlog.get_logger("sidecar-simulator")

_NODE = web.AppKey("node", SimulatedNode)
_HUGE_BYTES = 8 << 20
_WRONG_TYPES = {"id": 42, "type": 7, "status": ["running"], "nodeId": None, "error": {"x": 1}}
_Handler = Callable[[web.Request, SimulatedNode], Awaitable[web.StreamResponse]]
NodeKey = tuple[str, str]  # (namespace, name)


class SidecarSimulator:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        task_types: frozenset[str] = SPEC_TASK_TYPES,
        auto_create: bool = True,
        block_interval: float | None = None,
    ) -> None:
        """``block_interval``: every node's simulated seid commits a block this often from the
        node's creation (None: no chain; set heights per node with its knobs)."""
        self.host = host
        self.block_interval = block_interval
        self.latency = latency
        self.task_types = task_types
        self.auto_create = auto_create
        self.nodes: dict[NodeKey, SimulatedNode] = {}
        # SEI_GENESIS_BUCKET of every node (genesis ceremonies, controllers.sidecar.simceremony).
        self.bucket = GenesisBucket()
        self.port: int | None = None
        self._shared: web.AppRunner | None = None
        self._node_servers: dict[NodeKey, tuple[web.AppRunner, int]] = {}
        # Nodes served on their own port once and stopped since: gone from the shared port too.
        self._stopped: set[NodeKey] = set()
        self._closing = asyncio.Event()

    # --- nodes ---------------------------------------------------------------------------------

    def node(self, namespace: str, name: str) -> SimulatedNode:
        """The node's simulated sidecar, created with the simulator's defaults if new."""
        key = (namespace, name)
        node = self.nodes.get(key)
        if node is None:
            node = SimulatedNode(
                namespace, name, self.task_types, latency=self.latency, bucket=self.bucket
            )
            self.nodes[key] = node
            if self.block_interval is not None:
                node.produce_blocks(self.block_interval)
        return node

    @property
    def url_template(self) -> str:
        """The operator's sidecar URL template for the shared port."""
        if self.port is None:
            raise RuntimeError("the simulator's shared server is not started")
        return f"http://{self.host}:{self.port}/nodes/{{namespace}}/{{name}}"

    def url_for(self, name: str, namespace: str, port: int = 0) -> str:
        """A sidecar URL resolver (``SidecarURLResolver``): the node's own port if it has one,
        else its path on the shared port."""
        served = self._node_servers.get((namespace, name))
        if served is not None:
            return f"http://{self.host}:{served[1]}"
        return self.url_template.format(namespace=namespace, name=name)

    # --- serving -------------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Starts the shared server (``port`` 0: a free one, then in :attr:`port`)."""
        app = web.Application()
        app.add_routes(self._routes("/nodes/{namespace}/{name}"))
        self._shared, self.port = await self._serve(app, port)

    async def serve_node(self, namespace: str, name: str, port: int = 0) -> str:
        """Serves one node on its own port at ``/v0``; returns its base URL."""
        key = (namespace, name)
        if key in self._node_servers:
            raise RuntimeError(f"{namespace}/{name} is already served")
        app = web.Application()
        app[_NODE] = self.node(namespace, name)
        app.add_routes(self._routes(""))
        runner, bound = await self._serve(app, port)
        self._node_servers[key] = (runner, bound)
        self._stopped.discard(key)
        return f"http://{self.host}:{bound}"

    async def stop_node(self, namespace: str, name: str) -> None:
        """Stops the node's own server: connections are refused until it is served again."""
        served = self._node_servers.pop((namespace, name), None)
        if served is not None:
            self._stopped.add((namespace, name))
            await served[0].cleanup()

    async def close(self) -> None:
        self._closing.set()  # releases hung and dripping answers
        for runner, _ in list(self._node_servers.values()):
            await runner.cleanup()
        self._node_servers.clear()
        if self._shared is not None:
            await self._shared.cleanup()
            self._shared = None
        for node in self.nodes.values():
            await node.close()

    async def __aenter__(self) -> SidecarSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, app: web.Application, port: int) -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        sockets = [s for s in runner.addresses if isinstance(s, tuple)]
        return runner, int(sockets[0][1])

    # --- HTTP ----------------------------------------------------------------------------------

    def _routes(self, prefix: str) -> list[web.RouteDef]:
        p = prefix + "/v0"
        return [
            web.get(f"{p}/healthz", self._endpoint("healthz", _healthz)),
            web.get(f"{p}/livez", self._endpoint("livez", _livez)),
            web.get(f"{p}/status", self._endpoint("status", _status)),
            web.get(f"{p}/node-id", self._endpoint("node-id", _node_id)),
            web.post(f"{p}/tasks", self._endpoint("submit", _submit)),
            web.get(f"{p}/tasks", self._endpoint("tasks", _list_tasks)),
            web.get(f"{p}/tasks/{{id}}", self._endpoint("task", _get_task)),
            web.delete(f"{p}/tasks/{{id}}", self._endpoint("delete", _delete_task)),
        ]

    def _endpoint(
        self, endpoint: str, handler: _Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            node = self._node_of(request)
            if node is None:
                return _json(502, {"error": "no such simulated node"})
            stopped = _NODE not in request.app and (node.namespace, node.name) in self._stopped
            if node.unreachable or stopped:
                return await self._drop(request)
            if node.response_delay > 0:
                await self._pause(node.response_delay)
            fault = node.take_fault(endpoint)
            if fault is not None:
                return await self._faulty(request, node, fault, endpoint)
            return await handler(request, node)

        return handle

    def _node_of(self, request: web.Request) -> SimulatedNode | None:
        if _NODE in request.app:
            return request.app[_NODE]
        key = (request.match_info["namespace"], request.match_info["name"])
        if key not in self.nodes and not self.auto_create:
            return None
        return self.node(*key)

    async def _faulty(
        self, request: web.Request, node: SimulatedNode, fault: Fault, endpoint: str
    ) -> web.StreamResponse:
        ok = node.submit_status if endpoint == "submit" else 200
        if fault is Fault.BAD_JSON:
            return web.Response(status=ok, text='{"status": "Ready", "id": ', content_type=_CT)
        if fault is Fault.WRONG_TYPES:
            return _json(ok, _WRONG_TYPES)
        if fault is Fault.SERVER_ERROR:
            return _json(500, {"error": "simulated internal error"})
        if fault in (Fault.HANG, Fault.DISCONNECT):
            if fault is Fault.HANG:
                await self._closing.wait()
            return await self._drop(request)
        response = web.StreamResponse(status=ok, headers={"Content-Type": _CT})
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            if fault is Fault.SLOW_DRIP:
                for byte in json.dumps({"status": "Ready"} | {"pad": "x" * 1000}).encode():
                    await response.write(bytes([byte]))
                    if await self._pause(node.drip_interval):
                        break
            else:
                chunk = b" " * (64 << 10)
                for _ in range(_HUGE_BYTES // len(chunk)):
                    await response.write(chunk)
        return response

    async def _pause(self, seconds: float) -> bool:
        """Sleeps (a simulated slow sidecar), cut short when the simulator closes; True then."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        return self._closing.is_set()

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        # Nothing reaches the client: the transport is gone before this is written.
        return web.Response(status=503)


_CT = "application/json"


def _json(status: int, body: Any) -> web.Response:
    return web.json_response(body, status=status)


async def _healthz(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    return web.Response(status=200 if node.ready else 503)


async def _livez(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    return web.Response(status=200)


async def _status(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    return _json(200, {"status": "Ready" if node.ready else "Initializing"})


async def _node_id(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    if node.node_id is None:
        error = "node_key.json not found — generate-identity may not have run yet"
        return _json(500, {"error": error})
    return _json(200, {"nodeId": node.node_id})


async def _submit(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    try:
        body: Any = json.loads(await request.read())
    except (ValueError, RecursionError):
        body = ...
    status, answer = node.submit(body)
    return _json(status, answer)


async def _list_tasks(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    return _json(200, node.list_tasks())


async def _get_task(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    status, answer = node.get_task(request.match_info["id"])
    return _json(status, answer)


async def _delete_task(request: web.Request, node: SimulatedNode) -> web.StreamResponse:
    status = node.delete_task(request.match_info["id"])
    if status == 404:
        return _json(404, {"error": "task not found"})
    return web.Response(status=status)


# --- command line ---------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> None:
    sim = SidecarSimulator(host=args.host, latency=args.latency, block_interval=args.block_interval)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if args.node:
            namespace, _, name = args.node.partition("/")
            url = await sim.serve_node(namespace, name, args.port)
            print(f"simulated sidecar of {namespace}/{name} at {url}", flush=True)
        else:
            await sim.start(args.port)
            print(f"sidecar simulator; URL template: {sim.url_template}", flush=True)
        await stop.wait()
    finally:
        await sim.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m controllers.sidecar.simulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7777)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds an ordinary task runs (default 0)"
    )
    parser.add_argument(
        "--block-interval",
        type=float,
        default=None,
        help="seconds per simulated block of every node (default: no chain)",
    )
    parser.add_argument(
        "--node", metavar="NAMESPACE/NAME", help="serve this one node at /v0 instead"
    )
    args = parser.parse_args(argv)
    if args.node and "/" not in args.node:
        parser.error("--node must be NAMESPACE/NAME")
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
