"""TLS for the secure metrics server: a certificate from a directory (reloaded when it is
rotated on disk) or a self-signed one generated at start.

Like controller-runtime: `<cert_dir>/tls.crt` and `<cert_dir>/tls.key` are used when both exist;
otherwise a self-signed certificate for localhost/127.0.0.1 encrypts the traffic (enough for a
Prometheus that skips verification, as kube-controller-manager's own metrics endpoint does).

Invariants:
- A rotated certificate reaches new handshakes without a restart: the watcher reloads the chain
  into the same SSLContext, which is safe because handshakes run on the event loop thread too.
- A half-written or broken pair on disk never replaces a working one; the old pair keeps serving.
- Every read of the pair from disk counts in `certwatcher_read_certificate_total`, every failed
  one also in `certwatcher_read_certificate_errors_total` (controller-runtime's names).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import tempfile
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry, Counter

from controller_runtime.clock import REAL_CLOCK, Clock

log = structlog.get_logger("metrics.tls")

TLSOption = Callable[[ssl.SSLContext], None]
"""Adjusts the server's SSLContext after the defaults (TLS >= 1.2, http/1.1) are applied."""

SELF_SIGNED_VALIDITY = datetime.timedelta(days=365)
RELOAD_INTERVAL = 10.0


def self_signed_certificate(
    host: str = "localhost",
    ips: Sequence[str] = ("127.0.0.1", "::1"),
    *,
    clock: Clock = REAL_CLOCK,
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a fresh self-signed EC P-256 serving certificate."""
    # Imported here: cryptography costs about 9 MiB of RSS, and only a secure server without
    # a certificate on disk needs it.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = clock.wall()
    sans: list[x509.GeneralName] = [x509.DNSName(host)]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + SELF_SIGNED_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _base_context(tls_opts: Sequence[TLSOption]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # aiohttp speaks HTTP/1.1 only; never advertise h2.
    ctx.set_alpn_protocols(["http/1.1"])
    for opt in tls_opts:
        opt(ctx)
    return ctx


def _load_pem(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Loads a pair into ctx, leaving ctx untouched when the pair is broken or mismatched
    (a failed load_cert_chain can leave a context with a certificate but no usable key)."""
    # The ssl module loads key material from files only; these copies live for microseconds.
    with tempfile.TemporaryDirectory(prefix="metrics-tls-") as tmp:
        cert_path, key_path = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        cert_path.write_bytes(cert_pem)
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
        ctx.load_cert_chain(cert_path, key_path)


_Stamp = tuple[tuple[int, int, int], ...]


def _stamp(*paths: Path) -> _Stamp:
    out = []
    for p in paths:
        st = p.stat()
        out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


_metrics: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Counter]] = (
    weakref.WeakKeyDictionary()
)


def certwatcher_metrics(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(certwatcher_read_certificate_total, certwatcher_read_certificate_errors_total), the
    names controller-runtime's certwatcher uses; registered once per registry."""
    if registry not in _metrics:
        _metrics[registry] = (
            Counter(
                "certwatcher_read_certificate",
                "Total number of certificate reads",
                registry=registry,
            ),
            Counter(
                "certwatcher_read_certificate_errors",
                "Total number of certificate read errors",
                registry=registry,
            ),
        )
    return _metrics[registry]


class ServingCertificate:
    """The SSLContext a secure server listens with, and the watcher that keeps it current."""

    def __init__(
        self,
        cert_dir: Path | None,
        cert_name: str = "tls.crt",
        key_name: str = "tls.key",
        tls_opts: Sequence[TLSOption] = (),
        reload_interval: float = RELOAD_INTERVAL,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = REAL_CLOCK if clock is None else clock
        self.cert_path = cert_dir / cert_name if cert_dir is not None else None
        self.key_path = cert_dir / key_name if cert_dir is not None else None
        self._tls_opts = tuple(tls_opts)
        self._reload_interval = reload_interval
        self._counters = certwatcher_metrics(registry) if registry is not None else None
        self._watcher: asyncio.Task[None] | None = None
        self._loaded_stamp: _Stamp | None = None
        self.context: ssl.SSLContext | None = None
        self.self_signed = False

    def _read_into(self, ctx: ssl.SSLContext, cert: Path, key: Path) -> _Stamp:
        """Loads the pair from disk into ctx; returns the files' stamp taken before reading
        (so a change during the read is seen as a change next time)."""
        if self._counters is not None:
            self._counters[0].inc()
        try:
            stamp = _stamp(cert, key)
            # Both files are read once, then validated and loaded from those bytes, so a
            # rotation racing with this read cannot mix an old key with a new certificate.
            _load_pem(ctx, cert.read_bytes(), key.read_bytes())
        except Exception:
            if self._counters is not None:
                self._counters[1].inc()
            raise
        return stamp

    def load(self) -> ssl.SSLContext:
        """Builds the context: the pair from cert_dir when both files exist, else self-signed."""
        ctx = _base_context(self._tls_opts)
        cert, key = self.cert_path, self.key_path
        if cert is not None and key is not None and cert.exists() and key.exists():
            self._loaded_stamp = self._read_into(ctx, cert, key)
            self.self_signed = False
        else:
            if cert is not None:
                log.warning(
                    "serving certificate not found, using a self-signed one",
                    cert=str(cert),
                    key=str(key),
                )
            _load_pem(ctx, *self_signed_certificate(clock=self.clock))
            self.self_signed = True
        self.context = ctx
        return ctx

    def start_watching(self) -> None:
        """Reloads the pair from disk when it changes (only when it came from disk)."""
        cert, key, ctx, stamp = self.cert_path, self.key_path, self.context, self._loaded_stamp
        if self.self_signed or self._watcher is not None:
            return
        if cert is None or key is None or ctx is None or stamp is None:
            return
        self._watcher = asyncio.get_running_loop().create_task(
            self._watch(cert, key, ctx, stamp), name="metrics-certificate-watcher"
        )

    async def stop_watching(self) -> None:
        task, self._watcher = self._watcher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, cert: Path, key: Path, ctx: ssl.SSLContext, last: _Stamp) -> None:
        while True:
            await self.clock.sleep(self._reload_interval)
            try:
                if _stamp(cert, key) == last:
                    continue
                last = self._read_into(ctx, cert, key)
            except (OSError, ssl.SSLError) as exc:
                # Mid-rotation (one file new, the other old) fails here; the next tick retries,
                # and the pair loaded before keeps serving.
                log.warning("serving certificate reload failed", cert=str(cert), error=str(exc))
                continue
            log.info("serving certificate reloaded", cert=str(cert))
