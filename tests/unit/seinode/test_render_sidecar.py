"""The seictl sidecar (spec 5.3; TestSidecarImage_*, TestSidecarPort_*, TestSidecarContainer_*)."""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import SidecarConfig
from controllers.platform import Platform
from controllers.seinode.node import DEFAULT_SIDECAR_IMAGE, sidecar_image, sidecar_port
from controllers.seinode.render import render_statefulset
from tests.fixtures.nodes import snapshot_node
from tests.unit.seinode.helpers import container, env

CUSTOM_IMAGE = "ghcr.io/sei-protocol/seictl:v9"


def _sidecar(platform: Platform, **config: Any) -> dict[str, Any]:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig.model_validate(config)
    return container(render_statefulset(node, platform), "sei-sidecar")


def test_sidecar_image_defaults_without_sidecar_config() -> None:
    node = snapshot_node()
    node.spec.sidecar = None
    assert sidecar_image(node) == DEFAULT_SIDECAR_IMAGE


def test_sidecar_image_defaults_when_empty() -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(image="")
    assert sidecar_image(node) == DEFAULT_SIDECAR_IMAGE


def test_sidecar_image_override_is_honoured() -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(image=CUSTOM_IMAGE)
    assert sidecar_image(node) == CUSTOM_IMAGE


def test_sidecar_port_defaults_without_sidecar_config() -> None:
    node = snapshot_node()
    node.spec.sidecar = None
    assert sidecar_port(node) == 7777


def test_sidecar_port_defaults_when_zero() -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(port=0)
    assert sidecar_port(node) == 7777


def test_sidecar_port_override_is_honoured() -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(port=9999)
    assert sidecar_port(node) == 9999


def test_sidecar_container_uses_the_default_image(platform: Platform) -> None:
    assert _sidecar(platform)["image"] == DEFAULT_SIDECAR_IMAGE


def test_sidecar_container_uses_a_custom_image(platform: Platform) -> None:
    assert _sidecar(platform, image=CUSTOM_IMAGE)["image"] == CUSTOM_IMAGE


def test_sidecar_container_is_a_native_sidecar(platform: Platform) -> None:
    assert _sidecar(platform)["restartPolicy"] == "Always"


def test_sidecar_container_runs_seictl_serve(platform: Platform) -> None:
    assert _sidecar(platform)["command"] == ["seictl", "serve"]


def test_sidecar_container_env_in_reference_order(platform: Platform) -> None:
    assert _sidecar(platform)["env"] == [
        {"name": "SEI_CHAIN_ID", "value": "sei-test"},
        {"name": "SEI_SIDECAR_PORT", "value": "7777"},
        {"name": "SEI_HOME", "value": "/sei"},
        {"name": "SEI_GENESIS_BUCKET", "value": "test-sei-k8s-genesis-artifacts"},
        {"name": "SEI_GENESIS_REGION", "value": "us-east-2"},
        {"name": "SEI_SNAPSHOT_BUCKET", "value": "test-sei-snapshots"},
        {"name": "SEI_SNAPSHOT_REGION", "value": "us-east-2"},
    ]


def test_sidecar_container_mounts_data_at_sei(platform: Platform) -> None:
    assert _sidecar(platform)["volumeMounts"] == [{"name": "data", "mountPath": "/sei"}]


def test_sidecar_container_custom_port_is_used_everywhere(platform: Platform) -> None:
    sidecar = _sidecar(platform, port=9999)
    used = (
        sidecar["ports"],
        env(sidecar)["SEI_SIDECAR_PORT"],
        sidecar["livenessProbe"]["httpGet"]["port"],
        sidecar["readinessProbe"]["httpGet"]["port"],
    )
    port_entry = [{"name": "sidecar", "containerPort": 9999, "protocol": "TCP"}]
    assert used == (port_entry, "9999", 9999, 9999)


def test_sidecar_container_custom_resources_are_used(platform: Platform) -> None:
    resources = {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert _sidecar(platform, resources=resources)["resources"] == resources


def test_sidecar_container_integer_quantities_are_written_as_strings(platform: Platform) -> None:
    sidecar = _sidecar(platform, resources={"requests": {"cpu": 1}})
    assert sidecar["resources"] == {"requests": {"cpu": "1"}}


def test_sidecar_container_resources_are_empty_by_default(platform: Platform) -> None:
    assert _sidecar(platform)["resources"] == {}


def test_sidecar_liveness_probe_gets_livez(platform: Platform) -> None:
    assert _sidecar(platform)["livenessProbe"] == {
        "httpGet": {"path": "/v0/livez", "port": 7777},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
        "failureThreshold": 3,
    }


def test_sidecar_readiness_probe_gets_healthz(platform: Platform) -> None:
    assert _sidecar(platform)["readinessProbe"] == {
        "httpGet": {"path": "/v0/healthz", "port": 7777},
        "initialDelaySeconds": 2,
        "periodSeconds": 5,
        "failureThreshold": 6,
    }
