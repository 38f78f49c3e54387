"""`sei-controller run`: reference defaults, environment settings, and every start-up problem a
user can fix ending in one line on stderr (no traceback) and a non-zero exit. No API server is
needed: each case fails before the manager would start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controllers.cli import build_parser, main
from tests.fixtures.platform import PLATFORM_TEST_ENV

REFUSED_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.fixture
def platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLATFORM_TEST_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)


def failure_line(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Runs the command, asserts its exit code and that stderr is exactly one line."""
    try:
        exit_code = main(argv)
    except SystemExit as exc:  # argparse's own exit
        exit_code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert exit_code == code, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_run_defaults_are_the_reference_managers() -> None:
    args = build_parser().parse_args(["run"])
    assert args.metrics_bind_address == ":8080"
    assert args.metrics_secure is False
    assert args.health_probe_bind_address == ":8081"
    assert args.leader_elect is True
    assert args.leader_election_id == "bc1f5b0a.sei.io"
    assert args.leader_election_release_on_cancel is True
    assert args.rollout_stall_threshold == 600.0
    assert (args.log_format, args.log_level) == ("json", "info")


def test_run_flags_are_settable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEI_CONTROLLER_ROLLOUT_STALL_THRESHOLD", "90s")
    monkeypatch.setenv("SEI_CONTROLLER_LEADER_ELECT", "false")
    args = build_parser().parse_args(["run"])
    assert (args.rollout_stall_threshold, args.leader_elect) == (90.0, False)


def test_unknown_flag_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = failure_line(capsys, ["run", "--no-such-flag"], 2)
    assert line.startswith("sei-controller run: error: unrecognized arguments: --no-such-flag")


def test_bad_sidecar_url_template_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = failure_line(capsys, ["run", "--sidecar-url-template=http://{pod}:7777"], 2)
    assert "unknown placeholder {pod}" in line


def test_a_stall_threshold_of_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = failure_line(capsys, ["run", "--rollout-stall-threshold=0s"], 2)
    assert "--rollout-stall-threshold: must be more than 0, got '0s'" in line


def test_bad_environment_flag_value_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEI_CONTROLLER_ROLLOUT_STALL_THRESHOLD", "ten minutes")
    line = failure_line(capsys, ["run"], 2)
    assert "SEI_CONTROLLER_ROLLOUT_STALL_THRESHOLD='ten minutes'" in line


def test_missing_platform_variable_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, platform_env: None
) -> None:
    monkeypatch.delenv("SEI_NODEPOOL_NAME")
    line = failure_line(capsys, ["run"], 1)
    assert (
        line == "sei-controller run: invalid platform configuration: SEI_NODEPOOL_NAME is required"
    )


def test_malformed_platform_variable_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, platform_env: None
) -> None:
    monkeypatch.setenv("SEI_STORAGE_SIZE_DEFAULT", "lots")
    line = failure_line(capsys, ["run"], 1)
    assert "SEI_STORAGE_SIZE_DEFAULT is not a Kubernetes quantity: 'lots'" in line


def test_unreadable_kubeconfig_is_one_line(
    capsys: pytest.CaptureFixture[str], platform_env: None, tmp_path: Path
) -> None:
    missing = tmp_path / "nope"
    line = failure_line(capsys, ["run", f"--kubeconfig={missing}"], 1)
    assert (
        line
        == f"sei-controller run: cannot read the kubeconfig {missing}: No such file or directory"
    )


def test_a_file_that_is_not_a_kubeconfig_is_one_line(
    capsys: pytest.CaptureFixture[str], platform_env: None, tmp_path: Path
) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("just some text\n")
    line = failure_line(capsys, ["run", f"--kubeconfig={path}"], 1)
    assert "is not a kubeconfig" in line


def test_leader_election_outside_a_cluster_needs_a_namespace(
    capsys: pytest.CaptureFixture[str], platform_env: None, tmp_path: Path
) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(REFUSED_KUBECONFIG)
    line = failure_line(capsys, ["run", f"--kubeconfig={path}"], 1)
    assert "--leader-election-namespace" in line


def test_unreachable_api_server_is_one_line(
    capsys: pytest.CaptureFixture[str], platform_env: None, tmp_path: Path
) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(REFUSED_KUBECONFIG)
    argv = ["run", f"--kubeconfig={path}", "--leader-elect=false", "--startup-timeout=5s"]
    line = failure_line(capsys, argv, 1)
    assert line.startswith(
        "sei-controller run: cannot reach the Kubernetes API server at https://127.0.0.1:1:"
    )


def test_version_names_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("sei-controller 0.1.0 ")


def test_crds_prints_both_crds_as_one_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    names = sorted(d["metadata"]["name"] for d in docs)
    assert names == ["seinodedeployments.sei.io", "seinodes.sei.io"]
