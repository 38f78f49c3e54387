"""Loading a kubeconfig does not import kubernetes_asyncio's generated API, and the package stays
whole for code that does want it. Each case runs in a fresh interpreter: this test process has
imported the whole package long ago."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: secret-token}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return path


def run_fresh(code: str) -> str:
    """Runs code in a new interpreter; returns its stdout (fails the test on an exception)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_load_config_imports_no_generated_model_or_api(kubeconfig: Path) -> None:
    out = run_fresh(f"""
        import asyncio, sys
        import controller_runtime.manager
        from controller_runtime.client import load_config
        cfg = asyncio.run(load_config({str(kubeconfig)!r}))
        print(cfg.host, cfg.api_key["BearerToken"])
        print(sorted(m for m in sys.modules if m.startswith(("kubernetes_asyncio.client.models",
              "kubernetes_asyncio.client.api", "kubernetes_asyncio.watch"))))
    """)
    assert out.splitlines() == ["https://127.0.0.1:6443 Bearer secret-token", "[]"]


def test_the_whole_package_is_importable_after_a_load(kubeconfig: Path) -> None:
    out = run_fresh(f"""
        import asyncio
        from controller_runtime.client import load_config
        cfg = asyncio.run(load_config({str(kubeconfig)!r}))
        from kubernetes_asyncio import client, config, watch
        import kubernetes_asyncio
        print(client.CoreV1Api.__name__, watch.Watch.__name__, kubernetes_asyncio.__version__)
        print(type(cfg) is client.Configuration is client.configuration.Configuration)
        api = asyncio.run(config.new_client_from_config({str(kubeconfig)!r}))
        print(type(api) is client.ApiClient, api.configuration.host)
    """)
    lines = out.splitlines()
    assert lines[0].startswith("CoreV1Api Watch ")
    assert lines[1:] == ["True", "True https://127.0.0.1:6443"]


def test_load_config_uses_an_already_imported_package(kubeconfig: Path) -> None:
    out = run_fresh(f"""
        import asyncio
        from kubernetes_asyncio import client
        from controller_runtime.client import load_config
        cfg = asyncio.run(load_config({str(kubeconfig)!r}))
        print(type(cfg) is client.Configuration, cfg.host)
    """)
    assert out == "True https://127.0.0.1:6443"


def test_importing_the_runtime_leaves_cryptography_to_self_signed_serving() -> None:
    out = run_fresh("""
        import sys
        import controller_runtime.manager
        print("cryptography" in sys.modules)
        from controller_runtime.metrics.tls import self_signed_certificate
        cert, key = self_signed_certificate()
        print(cert.startswith(b"-----BEGIN CERTIFICATE-----"), "cryptography" in sys.modules)
    """)
    assert out.splitlines() == ["False", "True True"]
