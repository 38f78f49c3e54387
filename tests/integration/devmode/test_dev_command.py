"""`sei-controller dev` on a non-terminal output (CI): plain timestamped lines telling the
whole story, exit 0 after the upgrade with --exit-after-upgrade, one line and exit 1 when the
upgrade does not complete in time."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from controllers.devmode.manifest import INITIAL_IMAGE, UPGRADE_IMAGE

from .conftest import NODES, REPO, dev_argv

pytestmark = pytest.mark.integration
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  \S")
HARD_LIMIT = 600  # a hung run fails the test instead of the suite's own timeout


def run_dev(state_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dev_argv(state_dir, *args),
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HARD_LIMIT,
    )


def test_exit_after_upgrade_prints_the_upgrade_completing(
    tmp_path: Path, dev_env: dict[str, str]
) -> None:
    done = run_dev(tmp_path, dev_env, "--exit-after-upgrade")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines
    assert all(LINE.match(line) for line in lines), "not every line is a timestamped line"
    assert "\r" not in done.stdout
    assert "\x1b" not in done.stdout  # no terminal control sequences
    text = [line.split("  ", 1)[1] for line in lines]
    assert "[ok] sidecars: real `seictl serve`" in "\n".join(text)
    ready = text.index(next(t for t in text if t.startswith("[ok] deploy:")))
    complete = text.index(f"[ok] upgrade: complete: 3/3 nodes on {UPGRADE_IMAGE}" + _tail(text))
    assert ready < complete
    # Each node was seen Running on the initial image before the deployment was Ready, and on
    # the new one after, before the upgrade was reported complete.
    for node in NODES:
        old = text.index(f"node {node}: Running, {INITIAL_IMAGE}")
        new = text.index(f"node {node}: Running, {UPGRADE_IMAGE}")
        assert old < ready < new < complete
    assert (
        f"deployment default/pacific-1-rpc: Ready, 3/3 ready, 3/3 nodes on {UPGRADE_IMAGE}, "
        "rollout False/RolloutComplete"
    ) in text[:complete]
    # (Events come through their own watch and may land after the exit: not asserted here.)
    assert text[complete + 1] == f"KUBECONFIG={(tmp_path / 'kubeconfig').resolve()}"
    assert not (tmp_path / "kubeconfig").exists(), "the kubeconfig of a stopped cluster was left"


def _tail(text: list[str]) -> str:
    """The elapsed time that ends the upgrade's line (`` in 2.3s``)."""
    prefix = f"[ok] upgrade: complete: 3/3 nodes on {UPGRADE_IMAGE}"
    line = next(t for t in text if t.startswith(prefix))
    assert re.fullmatch(r" in \d+\.\ds", line[len(prefix) :]), line
    return line[len(prefix) :]


def test_upgrade_that_never_completes_fails_with_one_line(
    tmp_path: Path, dev_env: dict[str, str]
) -> None:
    # kwok never makes a pod whose image says `never-ready` Ready (hack/build-control-plane.sh).
    stuck = "ghcr.io/sei-protocol/seid:never-ready"
    done = run_dev(
        tmp_path, dev_env, "--exit-after-upgrade", "--upgrade-image", stuck, "--timeout", "45s"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        f"sei-controller dev: the upgrade to {stuck} did not complete within 45s: "
        "pacific-1-rpc is Upgrading"
    ), done.stderr
    assert f"(logs in {tmp_path / 'logs'})" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "[FAILED] upgrade:" in done.stdout


def test_interrupt_during_start_up_stops_what_started_and_exits_130(
    tmp_path: Path, dev_env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        dev_argv(tmp_path),
        cwd=REPO,
        env=dev_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # ends at EOF if the dev mode exits early
            seen.append(line)
            if "[ok] control plane:" in line:
                break
        assert any("[ok] control plane:" in line for line in seen), "".join(seen)
        components = _children(proc.pid)
        assert components, "the control plane's components are children of the dev mode"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HARD_LIMIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "stopping ..." in out
    assert err == ""
    assert not [pid for pid in components if Path(f"/proc/{pid}").exists()]


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children
