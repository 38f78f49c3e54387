"""`sei-controller dev` in a real terminal: a detached tmux session of fixed size runs it as a
user would, the test reads the screen (`tmux capture-pane`) until the live view shows the three
nodes upgraded and the KUBECONFIG line, uses that kubeconfig with kubectl while the dev mode
stays up, then presses Ctrl-C and checks that everything it started is gone."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controllers.devmode.live import short_image
from controllers.devmode.manifest import GROUP_NAME, UPGRADE_IMAGE

from .conftest import NODES, REPO, dev_argv

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
WIDTH, HEIGHT = 160, 50


class Tmux:
    """A private tmux server (its own socket) with one session, ``dev``."""

    def __init__(self, socket: Path) -> None:
        self.base = ["tmux", "-S", str(socket)]

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, timeout=30
        ).stdout

    def pane(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "dev", fmt).strip()

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "dev")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(tmp_path / "tmux.sock")
    try:
        yield server
    finally:
        subprocess.run([*server.base, "kill-server"], capture_output=True, timeout=30)


def wait_until(
    check: Callable[[], bool], what: str, describe: Callable[[], str], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}:\n{describe()}")
        time.sleep(0.2)  # the poll interval of a condition wait, not a synchronisation


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (the components run in their own sessions, but they
    are still its children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def upgraded(screen: str) -> bool:
    rows = [line.split() for line in screen.splitlines()]
    image = short_image(UPGRADE_IMAGE)
    done = all(any(row[:3] == [node, "Running", image] for row in rows) for node in NODES)
    return done and "KUBECONFIG=" in screen and f"complete: 3/3 nodes on {UPGRADE_IMAGE}" in screen


def test_live_view_in_a_terminal_then_ctrl_c_stops_everything(
    tmp_path: Path, dev_env: dict[str, str], tmux: Tmux
) -> None:
    state = tmp_path / "state"
    status_file = tmp_path / "exit-status"
    # The pane runs bash, which runs the dev mode in the foreground (so Ctrl-C reaches it as on
    # a user's terminal) and records its exit status: tmux's own pane_dead_status can lag the
    # pane's death. COLUMNS/LINES, when set, would override the terminal's own size.
    inner = f"env -u COLUMNS -u LINES {shlex.join(dev_argv(state))}; echo $? > {status_file}"
    command = "exec bash -c " + shlex.quote(inner)
    env = [f"-e{name}={dev_env[name]}" for name in ("ENVTEST_ASSETS", "SEICTL_BIN", "PATH")]
    tmux(
        "new-session", "-d", "-s", "dev", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(REPO),
        *env, command, ";", "set-option", "-t", "dev", "remain-on-exit", "on",
    )  # fmt: skip
    pid = int(tmux.pane("#{pane_pid}"))

    wait_until(lambda: upgraded(tmux.screen()), "the upgrade on screen", tmux.screen, 600)
    screen = tmux.screen()
    assert "SeiNodeDeployment default/pacific-1-rpc  Ready  3/3 ready" in screen
    assert f"nodes on {UPGRADE_IMAGE}" in screen
    wait_until(
        lambda: "RolloutComplete" in tmux.screen(), "the RolloutComplete event", tmux.screen, 60
    )

    # The cluster stays up for kubectl with the printed kubeconfig.
    line = next(line for line in screen.splitlines() if line.startswith("KUBECONFIG="))
    kubeconfig = line.removeprefix("KUBECONFIG=").strip()
    kubectl = Path(dev_env["ENVTEST_ASSETS"]) / "kubectl"
    got = subprocess.run(
        [str(kubectl), "get", "seinodes", "-n", "default", "-o", "name"],
        env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert got.stdout.split() == [f"seinode.sei.io/{GROUP_NAME}-{i}" for i in range(3)]

    started = descendants(pid)
    assert len(started) >= 5 + 3, "expected the control plane's components and three seictl"
    pgid = os.getpgid(pid)
    tmux("send-keys", "-t", "dev", "C-c")

    def exit_status() -> str:
        return status_file.read_text().strip() if status_file.exists() else ""

    wait_until(lambda: exit_status() != "", "the exit status", tmux.screen, 120)
    assert exit_status() == "0", tmux.screen()
    assert "stopping ..." in tmux.screen()
    assert not [p for p in started if alive(p)], "processes outlived the dev mode"
    wait_until(lambda: not group_members(pgid), "the terminal's process group to end", str, 30)
    assert not Path(kubeconfig).exists()
