"""In-cluster configuration with real service-account tokens, including a rotated token."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.config import incluster_config

from controller_runtime.client import Client, ForbiddenError, RestClient, load_config
from controller_runtime.envtest import ControlPlane


async def service_account(kube: Client, namespace: str, name: str, verbs: list[str]) -> str:
    """A ServiceAccount allowed `verbs` on ConfigMaps of the namespace; returns a token."""
    meta = {"name": name, "namespace": namespace}
    await kube.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    rbac = "rbac.authorization.k8s.io/v1"
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}
    await kube.create({"apiVersion": rbac, "kind": "Role", "metadata": meta, "rules": [rule]})
    binding: dict[str, Any] = {
        "apiVersion": rbac,
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    await kube.create(binding)
    review = await kube.rest.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    token: str = review["status"]["token"]
    return token


async def test_in_cluster_token_is_used_and_rereads_rotation(
    control_plane: ControlPlane,
    kube: Client,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = await service_account(kube, namespace, "reader", ["get", "list"])
    writer = await service_account(kube, namespace, "writer", ["get", "list", "create"])
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text(reader)
    (sa_dir / "ca.crt").write_bytes(control_plane.pki.ca_cert.read_bytes())
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
           "KUBERNETES_SERVICE_PORT": str(control_plane.ports.apiserver)}  # fmt: skip

    # Tokens are re-read when older than the refresh period; make that "always" for the test.
    monkeypatch.setattr(incluster_config, "TOKEN_REFRESH_PERIOD", datetime.timedelta(0))
    cfg = await load_config(environ=env, service_account_dir=sa_dir)
    client = Client(RestClient(cfg))
    cm = {"apiVersion": "v1", "kind": "ConfigMap"}
    try:
        listed = await client.list("v1", "ConfigMap", namespace)  # allowed for the reader
        assert isinstance(listed["items"], list)
        with pytest.raises(ForbiddenError, match=r"system:serviceaccount:.*:reader"):
            await client.create({**cm, "metadata": {"name": "x", "namespace": namespace}})

        (sa_dir / "token").write_text(writer)  # the kubelet rotated the projected token
        created = await client.create({**cm, "metadata": {"name": "x", "namespace": namespace}})
        assert created["metadata"]["name"] == "x"
    finally:
        await client.rest.close()
