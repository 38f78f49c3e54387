"""The seid container and its wait wrapper (spec 5.3; TestBuildNodeMainContainer_*,
TestSidecarMainContainer_*, TestContainerPorts_SevenExpectedPorts)."""

from __future__ import annotations

from typing import Any

import pytest

from api.v1alpha1 import EntrypointConfig, SeiNode, SidecarConfig
from controllers.platform import Platform
from controllers.seinode.node import DEFAULT_SIDECAR_IMAGE
from controllers.seinode.render import render_statefulset
from tests.fixtures.nodes import genesis_node, node_from_spec, snapshot_node
from tests.unit.seinode.helpers import container

WRAPPER_PREFIX = (
    'echo "waiting for sidecar to become ready..."; while true; do if (exec'
    ' 3<>/dev/tcp/localhost/7777 && printf "GET /v0/healthz HTTP/1.0\\r\\nHost:'
    ' localhost\\r\\n\\r\\n" >&3 && head -1 <&3 | grep -q "200") 2>/dev/null; then break; fi;'
    ' sleep 5; done; echo "sidecar ready, starting seid"; exec '
)


def _seid(node: SeiNode, platform: Platform) -> dict[str, Any]:
    return container(render_statefulset(node, platform), "seid")


def _script(node: SeiNode, platform: Platform) -> str:
    args = _seid(node, platform)["args"]
    assert len(args) == 1
    script: str = args[0]
    return script


def _with_entrypoint(command: list[str], args: list[str] | None = None) -> SeiNode:
    node = snapshot_node()
    node.spec.entrypoint = EntrypointConfig(command=command, args=args)
    return node


def test_main_container_is_seid_running_spec_image(platform: Platform) -> None:
    seid = _seid(genesis_node(), platform)
    assert (seid["name"], seid["image"]) == ("seid", "ghcr.io/sei-protocol/seid:latest")


def test_main_container_tmpdir_is_on_the_data_volume(platform: Platform) -> None:
    assert _seid(genesis_node(), platform)["env"] == [{"name": "TMPDIR", "value": "/sei/tmp"}]


def test_main_container_mounts_data_at_sei(platform: Platform) -> None:
    mounts = _seid(genesis_node(), platform)["volumeMounts"]
    assert mounts == [{"name": "data", "mountPath": "/sei"}]


def test_main_container_has_the_seven_node_ports_in_order(platform: Platform) -> None:
    ports = _seid(genesis_node(), platform)["ports"]
    assert [(p["name"], p["containerPort"], p["protocol"]) for p in ports] == [
        ("evm-rpc", 8545, "TCP"),
        ("evm-ws", 8546, "TCP"),
        ("grpc", 9090, "TCP"),
        ("rest", 1317, "TCP"),
        ("p2p", 26656, "TCP"),
        ("rpc", 26657, "TCP"),
        ("metrics", 26660, "TCP"),
    ]


def test_container_ports_are_the_seven_expected_numbers(platform: Platform) -> None:
    ports = {p["containerPort"] for p in _seid(genesis_node(), platform)["ports"]}
    assert ports == {1317, 8545, 8546, 9090, 26656, 26657, 26660}


def test_main_container_requests_default_resources_without_limits(platform: Platform) -> None:
    assert _seid(snapshot_node(), platform)["resources"] == {
        "requests": {"cpu": "4", "memory": "32Gi"}
    }


def test_archive_main_container_requests_archive_resources(platform: Platform) -> None:
    archive = node_from_spec({"chainId": "c", "image": "i", "archive": {}})
    assert _seid(archive, platform)["resources"] == {"requests": {"cpu": "16", "memory": "256Gi"}}


def test_main_container_has_no_liveness_probe(platform: Platform) -> None:
    assert "livenessProbe" not in _seid(snapshot_node(), platform)


@pytest.mark.parametrize("node", [genesis_node(), snapshot_node()], ids=["genesis", "snapshot"])
def test_main_container_startup_probe_targets_sidecar_healthz(
    node: SeiNode, platform: Platform
) -> None:
    # The reference first builds a TCP 26657 probe (threshold 30 / 1800) and then replaces it;
    # the pod it writes always has this one, genesis or snapshot alike.
    assert _seid(node, platform)["startupProbe"] == {
        "httpGet": {"path": "/v0/healthz", "port": 7777},
        "initialDelaySeconds": 5,
        "periodSeconds": 5,
        "failureThreshold": 86400,
    }


