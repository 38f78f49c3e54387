"""Local sidecars that follow the node pods, for e2e tests and the dev mode.

kwok pods run no containers, so nothing would run a sidecar for a node, or restart it when the
pod rolls. :class:`LocalFleet` plays the kubelet's part for the ``sei-sidecar`` container: it
watches the pods labelled ``sei.io/node`` and, for every node, keeps exactly one local sidecar
running for the node's current pod (``<name>-0``: the StatefulSet pod, or the bootstrap Job pod,
whose hostname is ``<name>-0``):
- a new pod uid (a rollout, a deleted pod recreated) stops the sidecar and starts a fresh one;
- no pod (or only finished ones) stops it;
- each node keeps one loopback port for the fleet's lifetime, like its stable DNS name, and the
  real sidecar keeps one home directory across restarts, like the node's data PVC, so task
  results survive and readiness does not (spec 7.3).
The operator reaches the sidecars through :meth:`LocalFleet.url_for`, a ``SidecarURLResolver``.

What runs is a :class:`~controllers.sidecar.launchers.SidecarLauncher`: real ``seictl serve``
processes or nodes of the simulator, one port each.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Any

import structlog

from controller_runtime.cache import ByObject, Cache, DeletedFinalStateUnknown
from controller_runtime.client import Client
from controller_runtime.workqueue import Queue
from controllers.sidecar.launchers import NodeKey, SidecarLauncher

__all__ = ["NODE_LABEL", "LocalFleet", "RunningSidecar", "node_pod"]

log = structlog.get_logger("localfleet")

NODE_LABEL = "sei.io/node"
Object = dict[str, Any]
_RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class RunningSidecar:
    node: NodeKey
    pod_name: str
    pod_uid: str
    port: int
    url: str
    starts: int
    """How many sidecars this node has had, this one included."""


class LocalFleet:
    """Keeps one local sidecar per node pod. ``namespace`` None watches every namespace."""

    def __init__(
        self,
        client: Client,
        launcher: SidecarLauncher,
        *,
        namespace: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self._launcher = launcher
        self._host = host
        self._namespace = namespace
        self._cache = Cache(
            client,
            by_object={("v1", "Pod"): ByObject(namespace=namespace, label_selector=NODE_LABEL)},
        )
        self._queue: Queue[NodeKey] = Queue()
        self._ports: dict[NodeKey, int] = {}
        # Invariant: a node is in _running iff the launcher has a sidecar of it running and
        # answering, started for the pod uid recorded there.
        self._running: dict[NodeKey, RunningSidecar] = {}
        self._starts: dict[NodeKey, int] = {}
        self._lock = asyncio.Lock()  # one change to the running sidecars at a time
        self._worker: asyncio.Task[None] | None = None
        self._retries: set[asyncio.TimerHandle] = set()
        self.errors: list[str] = []

    # --- the operator's view -------------------------------------------------------------------

    def url_for(self, name: str, namespace: str, port: int = 0) -> str:
        """``SidecarURLResolver``: the node's loopback address, stable across its restarts.
        A node without a pod yet gets its port now, and refuses connections until it has one."""
        return f"http://{self._host}:{self._port((namespace, name))}"

    @property
    def launcher(self) -> SidecarLauncher:
        return self._launcher

    def sidecar(self, namespace: str, name: str) -> RunningSidecar | None:
        return self._running.get((namespace, name))

    async def restart_sidecar(self, namespace: str, name: str) -> RunningSidecar:
        """Restarts the node's sidecar in the same pod, as the kubelet restarts a crashed
        container: a new process on the same data, Initializing until its next mark-ready."""
        node = (namespace, name)
        async with self._lock:
            if node not in self._running:
                raise LookupError(f"no local sidecar runs for {namespace}/{name}")
            await self._stop(node)
            await self._converge(node)
            restarted = self._running.get(node)
        if restarted is None:
            raise LookupError(f"the pod of {namespace}/{name} is gone")
        return restarted

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, timeout: float = 60.0) -> None:
        informer = await self._cache.get_informer("v1", "Pod")
        informer.add_event_handler(_Enqueue(self._queue), name="localfleet")
        await self._cache.start()
        if not await self._cache.wait_for_cache_sync(timeout):
            raise TimeoutError("the local fleet's pod cache did not sync")
        self._worker = asyncio.create_task(self._work(), name="localfleet")

    async def close(self) -> None:
        for handle in self._retries:
            handle.cancel()
        self._queue.shut_down()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self._cache.stop()
        for node in list(self._running):
            await self._stop(node)
        await self._launcher.close()

    async def __aenter__(self) -> LocalFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- convergence -----------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            node, shutdown = await self._queue.get()
            if shutdown or node is None:
                return
            try:
                await self._sync(node)
            except Exception as exc:
                message = f"{node[0]}/{node[1]}: {exc}"
                log.warning("local sidecar failed; retrying", node=node, error=str(exc))
                self.errors.append(message)
                self._retry(node)
            finally:
                self._queue.done(node)

    async def _sync(self, node: NodeKey) -> None:
        async with self._lock:
            await self._converge(node)

    async def _converge(self, node: NodeKey) -> None:
        pod = await self._current_pod(node)
        running = self._running.get(node)
        uid = pod["metadata"]["uid"] if pod is not None else None
        if running is not None and running.pod_uid != uid:
            await self._stop(node)
            running = None
        if pod is None or running is not None:
            return
        port = self._port(node)
        starts = self._starts.get(node, 0) + 1
        self._starts[node] = starts
        try:
            await self._launcher.start(node, port, pod)
        except BaseException:
            await self._launcher.stop(node)
            raise
        self._running[node] = RunningSidecar(
            node, pod["metadata"]["name"], uid or "", port, self.url_for(node[1], node[0]), starts
        )
        log.info("local sidecar started", node=node, pod_uid=uid, port=port, starts=starts)

    async def _current_pod(self, node: NodeKey) -> Object | None:
        namespace, name = node
        listed = await self._cache.list(
            "v1", "Pod", namespace, label_selector=f"{NODE_LABEL}={name}"
        )
        return node_pod(listed["items"], name)

    async def _stop(self, node: NodeKey) -> None:
        self._running.pop(node, None)
        await self._launcher.stop(node)

    def _retry(self, node: NodeKey) -> None:
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._retries.discard(handle)
            self._queue.add(node)

        handle = loop.call_later(_RETRY_SECONDS, requeue)
        self._retries.add(handle)

    def _port(self, node: NodeKey) -> int:
        port = self._ports.get(node)
        if port is None:
            taken = set(self._ports.values())
            port = _free_port(self._host)
            while port in taken:
                port = _free_port(self._host)
            self._ports[node] = port
        return port


class _Enqueue:
    """Informer handler: any change to a node's pods re-examines that node."""

    def __init__(self, queue: Queue[NodeKey]) -> None:
        self._queue = queue

    def _add(self, pod: Object | DeletedFinalStateUnknown) -> None:
        obj = pod.obj if isinstance(pod, DeletedFinalStateUnknown) else pod
        meta = obj.get("metadata") or {}
        name = (meta.get("labels") or {}).get(NODE_LABEL)
        if name:
            self._queue.add((meta.get("namespace") or "", name))

    def on_add(self, obj: Object, is_in_initial_list: bool) -> None:
        self._add(obj)

    def on_update(self, old: Object, new: Object) -> None:
        self._add(new)

    def on_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        self._add(obj)


def node_pod(pods: list[Object], name: str) -> Object | None:
    """The pod whose sidecar serves node ``name``: named or hostnamed ``<name>-0`` (the
    StatefulSet pod, or the bootstrap Job pod), not finished (a completed Job pod runs no
    containers), the newest if several."""
    hostname = f"{name}-0"
    candidates = [
        pod
        for pod in pods
        if hostname in (pod["metadata"].get("name"), (pod.get("spec") or {}).get("hostname"))
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: p["metadata"].get("creationTimestamp") or "")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
