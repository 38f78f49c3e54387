"""Where the connection to the API server comes from.

Order as in controller-runtime's GetConfig: an explicit kubeconfig path, $KUBECONFIG, the
in-cluster service account, then ~/.kube/config. kubernetes_asyncio does the loading (client
certificates, tokens, exec plugins, and the in-cluster token re-read every minute, since bound
service-account tokens rotate).
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"


class ConfigError(RuntimeError):
    pass


async def load_config(
    kubeconfig: str | Path | None = None, context: str | None = None
) -> k8s_client.Configuration:
    configuration = k8s_client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        await k8s_config.load_kube_config(
            config_file=str(path), context=context, client_configuration=configuration
        )
        return configuration
    if os.environ.get(IN_CLUSTER_ENV):
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return configuration
    home = Path.home() / ".kube" / "config"
    if home.exists():
        await k8s_config.load_kube_config(
            config_file=str(home), context=context, client_configuration=configuration
        )
        return configuration
    raise ConfigError(
        "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a cluster, "
        "or create ~/.kube/config"
    )
