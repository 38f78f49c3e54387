"""The issue's bad-input acceptance, for `run` and `rollout status` as real processes: an
unknown flag, an unreadable kubeconfig, a missing SEI_* variable and an unreachable API server
each end with exactly one line on stderr, a non-zero exit and no traceback (also nothing the
interpreter prints at exit, such as an unclosed connection). No API server is needed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.platform import PLATFORM_TEST_ENV

from .test_run_command import REFUSED_KUBECONFIG

REPO = Path(__file__).resolve().parents[3]


def command(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEI_", "KUBE"))}
    done = subprocess.run(
        [sys.executable, "-m", "controllers.cli", *argv],
        env={**base, "HOME": "/nonexistent", **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def one_line(code: int, stderr: str, expected_code: int) -> str:
    assert code == expected_code, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(REFUSED_KUBECONFIG)
    return path


@pytest.mark.parametrize(
    "argv",
    [["run", "--no-such-flag"], ["rollout", "status", "snd/a", "--no-such-flag"]],
    ids=["run", "rollout-status"],
)
def test_an_unknown_flag_is_one_line(argv: list[str]) -> None:
    code, _, err = command(argv, dict(PLATFORM_TEST_ENV))
    assert "unrecognized arguments: --no-such-flag" in one_line(code, err, 2)


@pytest.mark.parametrize("argv", [["run"], ["rollout", "status", "snd/a"]], ids=["run", "rollout"])
def test_an_unreadable_kubeconfig_is_one_line(argv: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    code, _, err = command([*argv, f"--kubeconfig={missing}"], dict(PLATFORM_TEST_ENV))
    line = one_line(code, err, 1)
    assert line.endswith(f"cannot read the kubeconfig {missing}: No such file or directory")


def test_a_missing_platform_variable_is_one_line(refused: Path) -> None:
    env = {k: v for k, v in PLATFORM_TEST_ENV.items() if k != "SEI_SNAPSHOT_BUCKET"}
    code, _, err = command(["run", f"--kubeconfig={refused}"], env)
    line = one_line(code, err, 1)
    assert (
        line
        == "sei-controller run: invalid platform configuration: SEI_SNAPSHOT_BUCKET is required"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--leader-elect=false", "--startup-timeout=5s"],
        ["rollout", "status", "snd/a", "--timeout=30s"],
    ],
    ids=["run", "rollout-status"],
)
def test_an_unreachable_api_server_is_one_line(argv: list[str], refused: Path) -> None:
    code, _, err = command([*argv, f"--kubeconfig={refused}"], dict(PLATFORM_TEST_ENV))
    line = one_line(code, err, 1)
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:1:" in line


def test_a_resource_that_is_not_a_seinodedeployment_is_one_line() -> None:
    code, _, err = command(["rollout", "status", "deployment/web"])
    assert "follows SeiNodeDeployments (snd/<name>), not 'deployment'" in one_line(code, err, 2)


def test_rollout_status_interrupted_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C while it waits on a silent API server (one that accepts and never answers)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        kubeconfig = tmp_path / "kubeconfig"
        port = server.getsockname()[1]
        kubeconfig.write_text(
            REFUSED_KUBECONFIG.replace("https://127.0.0.1:1", f"http://127.0.0.1:{port}")
        )
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SEI_", "KUBE"))}
        proc = subprocess.Popen(
            [sys.executable, "-m", "controllers.cli", "rollout", "status", "snd/a",
             f"--kubeconfig={kubeconfig}"],
            env=base, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            server.settimeout(60)
            connection, _ = server.accept()  # the command is now waiting for an answer
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            connection.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert one_line(proc.returncode, err, 130) == "sei-controller rollout status: interrupted"
