"""Serving certificates: self-signed fallback, a pair from a directory, reload on rotation, and a
broken pair never replacing a working one. Checked through real TLS handshakes on loopback."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from prometheus_client import CollectorRegistry

from controller_runtime.envtest import eventually
from controller_runtime.metrics.tls import ServingCertificate, self_signed_certificate

Serve = Callable[[ssl.SSLContext], Awaitable["TlsEndpoint"]]


def der(cert_pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)


def trusting(cert_pem: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=cert_pem.decode())


def write_pair(directory: Path, cert_pem: bytes, key_pem: bytes) -> None:
    (directory / "tls.key").write_bytes(key_pem)
    (directory / "tls.crt").write_bytes(cert_pem)


class TlsEndpoint:
    """An asyncio TLS server on loopback whose presented certificate a test can read."""

    def __init__(self, server: asyncio.Server) -> None:
        self.port = server.sockets[0].getsockname()[1]

    async def presented(self, verify: ssl.SSLContext | None = None) -> bytes:
        if verify is None:
            verify = ssl.create_default_context()
            verify.check_hostname = False
            verify.verify_mode = ssl.CERT_NONE
        _, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=verify, server_hostname="localhost"
        )
        try:
            cert = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            assert isinstance(cert, bytes)
            return cert
        finally:
            writer.close()
            await writer.wait_closed()


@pytest_asyncio.fixture(loop_scope="session")
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def start(ctx: ssl.SSLContext) -> TlsEndpoint:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
        servers.append(server)
        return TlsEndpoint(server)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def test_self_signed_certificate_is_for_localhost() -> None:
    cert_pem, key_pem = self_signed_certificate()
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert b"PRIVATE KEY" in key_pem


async def test_without_a_pair_a_self_signed_certificate_is_served(
    serve: Serve, tmp_path: Path
) -> None:
    cert = ServingCertificate(tmp_path)  # the directory exists but holds no pair
    endpoint = await serve(cert.load())
    assert cert.self_signed
    assert len(await endpoint.presented()) > 0
    cert.start_watching()  # nothing to watch: a no-op
    await cert.stop_watching()


async def test_minimum_tls_version_is_1_2(tmp_path: Path) -> None:
    ctx = ServingCertificate(None).load()
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


async def test_pair_from_directory_is_served_and_reloaded(serve: Serve, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    old_cert, old_key = self_signed_certificate()
    write_pair(tmp_path, old_cert, old_key)
    cert = ServingCertificate(tmp_path, reload_interval=0.05, registry=registry)
    endpoint = await serve(cert.load())
    assert not cert.self_signed
    assert await endpoint.presented(trusting(old_cert)) == der(old_cert)
    assert registry.get_sample_value("certwatcher_read_certificate_total") == 1

    cert.start_watching()
    try:
        new_cert, new_key = self_signed_certificate()
        write_pair(tmp_path, new_cert, new_key)
        await eventually(
            lambda: endpoint.presented(),
            until=lambda presented: presented == der(new_cert),
            timeout=10,
            interval=0.05,
            message="rotated certificate served",
        )
        # The new one verifies against its own trust, the old trust is gone.
        assert await endpoint.presented(trusting(new_cert)) == der(new_cert)
        with pytest.raises(ssl.SSLCertVerificationError):
            await endpoint.presented(trusting(old_cert))
    finally:
        await cert.stop_watching()


async def test_a_broken_pair_never_replaces_a_working_one(serve: Serve, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    good_cert, good_key = self_signed_certificate()
    write_pair(tmp_path, good_cert, good_key)
    cert = ServingCertificate(tmp_path, reload_interval=0.05, registry=registry)
    endpoint = await serve(cert.load())
    cert.start_watching()
    try:
        # A new certificate with the old key: a rotation caught half-way.
        write_pair(tmp_path, self_signed_certificate()[0], good_key)
        await eventually(
            lambda: registry.get_sample_value("certwatcher_read_certificate_errors_total"),
            until=lambda errors: bool(errors and errors >= 1),
            timeout=10,
            interval=0.05,
            message="failed reload attempted",
        )
        assert await endpoint.presented(trusting(good_cert)) == der(good_cert)
    finally:
        await cert.stop_watching()
