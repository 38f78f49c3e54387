"""One aiohttp application on one listening socket, addressed like Go's `net.Listen("tcp", ...)`.

Shared by the metrics server and the health probe server, which controller-runtime configures
with the same bind-address conventions (`--metrics-bind-address`, `--health-probe-bind-address`):

- `"host:port"`, `":port"` (every interface), `"[v6]:port"`; port 0 asks the kernel for a free
  port, and `AppServer.port` tells which one it chose.
- `"0"` disables the server (`parse_bind_address` returns None).

Invariants:
- An AppServer holds exactly one listening socket, so it has exactly one port even when the host
  name resolves to several addresses (Go listens on one of them as well, preferring IPv4).
- `":port"` and `"[::]:port"` listen dual-stack (IPv4 and IPv6) where the kernel supports it.
- `port` is known as soon as start() returns; a bind failure surfaces from start(), not later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass

from aiohttp import web

DISABLED = "0"
"""The bind address that turns a server off, as in controller-runtime."""

DEFAULT_SHUTDOWN_TIMEOUT = 5.0
"""How long stop() lets in-flight requests finish; idle keep-alive connections close at once."""


@dataclass(frozen=True)
class BindAddress:
    host: str
    """An IP literal or host name; "" means every interface."""
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_bind_address(address: str) -> BindAddress | None:
    """Parses a Go-style TCP listen address; None for "0" (disabled).

    Raises ValueError for what Go's net.SplitHostPort rejects (no port, too many colons, a
    malformed bracket) and for ports that are not decimal numbers in 0..65535 (Go would also look
    up service names such as ":http"; a bind address in a flag has no business doing that).
    """
    if address == DISABLED:
        return None
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise ValueError(f"missing ']' in address {address!r}")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"missing port in address {address!r}")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValueError(f"invalid IPv6 address in {address!r}") from None
    else:
        host, colon, port_text = address.rpartition(":")
        if not colon:
            raise ValueError(f"missing port in address {address!r}")
        if ":" in host:
            raise ValueError(f"too many colons in address {address!r}")
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"invalid port {port_text!r} in address {address!r}")
    return BindAddress(host, int(port_text))


def _is_wildcard(host: str) -> bool:
    return host in ("", "::", "0.0.0.0")


async def listen(address: BindAddress) -> socket.socket:
    """A bound, listening TCP socket for address (see the module invariants)."""
    if _is_wildcard(address.host) and address.host != "0.0.0.0" and socket.has_dualstack_ipv6():
        return socket.create_server(
            ("::", address.port), family=socket.AF_INET6, dualstack_ipv6=True
        )
    if _is_wildcard(address.host):
        return socket.create_server(("0.0.0.0", address.port), family=socket.AF_INET)
    infos = await asyncio.get_running_loop().getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    if not infos:
        raise OSError(f"no address found for {address.host!r}")
    # Go prefers an IPv4 address when a name resolves to both families.
    family, _, _, _, sockaddr = sorted(infos, key=lambda i: i[0] != socket.AF_INET)[0]
    return socket.create_server(sockaddr[:2], family=family)


class AppServer:
    """Serves one aiohttp application; start() binds, stop() shuts down gracefully."""

    def __init__(self, shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> None:
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not serving")
        return self._port

    async def start(
        self, app: web.Application, address: BindAddress, ssl_context: ssl.SSLContext | None
    ) -> int:
        """Binds address and serves app on it; returns the bound port."""
        if self._runner is not None:
            raise RuntimeError("the server is already serving")
        sock = await listen(address)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=self._shutdown_timeout
        )
        try:
            await runner.setup()
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        self._port = int(sock.getsockname()[1])
        return self._port

    async def stop(self) -> None:
        """Stops listening, lets in-flight requests finish (bounded), closes connections."""
        runner, self._runner, self._port = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
