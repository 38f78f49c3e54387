"""Where the connection to the API server comes from.

Order as in controller-runtime's GetConfig: an explicit kubeconfig path, $KUBECONFIG, the
in-cluster service account, then ~/.kube/config. kubernetes_asyncio does the loading (client
certificates, tokens, exec plugins), imported without its generated API (see kubeconfig.py).
In-cluster, the token file is re-read every minute, since bound service-account tokens rotate;
every request asks for the current token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from controller_runtime.client.kubeconfig import loaders

if TYPE_CHECKING:
    from kubernetes_asyncio.client.configuration import Configuration

IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(RuntimeError):
    pass


async def load_config(
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> Configuration:
    env = os.environ if environ is None else environ
    k8s = loaders()
    configuration = k8s.configuration()
    path = kubeconfig or env.get("KUBECONFIG")
    if path:
        await k8s.load_kube_config(
            config_file=str(path), context=context, client_configuration=configuration
        )
        return configuration
    if env.get(IN_CLUSTER_ENV):
        loader = k8s.in_cluster(
            token_filename=str(service_account_dir / "token"),
            cert_filename=str(service_account_dir / "ca.crt"),
            environ=dict(env),
        )
        loader.load_and_set(configuration)
        return configuration
    home = Path.home() / ".kube" / "config"
    if home.exists():
        await k8s.load_kube_config(
            config_file=str(home), context=context, client_configuration=configuration
        )
        return configuration
    raise ConfigError(
        "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a cluster, "
        "or create ~/.kube/config"
    )
