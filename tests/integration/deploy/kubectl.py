"""kubectl (built with the control plane) against the local cluster, and config/default applied
as a user applies it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller_runtime.envtest import ControlPlane

REPO = Path(__file__).resolve().parents[3]
MANAGER_NAMESPACE = "sei-k8s-controller-system"
MANAGER_SERVICE_ACCOUNT = "sei-k8s-controller-manager"


async def kubectl(cp: ControlPlane, *args: str) -> tuple[int, str]:
    """Exit code and combined output of `kubectl <args>` as cluster admin."""
    proc = await asyncio.create_subprocess_exec(
        str(cp.assets.directory / "kubectl"),
        f"--kubeconfig={cp.kubeconfig}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def apply_default_config(cp: ControlPlane) -> str:
    """`kubectl apply -k config/default` (idempotent); its output. Fails the test if it fails."""
    code, out = await kubectl(cp, "apply", "-k", str(REPO / "config" / "default"))
    assert code == 0, out
    return out
