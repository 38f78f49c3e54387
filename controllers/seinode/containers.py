"""Containers of the node pod and of the bootstrap Job pod (spec 5.3, 12.3).

Every dict holds exactly the fields the reference operator sends (its Go structs serialise an
empty ``resources: {}``, so we do too): server-side apply then owns the same field set, and the
API server's defaults (imagePullPolicy, terminationMessagePath, probe timeouts ...) stay its own.
"""

from __future__ import annotations

from typing import Any, Final

from api.v1alpha1 import SeiNode

from ..platform import Platform
from .node import (
    DATA_DIR,
    DATA_VOLUME,
    NODE_PORTS,
    node_mode,
    sidecar_image,
    sidecar_port,
)
from .scripts import seid_init_script

__all__ = [
    "MAIN_CONTAINER",
    "RPC_PORT",
    "SEID_INIT_CONTAINER",
    "SIDECAR_CONTAINER",
    "SIDECAR_PORT_NAME",
    "container_ports",
    "data_volume_mount",
    "main_readiness_probe",
    "main_resources",
    "main_startup_probe",
    "seid_init_container",
    "sidecar_container",
    "sidecar_resources",
]

SEID_INIT_CONTAINER: Final = "seid-init"
SIDECAR_CONTAINER: Final = "sei-sidecar"
MAIN_CONTAINER: Final = "seid"
SIDECAR_PORT_NAME: Final = "sidecar"
RPC_PORT: Final = 26657


def data_volume_mount() -> dict[str, Any]:
    return {"name": DATA_VOLUME, "mountPath": DATA_DIR}


def container_ports() -> list[dict[str, Any]]:
    """The seven node ports in sei-config order."""
    return [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in NODE_PORTS]


def seid_init_container(node: SeiNode, image: str) -> dict[str, Any]:
    """``seid init`` once per volume; ``image`` is spec.image, or bootstrapImage in the Job."""
    return {
        "name": SEID_INIT_CONTAINER,
        "image": image,
        "command": ["/bin/sh", "-c", seid_init_script(node.spec.chain_id)],
        "resources": {},
        "volumeMounts": [data_volume_mount()],
    }


def _quantity(value: int | str) -> str:
    # Go writes resource.Quantity as a string; the API server canonicalises the text.
    return str(value)


def sidecar_resources(node: SeiNode) -> dict[str, Any]:
    """``spec.sidecar.resources`` as core/v1 ResourceRequirements; empty when unset."""
    sidecar = node.spec.sidecar
    if sidecar is None or sidecar.resources is None:
        return {}
    rendered = sidecar.resources.to_dict()
    for key in ("limits", "requests"):
        if rendered.get(key) is not None:
            rendered[key] = {name: _quantity(q) for name, q in rendered[key].items()}
    return {key: value for key, value in rendered.items() if value is not None}


def _sidecar_env(node: SeiNode, platform: Platform) -> list[dict[str, Any]]:
    pairs = (
        ("SEI_CHAIN_ID", node.spec.chain_id),
        ("SEI_SIDECAR_PORT", str(sidecar_port(node))),
        ("SEI_HOME", DATA_DIR),
        ("SEI_GENESIS_BUCKET", platform.genesis_bucket),
        ("SEI_GENESIS_REGION", platform.genesis_region),
        ("SEI_SNAPSHOT_BUCKET", platform.snapshot_bucket),
        ("SEI_SNAPSHOT_REGION", platform.snapshot_region),
    )
    return [{"name": name, "value": value} for name, value in pairs]


def _http_probe(path: str, port: int, initial: int, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def sidecar_container(node: SeiNode, platform: Platform, *, probes: bool) -> dict[str, Any]:
    """The seictl native sidecar (an init container with restartPolicy Always).

    ``probes``: liveness /v0/livez and readiness /v0/healthz in the StatefulSet; the bootstrap
    Job's sidecar has none.
    """
    port = sidecar_port(node)
    container: dict[str, Any] = {
        "name": SIDECAR_CONTAINER,
        "image": sidecar_image(node),
        "command": ["seictl", "serve"],
        "restartPolicy": "Always",
        "env": _sidecar_env(node, platform),
        "ports": [{"name": SIDECAR_PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "volumeMounts": [data_volume_mount()],
        "resources": sidecar_resources(node),
    }
    if probes:
        container["livenessProbe"] = _http_probe("/v0/livez", port, 5, 10, 3)
        container["readinessProbe"] = _http_probe("/v0/healthz", port, 2, 5, 6)
    return container


def main_resources(node: SeiNode, platform: Platform) -> dict[str, Any]:
    """seid requests by mode (archive or the rest); never limits."""
    if node_mode(node) == "archive":
        cpu, memory = platform.resource_cpu_archive, platform.resource_mem_archive
    else:
        cpu, memory = platform.resource_cpu_default, platform.resource_mem_default
    return {"requests": {"cpu": cpu, "memory": memory}}


def main_startup_probe(node: SeiNode) -> dict[str, Any]:
    """Sidecar /v0/healthz, up to 86400 x 5 s: seid starts only after mark-ready."""
    return _http_probe("/v0/healthz", sidecar_port(node), 5, 5, 86400)


def main_readiness_probe() -> dict[str, Any]:
    probe = _http_probe("/lag_status", RPC_PORT, 30, 10, 3)
    probe["timeoutSeconds"] = 5
    return probe