def test_main_container_startup_probe_uses_a_custom_sidecar_port(platform: Platform) -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(port=9999)
    assert _seid(node, platform)["startupProbe"]["httpGet"]["port"] == 9999


def test_main_container_readiness_probe_targets_lag_status(platform: Platform) -> None:
    assert _seid(snapshot_node(), platform)["readinessProbe"] == {
        "httpGet": {"path": "/lag_status", "port": 26657},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "failureThreshold": 3,
        "timeoutSeconds": 5,
    }


def test_wait_wrapper_runs_under_bash_c(platform: Platform) -> None:
    assert _seid(snapshot_node(), platform)["command"] == ["/bin/bash", "-c"]


def test_wait_wrapper_polls_sidecar_healthz_over_dev_tcp(platform: Platform) -> None:
    script = _script(snapshot_node(), platform)
    pieces = ("/dev/tcp/localhost/7777", "GET /v0/healthz HTTP/1.0", 'grep -q "200"', "exec seid")
    assert [piece in script for piece in pieces] == [True] * len(pieces)


def test_wait_wrapper_quotes_entrypoint_words_after_the_executable(platform: Platform) -> None:
    node = _with_entrypoint(["seid"], ["start", "--home", "/sei"])
    assert _script(node, platform) == WRAPPER_PREFIX + 'seid "start" "--home" "/sei"'


def test_wait_wrapper_without_entrypoint_starts_seid_on_sei(platform: Platform) -> None:
    node = snapshot_node()
    node.spec.entrypoint = None
    assert _script(node, platform) == WRAPPER_PREFIX + 'seid "start" "--home" "/sei"'


def test_wait_wrapper_uses_a_custom_sidecar_port(platform: Platform) -> None:
    node = snapshot_node()
    node.spec.sidecar = SidecarConfig(port=9999)
    script = _script(node, platform)
    assert ("/dev/tcp/localhost/9999" in script, "7777" in script) == (True, False)


def test_wait_wrapper_quotes_leading_command_words_too(platform: Platform) -> None:
    node = _with_entrypoint(["/usr/bin/env", "seid"], ["start"])
    assert _script(node, platform).endswith('exec /usr/bin/env "seid" "start"')


def test_wait_wrapper_keeps_the_executable_verbatim(platform: Platform) -> None:
    node = _with_entrypoint(["my seid"])
    assert _script(node, platform).endswith("exec my seid")


def test_wait_wrapper_quotes_tricky_args_like_go(platform: Platform) -> None:
    node = _with_entrypoint(["seid"], ['--moniker=a "b"', "tab\there", "café\x00"])
    assert _script(node, platform).endswith(
        'exec seid "--moniker=a \\"b\\"" "tab\\there" "café\\x00"'
    )


def test_nil_sidecar_config_uses_default_port_and_image(platform: Platform) -> None:
    node = snapshot_node()
    node.spec.sidecar = None
    sts = render_statefulset(node, platform)
    seid, sidecar = container(sts, "seid"), container(sts, "sei-sidecar")
    observed = (
        sidecar["image"],
        sidecar["ports"][0]["containerPort"],
        seid["startupProbe"]["httpGet"]["port"],
        "/dev/tcp/localhost/7777" in seid["args"][0],
    )
    assert observed == (DEFAULT_SIDECAR_IMAGE, 7777, 7777, True)


def test_seid_init_initialises_the_home_once_with_the_chain_id(platform: Platform) -> None:
    init = container(render_statefulset(genesis_node(), platform), "seid-init")
    assert init["command"] == [
        "/bin/sh",
        "-c",
        'if [ -f /sei/config/genesis.json ]; then echo "data directory already initialized,'
        ' skipping seid init"; else seid init sei-test --chain-id sei-test --home /sei'
        " --overwrite; fi && mkdir -p /sei/tmp",
    ]


def test_seid_init_runs_spec_image_with_the_data_mount(platform: Platform) -> None:
    init = container(render_statefulset(genesis_node(), platform), "seid-init")
    observed = (init["image"], init["volumeMounts"], init["resources"])
    mounts = [{"name": "data", "mountPath": "/sei"}]
    assert observed == ("ghcr.io/sei-protocol/seid:latest", mounts, {})
