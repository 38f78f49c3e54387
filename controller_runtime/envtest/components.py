"""Command lines and configuration files of the control-plane components (pure functions).

Every component listens on 127.0.0.1 only, on ports chosen by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from controller_runtime.envtest.pki import PkiFiles

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# kwok manages exactly the nodes carrying this annotation (it never touches real nodes).
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


def etcd_argv(binary: Path, data_dir: Path, ports: Ports) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(binary),
        "--name=envtest",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=envtest={peer}",
        # Test data is throwaway: skipping fsync makes etcd several times faster on slow disks.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_argv(
    binary: Path,
    pki: PkiFiles,
    ports: Ports,
    cert_dir: Path,
    extra: list[str],
) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        "--bind-address=127.0.0.1",
        # Without an advertise address the server looks for a default route and may fail.
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={cert_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        # Published for the controller manager's and scheduler's delegated authentication.
        f"--requestheader-client-ca-file={pki.ca_cert}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        # The `kubernetes` Service cannot point at a loopback address; nothing here needs it.
        "--endpoint-reconciler-type=none",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        # No kubelet mounts tokens here; the plugin would only delay pod creation until the
        # namespace's default ServiceAccount exists.
        "--disable-admission-plugins=ServiceAccount",
        "--profiling=false",
        *extra,
    ]


def controller_manager_argv(
    binary: Path, pki: PkiFiles, kubeconfig: Path, port: int, client_qps: float | None = None
) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--controllers=*",
        f"--root-ca-file={pki.ca_cert}",
        f"--service-account-private-key-file={pki.service_account_key}",
        "--use-service-account-credentials=false",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        "--profiling=false",
        *_qps_flags(client_qps),
    ]


def _qps_flags(client_qps: float | None) -> list[str]:
    if client_qps is None:
        return []
    return [f"--kube-api-qps={client_qps:g}", f"--kube-api-burst={int(2 * client_qps)}"]


def scheduler_config(kubeconfig: Path, client_qps: float | None = None) -> str:
    """KubeSchedulerConfiguration: with --config, the kubeconfig and leader flags live here."""
    connection: dict[str, object] = {"kubeconfig": str(kubeconfig)}
    if client_qps is not None:
        connection.update(qps=client_qps, burst=int(2 * client_qps))
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": connection,
        "leaderElection": {"leaderElect": False},
    }
    return yaml.safe_dump(config, sort_keys=False)


def scheduler_argv(binary: Path, config: Path, kubeconfig: Path, port: int) -> list[str]:
    return [
        str(binary),
        f"--config={config}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
    ]


def kwok_argv(binary: Path, kubeconfig: Path, stages: Path) -> list[str]:
    key, value = KWOK_NODE_ANNOTATION
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--config={stages}",
        f"--manage-nodes-with-annotation-selector={key}={value}",
        "--node-lease-duration-seconds=40",
    ]


def fake_node(name: str) -> dict[str, object]:
    """A Node that kwok keeps Ready; large enough to hold every pod a test creates."""
    resources = {"cpu": "64", "memory": "512Gi", "pods": "250", "ephemeral-storage": "1Ti"}
    key, value = KWOK_NODE_ANNOTATION
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {"allocatable": resources, "capacity": resources},
    }
