"""The local fleet's launchers, without processes or an API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controllers.sidecar.launchers import SeictlLauncher
from controllers.sidecar.localfleet import node_pod

NODE = ("team", "node-a")


def pod(env: list[dict[str, Any]], init: bool = True) -> dict[str, Any]:
    container = {"name": "sei-sidecar", "image": "sidecar", "env": env}
    other = {"name": "seid", "image": "seid", "env": [{"name": "SEI_CHAIN_ID", "value": "wrong"}]}
    spec = {"initContainers": [container], "containers": [other]}
    if not init:
        spec = {"containers": [other | {"name": "x"}, container]}
    return {"metadata": {"name": "node-a-0"}, "spec": spec}


def test_the_sidecar_runs_with_the_pods_sei_variables(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(
        NODE, pod([{"name": "SEI_CHAIN_ID", "value": "atlantic-2"}])
    )
    assert (env["SEI_CHAIN_ID"], env["HOSTNAME"]) == ("atlantic-2", "node-a-0")


def test_a_sidecar_container_among_regular_containers_is_found(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(
        NODE, pod([{"name": "SEI_CHAIN_ID", "value": "arctic-1"}], init=False)
    )
    assert env["SEI_CHAIN_ID"] == "arctic-1"


def test_home_is_per_node_and_overrides_the_pods(tmp_path: Path) -> None:
    launcher = SeictlLauncher(tmp_path / "seictl", tmp_path)
    env = launcher.environment(NODE, pod([{"name": "SEI_HOME", "value": "/sei"}]))
    assert env["SEI_HOME"] == str(tmp_path / "team" / "node-a" / "home")
    assert launcher.home(NODE) == tmp_path / "team" / "node-a" / "home"


def test_the_pods_port_is_dropped_for_the_fleets(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(
        NODE, pod([{"name": "SEI_SIDECAR_PORT", "value": "7777"}])
    )
    assert "SEI_SIDECAR_PORT" not in env


def test_variables_from_references_and_non_sei_variables_are_not_taken(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(
        NODE,
        pod(
            [
                {"name": "SEI_GENESIS_BUCKET", "valueFrom": {"secretKeyRef": {"name": "s"}}},
                {"name": "AWS_REGION", "value": "eu-west-1"},
            ]
        ),
    )
    assert env["SEI_GENESIS_BUCKET"] == "local-genesis"
    assert "AWS_REGION" not in env


def test_every_variable_seictl_requires_has_a_value_without_a_pod(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(NODE)
    required = ["SEI_CHAIN_ID", "SEI_GENESIS_BUCKET", "SEI_GENESIS_REGION"]
    required += ["SEI_SNAPSHOT_BUCKET", "SEI_SNAPSHOT_REGION"]
    assert all(env[name] for name in required)
    assert env["HOSTNAME"] == "node-a-0"


def test_aws_calls_go_to_a_closed_loopback_port(tmp_path: Path) -> None:
    env = SeictlLauncher(tmp_path / "seictl", tmp_path).environment(NODE)
    assert (env["AWS_ENDPOINT_URL"], env["AWS_EC2_METADATA_DISABLED"]) == (
        "http://127.0.0.1:9",
        "true",
    )


def test_extra_environment_wins_over_the_pods(tmp_path: Path) -> None:
    launcher = SeictlLauncher(tmp_path / "seictl", tmp_path, env={"SEI_CHAIN_ID": "pacific-1"})
    env = launcher.environment(NODE, pod([{"name": "SEI_CHAIN_ID", "value": "atlantic-2"}]))
    assert env["SEI_CHAIN_ID"] == "pacific-1"


def a_pod(
    name: str, *, hostname: str | None = None, phase: str = "Running", created: str = "t1"
) -> dict[str, Any]:
    spec = {"hostname": hostname} if hostname else {}
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created},
        "spec": spec,
        "status": {"phase": phase},
    }


def test_the_statefulset_pod_is_the_nodes_pod() -> None:
    pod = a_pod("node-a-0")
    assert node_pod([a_pod("node-a-1"), pod], "node-a") is pod


def test_a_bootstrap_job_pod_counts_by_its_hostname() -> None:
    pod = a_pod("node-a-bootstrap-x7k2p", hostname="node-a-0", phase="Pending")
    assert node_pod([pod], "node-a") is pod


def test_a_pod_of_another_node_is_ignored() -> None:
    assert node_pod([a_pod("node-ab-0"), a_pod("x", hostname="node-b-0")], "node-a") is None


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_a_finished_pod_runs_no_sidecar(phase: str) -> None:
    assert (
        node_pod([a_pod("node-a-bootstrap-1", hostname="node-a-0", phase=phase)], "node-a") is None
    )


def test_the_newest_of_two_live_pods_wins() -> None:
    old = a_pod("node-a-bootstrap-1", hostname="node-a-0", created="2026-01-01T00:00:00Z")
    new = a_pod("node-a-0", created="2026-01-01T00:00:05Z")
    assert node_pod([new, old], "node-a") is new
