"""The bootstrap Job and its Service: restore an S3 snapshot onto the data volume and sync to
the target height before the StatefulSet exists (spec 12.3).

The Job pod borrows the StatefulSet pod's DNS identity (hostname ``<name>-0``, subdomain
``<name>``, Service ``<name>``), so the sidecar address is the same in both phases.
"""

from __future__ import annotations

from typing import Any, Final

from api.v1alpha1 import SeiNode

from ..platform import Platform
from .containers import (
    MAIN_CONTAINER,
    SIDECAR_PORT_NAME,
    data_volume_mount,
    main_resources,
    seid_init_container,
    sidecar_container,
)
from .labels import bootstrap_labels
from .node import (
    DATA_DIR,
    RenderError,
    node_name,
    node_namespace,
    sidecar_port,
)
from .pod import child_metadata, data_volumes, do_not_disrupt, node_tolerations
from .scripts import bootstrap_script

__all__ = [
    "BOOTSTRAP_BACKOFF_LIMIT",
    "BOOTSTRAP_GRACE_SECONDS",
    "BOOTSTRAP_TTL_SECONDS",
    "bootstrap_job_name",
    "render_bootstrap_job",
    "render_bootstrap_service",
]

BOOTSTRAP_TTL_SECONDS: Final = 3600
BOOTSTRAP_BACKOFF_LIMIT: Final = 0
BOOTSTRAP_GRACE_SECONDS: Final = 120


def bootstrap_job_name(node: SeiNode) -> str:
    return f"{node_name(node)}-bootstrap"


def render_bootstrap_service(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """Headless Service ``<name>`` selecting the Job pod; only the sidecar port."""
    del platform  # same signature as the other renderers
    port = sidecar_port(node)
    labels = bootstrap_labels(node)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(node, node_name(node), labels),
        "spec": {
            "clusterIP": "None",
            "selector": dict(labels),
            "publishNotReadyAddresses": True,
            "ports": [
                {"name": SIDECAR_PORT_NAME, "port": port, "targetPort": port, "protocol": "TCP"}
            ],
        },
    }


def _bootstrap_source(node: SeiNode) -> tuple[str, int]:
    """(bootstrapImage, target height), or RenderError naming the node."""
    where = f"(node {node_namespace(node)}/{node_name(node)})"
    source = node.spec.snapshot_source()
    if source is None or source.s3 is None:
        raise RenderError(f"bootstrap job requires an S3 snapshot source {where}")
    if not source.bootstrap_image:
        raise RenderError(f"bootstrap job requires snapshot.bootstrapImage {where}")
    return source.bootstrap_image, source.s3.target_height


def render_bootstrap_job(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """Job ``<name>-bootstrap``: seid-init and the sidecar (no probes), then seid with
    ``--halt-height`` (exit 130 counts as success). Ignores ``spec.entrypoint``; no node
    affinity; no retries (backoffLimit 0)."""
    image, height = _bootstrap_source(node)
    name = node_name(node)
    labels = bootstrap_labels(node)
    seid = {
        "name": MAIN_CONTAINER,
        "image": image,
        "command": ["/bin/bash", "-c"],
        "args": [bootstrap_script(sidecar_port(node), height)],
        "env": [{"name": "TMPDIR", "value": f"{DATA_DIR}/tmp"}],
        "volumeMounts": [data_volume_mount()],
        "resources": main_resources(node, platform),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": child_metadata(node, bootstrap_job_name(node), labels),
        "spec": {
            "backoffLimit": BOOTSTRAP_BACKOFF_LIMIT,
            "ttlSecondsAfterFinished": BOOTSTRAP_TTL_SECONDS,
            "template": {
                "metadata": {"labels": dict(labels), "annotations": do_not_disrupt()},
                "spec": {
                    "hostname": f"{name}-0",
                    "subdomain": name,
                    "serviceAccountName": platform.service_account,
                    "shareProcessNamespace": True,
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": BOOTSTRAP_GRACE_SECONDS,
                    "tolerations": node_tolerations(platform),
                    "volumes": data_volumes(node),
                    "initContainers": [
                        seid_init_container(node, image),
                        sidecar_container(node, platform, probes=False),
                    ],
                    "containers": [seid],
                },
            },
        },
    }
