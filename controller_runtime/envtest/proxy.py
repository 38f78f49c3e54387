"""A loopback TCP proxy for fault-injection tests between a client and the API server.

States:
- open: bytes flow both ways.
- cut: every live connection is closed and new ones are closed at once (a network outage or a
  restarted load balancer).
- blackhole: live connections stay open but deliver nothing either way (a half-dead network
  path); new connections work normally, so a client that gives up on a silent stream recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import Enum


class ProxyState(Enum):
    OPEN = "open"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class _Pipe:
    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.writers = (client, upstream)
        self.blackholed = False
        self.tasks: list[asyncio.Task[None]] = []

    def close(self) -> None:
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.state = ProxyState.OPEN
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self.connections_accepted = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.state is ProxyState.CUT:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections_accepted += 1
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, pipe)),
            asyncio.create_task(self._pump(up_reader, writer, pipe)),
        ]
        await asyncio.gather(*pipe.tasks, return_exceptions=True)
        pipe.close()
        self._pipes.discard(pipe)

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, pipe: _Pipe) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                if pipe.blackholed:
                    continue  # swallowed: the peer sees silence, not a closed connection
                dst.write(data)
                await dst.drain()
        pipe.close()

    def cut(self) -> None:
        """Closes every live connection and refuses new ones until restore()."""
        self.state = ProxyState.CUT
        for pipe in list(self._pipes):
            pipe.close()

    def blackhole(self) -> None:
        """Silences every live connection; connections made afterwards work."""
        self.state = ProxyState.BLACKHOLE
        for pipe in self._pipes:
            pipe.blackholed = True

    def restore(self) -> None:
        self.state = ProxyState.OPEN

    async def stop(self) -> None:
        for pipe in list(self._pipes):
            pipe.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
