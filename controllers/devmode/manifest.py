"""What the dev mode deploys and the platform it deploys with.

The SeiNodeDeployment is config/samples/sei_v1alpha1_seinodedeployment_inplace.yaml less what a
laptop cannot serve: the S3 snapshot and the EC2-tag peers (both call AWS, which the local
sidecars cannot reach), the public routes (they need a Gateway) and the ServiceMonitor (it
needs the Prometheus Operator). What is left is a 3-replica InPlace group of pacific-1 full
nodes, a chain whose genesis the real sidecar carries, so every task of their plans runs for
real on `seictl serve`. tests/unit/devmode pins that relation to the sample.
"""

from __future__ import annotations

from typing import Any

from controllers.platform import Platform

__all__ = [
    "DEV_PLATFORM_ENV",
    "GROUP_NAME",
    "INITIAL_IMAGE",
    "UPGRADE_IMAGE",
    "dev_deployment",
    "dev_platform",
    "image_patch",
]

GROUP_NAME = "pacific-1-rpc"
INITIAL_IMAGE = "ghcr.io/sei-protocol/seid:v6.3.0"
UPGRADE_IMAGE = "ghcr.io/sei-protocol/seid:v6.4.0"

# The platform of a kwok cluster: the fake nodes are labelled into SEI_NODEPOOL_NAME, and the
# node volumes use kwok's StorageClass, whose PVCs kwok provisions and binds.
DEV_PLATFORM_ENV = {
    "SEI_NODEPOOL_NAME": "sei-node",
    "SEI_TOLERATION_KEY": "sei.io/workload",
    "SEI_TOLERATION_VALUE": "sei-node",
    "SEI_SERVICE_ACCOUNT": "seid-node",
    "SEI_STORAGE_CLASS_PERF": "kwok-volume",
    "SEI_STORAGE_CLASS_DEFAULT": "kwok-volume",
    "SEI_STORAGE_SIZE_DEFAULT": "2000Gi",
    "SEI_STORAGE_SIZE_ARCHIVE": "4000Gi",
    "SEI_RESOURCE_CPU_ARCHIVE": "16",
    "SEI_RESOURCE_MEM_ARCHIVE": "256Gi",
    "SEI_RESOURCE_CPU_DEFAULT": "4",
    "SEI_RESOURCE_MEM_DEFAULT": "32Gi",
    "SEI_SNAPSHOT_BUCKET": "local-snapshots",
    "SEI_SNAPSHOT_REGION": "local",
    "SEI_RESULT_EXPORT_BUCKET": "local-results",
    "SEI_RESULT_EXPORT_REGION": "local",
    "SEI_RESULT_EXPORT_PREFIX": "shadow-results/",
    "SEI_GENESIS_BUCKET": "local-genesis",
    "SEI_GENESIS_REGION": "local",
    "SEI_GATEWAY_NAME": "sei-gateway",
    "SEI_GATEWAY_NAMESPACE": "istio-system",
    "SEI_GATEWAY_DOMAIN": "dev.local",
}


def dev_platform() -> Platform:
    return Platform.from_env(DEV_PLATFORM_ENV)


def dev_deployment(namespace: str, replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": GROUP_NAME, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "InPlace"},
            "template": {
                "metadata": {"labels": {"team": "rpc"}},
                "spec": {"chainId": "pacific-1", "image": INITIAL_IMAGE, "fullNode": {}},
            },
        },
    }


def image_patch(image: str) -> dict[str, Any]:
    """The merge patch of an InPlace image upgrade: only the template's image changes."""
    return {"spec": {"template": {"spec": {"image": image}}}}
