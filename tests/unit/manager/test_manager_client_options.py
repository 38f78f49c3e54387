"""Small manager client options: the operator's own User-Agent, and deletecollection through the
manager's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller_runtime.manager import CachedClient, Manager, ManagerOptions


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    return path


async def test_manager_create_uses_the_configured_user_agent(kubeconfig: Path) -> None:
    mgr = await Manager.create(kubeconfig, ManagerOptions(user_agent="sei-controller/1.0"))
    try:
        assert mgr.api_reader.rest.user_agent == "sei-controller/1.0"
    finally:
        await mgr.api_reader.rest.close()


async def test_manager_create_defaults_to_the_runtime_user_agent(kubeconfig: Path) -> None:
    mgr = await Manager.create(kubeconfig)
    try:
        assert "controller-runtime-python" in mgr.api_reader.rest.user_agent
    finally:
        await mgr.api_reader.rest.close()


class _Direct:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def delete_all_of(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((args, kwargs))
        return {"kind": "Status"}


async def test_cached_client_deletes_collections_directly() -> None:
    direct = _Direct()
    client = CachedClient(cache=None, client=direct)  # type: ignore[arg-type]
    await client.delete_all_of("v1", "ConfigMap", "ns", label_selector="a=b")
    assert direct.calls == [(("v1", "ConfigMap", "ns"), {"label_selector": "a=b"})]
