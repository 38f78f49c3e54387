"""The metrics server: `/metrics` from a registry, over HTTP or over HTTPS with every request
authenticated and authorized by the API server (controller-runtime's `pkg/metrics/server`).

    server = MetricsServer(":8443", secure=True, client=client)
    await server.start()       # binds; server.port is the bound port
    ...
    await server.stop()

Semantics:
- Bind address as in `--metrics-bind-address`: "" means the library default ":8080"; "0" disables
  the server, and then start() and stop() do nothing.
- `/metrics` answers in the Prometheus text format, or OpenMetrics when the Accept header asks
  for it, gzip-compressed when the client accepts it. A collector that raises gives a 500.
- Extra handlers are served next to it, behind the same authentication; none may take
  `/metrics`. A path ending in "/" serves its whole subtree, like Go's ServeMux.
- The served registry gets the process, platform and GC collectors (`process_*`, `python_*`)
  once, unless process_metrics=False; in secure mode also `certwatcher_read_certificate_total`
  and `..._errors_total`, as a certificate from cert_dir is reloaded when rotated on disk.
- Metrics are rendered on the event loop, so a custom collector may read loop-owned state
  without locks; a collector must therefore be quick.
- Runs on every replica (need_leader_election is False).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from controller_runtime.metrics.filters import (
    DEFAULT_CACHE_TTL,
    DelegatingAuth,
    Handler,
    ReviewClient,
)
from controller_runtime.metrics.httpserver import AppServer, BindAddress, parse_bind_address
from controller_runtime.metrics.process import register_process_collectors
from controller_runtime.metrics.registry import REGISTRY
from controller_runtime.metrics.tls import ServingCertificate, TLSOption

log = structlog.get_logger("metrics")

METRICS_PATH = "/metrics"
DEFAULT_BIND_ADDRESS = ":8080"


class MetricsServer:
    def __init__(
        self,
        bind_address: str,
        registry: CollectorRegistry = REGISTRY,
        *,
        secure: bool = False,
        cert_dir: str | Path | None = None,
        cert_name: str = "tls.crt",
        key_name: str = "tls.key",
        tls_opts: Sequence[TLSOption] = (),
        client: ReviewClient | None = None,
        extra_handlers: Mapping[str, Handler] | None = None,
        process_metrics: bool = True,
        review_cache_ttl: float = DEFAULT_CACHE_TTL,
    ) -> None:
        """Validates the configuration; nothing is bound before start().

        secure=True serves HTTPS (the pair `cert_dir/cert_name` + `cert_dir/key_name` when both
        exist, else a self-signed certificate) and requires `client` (e.g. the manager's
        `controller_runtime.client.Client`) for the TokenReviews and SubjectAccessReviews.
        Raises ValueError for a malformed bind address, an extra handler on `/metrics` or a
        path not starting with "/", and secure serving without a client.
        """
        self.bind_address = bind_address or DEFAULT_BIND_ADDRESS
        self._address: BindAddress | None = parse_bind_address(self.bind_address)
        self.registry = registry
        self.secure = secure
        extra = dict(extra_handlers or {})
        if METRICS_PATH in extra:
            raise ValueError(f"overriding builtin {METRICS_PATH} endpoint is not allowed")
        for path in extra:
            if not path.startswith("/"):
                raise ValueError(f"extra handler path {path!r} must start with '/'")
        self._extra = extra
        if secure and client is None:
            raise ValueError("secure metrics serving needs a client for TokenReviews")
        self._auth = (
            DelegatingAuth(client, cache_ttl=review_cache_ttl)
            if secure and client is not None
            else None
        )
        self._certificate = (
            ServingCertificate(
                Path(cert_dir) if cert_dir is not None else None,
                cert_name,
                key_name,
                tls_opts,
                registry=registry,
            )
            if secure and self._address is not None
            else None
        )
        self._server = AppServer()
        if process_metrics and self._address is not None:
            register_process_collectors(registry)

    @property
    def enabled(self) -> bool:
        """False when the bind address is "0"."""
        return self._address is not None

    @property
    def port(self) -> int:
        """The bound port (the kernel's choice for ":0"); RuntimeError when not serving."""
        return self._server.port

    # Runs on every replica, leader or not (the manager's runnable convention).
    need_leader_election = False

    async def start(self) -> None:
        """Binds and starts serving; returns once requests are accepted. A no-op if disabled."""
        if self._address is None:
            log.info("metrics server disabled", bind_address=self.bind_address)
            return
        ssl_context: ssl.SSLContext | None = None
        if self._certificate is not None:
            ssl_context = self._certificate.load()
        port = await self._server.start(self._app(), self._address, ssl_context)
        if self._certificate is not None:
            self._certificate.start_watching()
        log.info(
            "serving metrics server",
            bind_address=self.bind_address,
            port=port,
            secure=self.secure,
            self_signed=bool(self._certificate and self._certificate.self_signed),
        )

    async def stop(self) -> None:
        """Stops serving (in-flight scrapes may finish, briefly). A no-op if not serving."""
        if self._certificate is not None:
            await self._certificate.stop_watching()
        if self._server.serving:
            await self._server.stop()
            log.info("metrics server stopped", bind_address=self.bind_address)

    def _app(self) -> web.Application:
        app = web.Application()
        guard = self._auth.protect if self._auth is not None else _unguarded
        app.router.add_get(METRICS_PATH, guard(self._serve_metrics))
        for path, handler in sorted(self._extra.items()):
            pattern = path + "{tail:.*}" if path.endswith("/") else path
            app.router.add_route("*", pattern, guard(handler))
        return app

    async def _serve_metrics(self, request: web.Request) -> web.StreamResponse:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        try:
            body = encoder(self.registry)
        except Exception as exc:
            log.error("collecting metrics failed", error=repr(exc))
            return web.Response(
                status=500,
                text=f"An error has occurred while serving metrics:\n\n{exc}\n",
                content_type="text/plain",
            )
        response = web.Response(body=body, headers={"Content-Type": content_type})
        response.enable_compression()  # only when Accept-Encoding allows it
        return response


def _unguarded(handler: Handler) -> Handler:
    return handler
