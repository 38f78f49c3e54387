"""The health probe server: liveness at `/healthz`, readiness at `/readyz`, on the address of
`--health-probe-bind-address` (the manager's HealthProbeBindAddress).

    probes = HealthProbeServer(":8081")
    probes.add_healthz_check("ping", ping)
    probes.add_readyz_check("informers", informers_synced)
    await probes.start()      # before the caches: probes must answer while they sync
    ...
    await probes.stop()

Invariants:
- Checks are added only before the first start(); afterwards adding raises
  HealthzAlreadyStartedError, with controller-runtime's message. The served set never changes.
- "" and "0" disable the server (the manager's default is ""); then start() and stop() do
  nothing, and added checks are accepted but never served.
- Runs on every replica (need_leader_election is False).
"""

from __future__ import annotations

import structlog
from aiohttp import web

from controller_runtime.healthz.healthz import Checker, Handler
from controller_runtime.metrics.httpserver import (
    DISABLED,
    AppServer,
    BindAddress,
    parse_bind_address,
)

log = structlog.get_logger("healthz")

LIVENESS_ENDPOINT = "/healthz"
READINESS_ENDPOINT = "/readyz"


class HealthzAlreadyStartedError(RuntimeError):
    """A check was added after the probe server started."""

    def __init__(self) -> None:
        super().__init__(
            "unable to add new checker because healthz endpoint has already been created"
        )


class HealthProbeServer:
    def __init__(
        self,
        bind_address: str,
        *,
        liveness_endpoint: str = LIVENESS_ENDPOINT,
        readiness_endpoint: str = READINESS_ENDPOINT,
    ) -> None:
        """Raises ValueError for a malformed bind address or endpoint."""
        for endpoint in (liveness_endpoint, readiness_endpoint):
            if not endpoint.startswith("/") or endpoint.endswith("/") or len(endpoint) < 2:
                raise ValueError(f"probe endpoint {endpoint!r} must be like '/healthz'")
        if liveness_endpoint == readiness_endpoint:
            raise ValueError("liveness and readiness endpoints must differ")
        self.bind_address = bind_address
        self._address: BindAddress | None = (
            parse_bind_address(bind_address) if bind_address else parse_bind_address(DISABLED)
        )
        self.liveness_endpoint = liveness_endpoint
        self.readiness_endpoint = readiness_endpoint
        self._healthz: dict[str, Checker] = {}
        self._readyz: dict[str, Checker] = {}
        self._started = False
        self._server = AppServer()

    @property
    def enabled(self) -> bool:
        """False when the bind address is "" or "0"."""
        return self._address is not None

    @property
    def port(self) -> int:
        """The bound port (the kernel's choice for ":0"); RuntimeError when not serving."""
        return self._server.port

    # Runs on every replica, leader or not (the manager's runnable convention).
    need_leader_election = False

    def add_healthz_check(self, name: str, checker: Checker) -> None:
        """Adds (or replaces) a liveness check; only before start()."""
        if self._started:
            raise HealthzAlreadyStartedError()
        self._healthz[name] = checker

    def add_readyz_check(self, name: str, checker: Checker) -> None:
        """Adds (or replaces) a readiness check; only before start()."""
        if self._started:
            raise HealthzAlreadyStartedError()
        self._readyz[name] = checker

    async def start(self) -> None:
        """Binds and starts serving; returns once probes are answered. A no-op if disabled
        (checks are frozen either way)."""
        self._started = True
        if self._address is None:
            log.info("health probe server disabled")
            return
        app = web.Application()
        for endpoint, checks in (
            (self.liveness_endpoint, self._healthz),
            (self.readiness_endpoint, self._readyz),
        ):
            handler = Handler(checks, endpoint.lstrip("/"))
            app.router.add_get(endpoint, handler.handle)
            app.router.add_get(endpoint + "/{tail:.*}", handler.handle)
        port = await self._server.start(app, self._address, None)
        log.info(
            "serving health probes",
            bind_address=self.bind_address,
            port=port,
            healthz=sorted(self._healthz),
            readyz=sorted(self._readyz),
        )

    async def stop(self) -> None:
        """Stops serving; a no-op if not serving."""
        if self._server.serving:
            await self._server.stop()
            log.info("health probe server stopped", bind_address=self.bind_address)
