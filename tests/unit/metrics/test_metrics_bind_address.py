"""Bind addresses are parsed like Go's net.Listen("tcp", ...); "0" disables."""

from __future__ import annotations

import socket

import pytest

from controller_runtime.metrics.httpserver import BindAddress, listen, parse_bind_address


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (":8080", BindAddress("", 8080)),
        (":0", BindAddress("", 0)),
        ("127.0.0.1:8080", BindAddress("127.0.0.1", 8080)),
        ("0.0.0.0:8443", BindAddress("0.0.0.0", 8443)),
        ("localhost:9090", BindAddress("localhost", 9090)),
        ("[::1]:8081", BindAddress("::1", 8081)),
        ("[::]:8081", BindAddress("::", 8081)),
        ("[fe80::1%eth0]:80", BindAddress("fe80::1%eth0", 80)),
        ("host.example:65535", BindAddress("host.example", 65535)),
    ],
)
def test_parses_go_listen_addresses(address: str, expected: BindAddress) -> None:
    assert parse_bind_address(address) == expected


def test_zero_disables() -> None:
    assert parse_bind_address("0") is None


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("", "missing port"),
        ("8080", "missing port"),
        ("localhost", "missing port"),
        ("::1:8080", "too many colons"),
        ("[::1]", "missing port"),
        ("[::1", "missing ']'"),
        ("[::1]8080", "missing port"),
        ("[not-v6]:80", "invalid IPv6"),
        (":http", "invalid port"),
        (":-1", "invalid port"),
        (":65536", "invalid port"),
        (":", "invalid port"),
        (": 80", "invalid port"),
        # Fullwidth digits are digits to str.isdigit, not to Go.
        (":\uff18\uff10", "invalid port"),
    ],
)
def test_rejects_what_go_rejects(address: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_bind_address(address)


@pytest.mark.parametrize(
    ("address", "text"),
    [(BindAddress("", 80), ":80"), (BindAddress("::1", 80), "[::1]:80")],
)
def test_formats_back(address: BindAddress, text: str) -> None:
    assert str(address) == text
    assert parse_bind_address(text) == address


async def test_all_interfaces_listen_once_for_both_families() -> None:
    sock = await listen(BindAddress("", 0))
    try:
        port = sock.getsockname()[1]
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        if socket.has_dualstack_ipv6():
            with socket.create_connection(("::1", port), timeout=5):
                pass
    finally:
        sock.close()


async def test_host_name_binds_a_single_ipv4_address() -> None:
    sock = await listen(BindAddress("localhost", 0))
    try:
        assert sock.family == socket.AF_INET
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
