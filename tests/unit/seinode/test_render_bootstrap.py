"""Bootstrap Job and Service (spec 12.3; TestNeedsBootstrap, TestTaskGenerateBootstrapJob*)."""

from __future__ import annotations

from typing import Any

import pytest

from api.v1alpha1 import EntrypointConfig, ResourceRequirements, SeiNode, SidecarConfig
from controllers.platform import Platform
from controllers.seinode.render import (
    RenderError,
    needs_bootstrap,
    render_bootstrap_job,
    render_bootstrap_service,
)
from tests.fixtures.nodes import genesis_node, node_from_spec, replayer_node, snapshot_node
from tests.unit.seinode.helpers import container, pod

BOOTSTRAP_IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"


def _bootstrap_node(**sidecar: Any) -> SeiNode:
    node = replayer_node("test-replayer", bootstrapImage=BOOTSTRAP_IMAGE)
    if sidecar:
        node.spec.sidecar = SidecarConfig.model_validate(sidecar)
    return node


def _full_node(snapshot: dict[str, Any]) -> SeiNode:
    return node_from_spec({"chainId": "c", "image": "i", "fullNode": {"snapshot": snapshot}})


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (replayer_node(bootstrapImage=BOOTSTRAP_IMAGE), True),
        (_full_node({"s3": {"targetHeight": 5}, "bootstrapImage": BOOTSTRAP_IMAGE}), True),
        (replayer_node(), False),
        (_full_node({"s3": {"targetHeight": 5}, "bootstrapImage": ""}), False),
        (_full_node({"stateSync": {}, "bootstrapImage": BOOTSTRAP_IMAGE}), False),
        (genesis_node(), False),
        (node_from_spec({"chainId": "c", "image": "i", "archive": {}}), False),
    ],
    ids=[
        "replayer-s3-image",
        "fullnode-s3-image",
        "s3-without-image",
        "s3-empty-image",
        "statesync-with-image",
        "no-snapshot",
        "archive",
    ],
)
def test_needs_bootstrap_only_with_bootstrap_image_and_s3_height(
    node: SeiNode, expected: bool
) -> None:
    assert needs_bootstrap(node) is expected


def test_bootstrap_job_is_named_after_the_node(platform: Platform) -> None:
    job = render_bootstrap_job(_bootstrap_node(), platform)
    assert job["metadata"]["name"] == "test-replayer-bootstrap"


def test_bootstrap_job_pod_never_restarts(platform: Platform) -> None:
    assert pod(render_bootstrap_job(_bootstrap_node(), platform))["restartPolicy"] == "Never"


def test_bootstrap_job_main_container_runs_the_bootstrap_image(platform: Platform) -> None:
    seid = container(render_bootstrap_job(_bootstrap_node(), platform), "seid")
    assert seid["image"] == BOOTSTRAP_IMAGE


def test_bootstrap_job_seid_init_runs_the_bootstrap_image(platform: Platform) -> None:
    init = container(render_bootstrap_job(_bootstrap_node(), platform), "seid-init")
    assert init["image"] == BOOTSTRAP_IMAGE


def test_bootstrap_job_without_snapshot_is_an_error(platform: Platform) -> None:
    with pytest.raises(RenderError) as caught:
        render_bootstrap_job(genesis_node("genesis-0", "chain"), platform)
    message = "bootstrap job requires an S3 snapshot source (node chain/genesis-0)"
    assert str(caught.value) == message


def test_bootstrap_job_with_state_sync_snapshot_is_an_error(platform: Platform) -> None:
    node = _full_node({"stateSync": {}, "bootstrapImage": BOOTSTRAP_IMAGE})
    with pytest.raises(RenderError, match="requires an S3 snapshot source"):
        render_bootstrap_job(node, platform)


def test_bootstrap_job_without_bootstrap_image_is_an_error(platform: Platform) -> None:
    with pytest.raises(RenderError, match=r"requires snapshot\.bootstrapImage"):
        render_bootstrap_job(snapshot_node(), platform)


def test_bootstrap_job_sidecar_gets_the_sidecar_resources(platform: Platform) -> None:
    node = _bootstrap_node()
    node.spec.sidecar = SidecarConfig(resources=ResourceRequirements(requests={"cpu": "500m"}))
    sidecar = pod(render_bootstrap_job(node, platform))["initContainers"][1]
    assert (sidecar["name"], sidecar["resources"]) == ("sei-sidecar", {"requests": {"cpu": "500m"}})


