"""A genesis bucket served over the S3 API, so that real `seictl serve` processes can run the
ceremony tasks that need ``SEI_GENESIS_BUCKET`` on this machine.

seictl reaches S3 through the AWS SDK for Go v2, which honours ``AWS_ENDPOINT_URL``; with an IP
endpoint it addresses objects path-style (``/<bucket>/<key>``). This serves exactly what the
genesis tasks call on one bucket: GetObject (whole or a byte range: the transfer manager
downloads in ranges), HeadObject and PutObject (plain or ``aws-chunked`` bodies: the SDK
streams uploads with a trailing checksum). Anything else answers 501, and other buckets
``NoSuchBucket``, so a task that needs more fails loudly instead of passing by accident.

The objects are those of a :class:`~controllers.sidecar.simceremony.GenesisBucket`, shared with
the simulator when both run, so tests read the same bucket whichever sidecar wrote it.
Requests are not authenticated: this is a loopback test fixture.
"""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape

from aiohttp import web

from controllers.sidecar.simceremony import GenesisBucket

__all__ = ["S3BucketServer", "decode_aws_chunked"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def decode_aws_chunked(body: bytes) -> bytes:
    """The payload of an ``aws-chunked`` body: ``<hex size>[;ext]\\r\\n<data>\\r\\n`` chunks
    up to a zero-size one, followed by trailers (ignored)."""
    out, pos = bytearray(), 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";", 1)[0], 16)
        pos = end + 2
        if size == 0:
            return bytes(out)
        out += body[pos : pos + size]
        pos += size + 2


def _error(status: int, code: str, message: str, resource: str) -> web.Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource></Error>"
    )
    return web.Response(status=status, text=xml, content_type="application/xml")


class S3BucketServer:
    """Serves ``bucket`` as the S3 bucket ``name`` on a loopback port."""

    def __init__(self, bucket: GenesisBucket, name: str, host: str = "127.0.0.1") -> None:
        self.bucket, self.name, self.host = bucket, name, host
        self.port: int | None = None
        self.requests: list[tuple[str, str]] = []
        """(method, key) of every object request served."""
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        """The value of ``AWS_ENDPOINT_URL`` for the sidecars."""
        if self.port is None:
            raise RuntimeError("the S3 stand-in is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{bucket}/{key:.+}", self._object)
        app.router.add_route("*", "/{tail:.*}", self._unsupported)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        sockets = [s for s in self._runner.addresses if isinstance(s, tuple)]
        self.port = int(sockets[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> S3BucketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _unsupported(self, request: web.Request) -> web.Response:
        return _error(501, "NotImplemented", "not served by the S3 stand-in", request.path)

    async def _object(self, request: web.Request) -> web.StreamResponse:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        self.requests.append((request.method, key))
        if bucket != self.name:
            return _error(404, "NoSuchBucket", "The specified bucket does not exist", bucket)
        if request.method == "PUT":
            body = await request.read()
            encoding = request.headers.get("Content-Encoding", "")
            sha = request.headers.get("x-amz-content-sha256", "")
            if "aws-chunked" in encoding or sha.startswith("STREAMING-"):
                body = decode_aws_chunked(body)
            self.bucket.put_bytes(key, body)
            return web.Response(status=200, headers={"ETag": _etag(body)})
        if request.method not in ("GET", "HEAD"):
            return await self._unsupported(request)
        data = self.bucket.objects.get(key)
        if data is None:
            return _error(404, "NoSuchKey", "The specified key does not exist.", key)
        headers = {
            "ETag": _etag(data),
            "Content-Type": "application/json",
            "Accept-Ranges": "bytes",
        }
        status, payload = 200, data
        match = _RANGE.fullmatch(request.headers.get("Range", ""))
        if match:
            first = int(match.group(1))
            last = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
            if first >= len(data):
                return _error(416, "InvalidRange", "The requested range is not satisfiable", key)
            status, payload = 206, data[first : last + 1]
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(payload))
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, body=payload, headers=headers)


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
