"""The dev mode deploys the InPlace sample, less only what needs AWS, a Gateway or the
Prometheus Operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controllers.devmode.manifest import (
    GROUP_NAME,
    INITIAL_IMAGE,
    UPGRADE_IMAGE,
    dev_deployment,
    dev_platform,
    image_patch,
)

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "config/samples/sei_v1alpha1_seinodedeployment_inplace.yaml"
)


def test_deployment_is_the_inplace_sample_without_aws_gateway_or_prometheus() -> None:
    sample: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    spec = sample["spec"]
    del spec["networking"], spec["monitoring"]
    node = spec["template"]["spec"]
    del node["peers"]  # EC2 tag discovery
    node["fullNode"].pop("snapshot")  # an S3 snapshot
    sample["metadata"]["namespace"] = "default"
    assert dev_deployment("default") == sample


def test_deployment_starts_on_the_initial_image() -> None:
    deployed = dev_deployment("ns")
    assert deployed["metadata"] == {"name": GROUP_NAME, "namespace": "ns"}
    assert deployed["spec"]["template"]["spec"]["image"] == INITIAL_IMAGE
    assert deployed["spec"]["updateStrategy"] == {"type": "InPlace"}


def test_upgrade_patch_changes_only_the_template_image() -> None:
    assert image_patch(UPGRADE_IMAGE) == {"spec": {"template": {"spec": {"image": UPGRADE_IMAGE}}}}
    assert UPGRADE_IMAGE != INITIAL_IMAGE


def test_platform_puts_node_volumes_on_kwoks_storage_class() -> None:
    platform = dev_platform()
    assert platform.storage_class_perf == "kwok-volume"
    assert platform.storage_class_default == "kwok-volume"