def test_bootstrap_job_sidecar_has_no_probes(platform: Platform) -> None:
    sidecar = container(render_bootstrap_job(_bootstrap_node(), platform), "sei-sidecar")
    assert {"livenessProbe", "readinessProbe"} & set(sidecar) == set()


def test_bootstrap_job_seid_has_no_probes_and_no_ports(platform: Platform) -> None:
    seid = container(render_bootstrap_job(_bootstrap_node(), platform), "seid")
    assert {"startupProbe", "readinessProbe", "livenessProbe", "ports"} & set(seid) == set()


def test_bootstrap_job_halts_seid_at_the_target_height(platform: Platform) -> None:
    seid = container(render_bootstrap_job(_bootstrap_node(port=9999), platform), "seid")
    assert (seid["command"], seid["args"]) == (
        ["/bin/bash", "-c"],
        [
            'echo "waiting for sidecar bootstrap tasks to complete..."; while true; do if (exec'
            ' 3<>/dev/tcp/localhost/9999 && printf "GET /v0/healthz HTTP/1.0\\r\\nHost:'
            ' localhost\\r\\n\\r\\n" >&3 && head -1 <&3 | grep -q "200") 2>/dev/null; then'
            ' break; fi; sleep 5; done; echo "sidecar healthy, starting seid with halt-height'
            ' 100000000"; seid start --home /sei --halt-height 100000000; rc=$?; if [ $rc -eq'
            ' 130 ]; then echo "seid halted at target height (exit 130), treating as success";'
            " exit 0; fi; exit $rc"
        ],
    )


def test_bootstrap_job_ignores_the_entrypoint(platform: Platform) -> None:
    node = _bootstrap_node()
    node.spec.entrypoint = EntrypointConfig(command=["custom-seid"], args=["run"])
    seid = container(render_bootstrap_job(node, platform), "seid")
    assert "custom-seid" not in seid["args"][0]


def test_bootstrap_job_runs_once_and_is_collected_after_an_hour(platform: Platform) -> None:
    spec = render_bootstrap_job(_bootstrap_node(), platform)["spec"]
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"]) == (0, 3600)


def test_bootstrap_job_pod_borrows_the_statefulset_pod_dns_identity(platform: Platform) -> None:
    spec = pod(render_bootstrap_job(_bootstrap_node(), platform))
    assert (spec["hostname"], spec["subdomain"]) == ("test-replayer-0", "test-replayer")


def test_bootstrap_job_pod_has_no_node_affinity(platform: Platform) -> None:
    assert "affinity" not in pod(render_bootstrap_job(_bootstrap_node(), platform))


def test_bootstrap_job_pod_grace_period_is_two_minutes(platform: Platform) -> None:
    spec = pod(render_bootstrap_job(_bootstrap_node(), platform))
    assert spec["terminationGracePeriodSeconds"] == 120


def test_bootstrap_job_labels_mark_the_bootstrap_component(platform: Platform) -> None:
    node = _bootstrap_node()
    node.spec.pod_labels = {"team": "infra"}
    job = render_bootstrap_job(node, platform)
    expected = {"sei.io/node": "test-replayer", "sei.io/component": "bootstrap"}
    labels = (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"])
    assert labels == (expected, expected)


def test_bootstrap_job_main_container_requests_mode_resources(platform: Platform) -> None:
    seid = container(render_bootstrap_job(_bootstrap_node(), platform), "seid")
    assert seid["resources"] == {"requests": {"cpu": "4", "memory": "32Gi"}}


def test_bootstrap_service_selects_the_job_pod_on_the_sidecar_port(platform: Platform) -> None:
    service = render_bootstrap_service(_bootstrap_node(port=9999), platform)
    labels = {"sei.io/node": "test-replayer", "sei.io/component": "bootstrap"}
    assert service["spec"] == {
        "clusterIP": "None",
        "selector": labels,
        "publishNotReadyAddresses": True,
        "ports": [{"name": "sidecar", "port": 9999, "targetPort": 9999, "protocol": "TCP"}],
    }


def test_bootstrap_service_has_the_node_name_and_bootstrap_labels(platform: Platform) -> None:
    metadata = render_bootstrap_service(_bootstrap_node(), platform)["metadata"]
    labels = {"sei.io/node": "test-replayer", "sei.io/component": "bootstrap"}
    assert (metadata["name"], metadata["labels"]) == ("test-replayer", labels)
