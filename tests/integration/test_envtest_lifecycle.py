"""A control plane cleans up after itself, also when the code using it fails."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from controller_runtime.envtest import APISERVER, ETCD, ControlPlane, ControlPlaneOptions


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_failure_inside_the_context_stops_everything_and_keeps_logs(
    envtest_assets: Path,
) -> None:
    cp = ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets))
    pids: dict[str, int] = {}

    async def failing_test() -> None:
        async with cp:
            assert await cp.rest.status("/readyz") == 200
            pids.update({n: p.pid for n, p in cp.processes.items() if p.pid is not None})
            raise RuntimeError("test failed")

    with pytest.raises(RuntimeError, match="test failed"):
        await failing_test()
    assert set(pids) == {ETCD, APISERVER}
    assert not any(pid_alive(pid) for pid in pids.values())
    assert port_is_free(cp.ports.apiserver)
    assert port_is_free(cp.ports.etcd_client)
    # Logs survive a failure for the report; the etcd data and certificates do not.
    assert (cp.log_dir / "kube-apiserver.log").stat().st_size > 0
    assert not cp.kubeconfig.exists()


async def test_restarted_apiserver_keeps_the_data(envtest_assets: Path, tmp_path: Path) -> None:
    async with ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets, log_dir=tmp_path)) as cp:
        await cp.rest.request(
            "POST", "/api/v1/namespaces", {"metadata": {"name": "survivor"}}, ok=(201,)
        )
        await cp.restart_component(APISERVER)
        status, ns = await cp.rest.request("GET", "/api/v1/namespaces/survivor")
        assert status == 200
        assert ns["metadata"]["name"] == "survivor"


async def test_killed_apiserver_comes_back_on_its_port_with_the_data(
    envtest_assets: Path, tmp_path: Path
) -> None:
    async with ControlPlane(ControlPlaneOptions(assets_dir=envtest_assets, log_dir=tmp_path)) as cp:
        await cp.rest.request(
            "POST", "/api/v1/namespaces", {"metadata": {"name": "survivor"}}, ok=(201,)
        )
        killed = cp.processes[APISERVER].pid
        await cp.kill_component(APISERVER)
        assert killed is not None
        assert not pid_alive(killed)
        assert await cp.rest.status("/readyz") != 200
        await cp.start_component(APISERVER)
        assert cp.processes[APISERVER].pid != killed
        status, ns = await cp.rest.request("GET", "/api/v1/namespaces/survivor")
        assert status == 200
        assert ns["metadata"]["name"] == "survivor"
