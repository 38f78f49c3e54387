"""Child objects of a SeiNode as plain JSON dicts for server-side apply / create (5.2-5.4, 12.3).

Pure functions of (SeiNode, Platform). Each object carries apiVersion, kind, name, namespace,
labels and the controller ownerReference, and exactly the fields the reference operator sends,
so applying ours over an object the reference wrote is a no-op (same field set, same values,
no pod restart). The reference applies the StatefulSet and headless Service with field manager
``seinode-controller`` (force); it creates the PVC, the bootstrap Service and the bootstrap Job.
"""

from __future__ import annotations

from typing import Any, Final

from api.v1alpha1 import SeiNode

from ..platform import Platform
from .bootstrap import render_bootstrap_job, render_bootstrap_service
from .containers import (
    MAIN_CONTAINER,
    container_ports,
    data_volume_mount,
    main_readiness_probe,
    main_resources,
    main_startup_probe,
    seid_init_container,
    sidecar_container,
)
from .labels import resource_labels, selector_labels
from .node import (
    DATA_DIR,
    NODE_PORTS,
    RenderError,
    data_pvc_name,
    needs_bootstrap,
    node_mode,
    node_name,
    sidecar_port,
)
from .pod import child_metadata, data_volumes, do_not_disrupt, node_affinity, node_tolerations
from .scripts import node_command, wait_wrapper_script

__all__ = [
    "FIELD_MANAGER",
    "RenderError",
    "main_container",
    "needs_bootstrap",
    "node_mode",
    "pod_spec",
    "render_bootstrap_job",
    "render_bootstrap_service",
    "render_headless_service",
    "render_pvc",
    "render_statefulset",
    "resource_labels",
]

FIELD_MANAGER: Final = "seinode-controller"
_GRPC_APP_PROTOCOL: Final = "kubernetes.io/h2c"


def render_pvc(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """``data-<name>``, RWO, perf storage class; archive gets the archive size.

    (The reference's default-storage-class branch is unreachable: every mode uses perf.)
    """
    archive = node_mode(node) == "archive"
    size = platform.storage_size_archive if archive else platform.storage_size_default
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": child_metadata(node, data_pvc_name(node), resource_labels(node)),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": platform.storage_class_perf,
            "resources": {"requests": {"storage": size}},
        },
    }


def main_container(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """seid, started by the wait wrapper once the sidecar is ready (mark-ready)."""
    script = wait_wrapper_script(sidecar_port(node), node_command(node.spec.entrypoint))
    return {
        "name": MAIN_CONTAINER,
        "image": node.spec.image,
        "command": ["/bin/bash", "-c"],
        "args": [script],
        "env": [{"name": "TMPDIR", "value": f"{DATA_DIR}/tmp"}],
        "ports": container_ports(),
        "volumeMounts": [data_volume_mount()],
        "resources": main_resources(node, platform),
        "startupProbe": main_startup_probe(node),
        "readinessProbe": main_readiness_probe(),
    }


def pod_spec(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """The node pod: seid-init, the native sidecar, then seid, sharing one PID namespace
    (the sidecar signals seid) and the data volume."""
    return {
        "serviceAccountName": platform.service_account,
        "shareProcessNamespace": True,
        "tolerations": node_tolerations(platform),
        "affinity": node_affinity(platform),
        "volumes": data_volumes(node),
        "initContainers": [
            seid_init_container(node, node.spec.image),
            sidecar_container(node, platform, probes=True),
        ],
        "containers": [main_container(node, platform)],
    }


def render_statefulset(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """Single-replica StatefulSet ``<name>`` selecting only ``sei.io/node``.

    No volumeClaimTemplates (the PVC is separate); ``updateStrategy: {}`` as the reference
    sends it, leaving the strategy to the API server's default.
    """
    name = node_name(node)
    labels = resource_labels(node)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": child_metadata(node, name, labels),
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": selector_labels(node)},
            "updateStrategy": {},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    "annotations": do_not_disrupt(),
                },
                "spec": pod_spec(node, platform),
            },
        },
    }


def render_headless_service(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """Headless Service ``<name>`` giving the pod its DNS name; the seven node ports (not the
    sidecar port: pod DNS resolves to the pod IP anyway), grpc as h2c."""
    del platform  # same signature as the other renderers; nothing platform-specific here
    ports = []
    for port_name, port in NODE_PORTS:
        entry: dict[str, Any] = {
            "name": port_name,
            "port": port,
            "targetPort": port,
            "protocol": "TCP",
        }
        if port_name == "grpc":
            entry["appProtocol"] = _GRPC_APP_PROTOCOL
        ports.append(entry)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(node, node_name(node), resource_labels(node)),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(node),
            "publishNotReadyAddresses": True,
            "ports": ports,
        },
    }
