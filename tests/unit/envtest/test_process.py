"""ManagedProcess stops whole process groups and never outlives its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from controller_runtime.envtest import eventually
from controller_runtime.envtest.process import ManagedProcess, ProcessError


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


async def test_stop_kills_the_whole_group(tmp_path: Path) -> None:
    # The shell forks a grandchild (sleep) that would survive a plain kill of the shell.
    pid_file = tmp_path / "child.pid"
    script = f"sleep 1000 & echo $! > {pid_file}; wait"
    proc = ManagedProcess("group", ["sh", "-c", script], tmp_path / "g.log")
    await proc.start()

    async def grandchild() -> int:
        return int(pid_file.read_text())

    child = await eventually(grandchild, timeout=10, message="grandchild started")
    assert alive(child)
    await proc.stop(timeout=5)
    assert not proc.running
    await eventually(lambda: not alive(child), timeout=5, message="group gone")


async def test_term_ignoring_process_is_killed_after_timeout(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "stubborn", ["sh", "-c", "trap '' TERM; echo ready; sleep 1000"], tmp_path / "s.log"
    )
    await proc.start()
    await eventually(lambda: "ready" in proc.log_tail(), timeout=10)
    await proc.stop(timeout=0.5)
    assert not proc.running


async def test_exited_process_reports_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess("failing", ["sh", "-c", "echo boom-reason; exit 3"], tmp_path / "f.log")
    await proc.start()
    await eventually(lambda: not proc.running, timeout=10)
    with pytest.raises(ProcessError, match=r"(?s)exited with code 3.*boom-reason"):
        proc.check_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    # A parent that starts a component and is then SIGKILLed (as a crashed test run would be)
    # must not leave the component running.
    parent = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from controller_runtime.envtest.process import ManagedProcess

        async def main():
            p = ManagedProcess("sleeper", ["sleep", "1000"], Path({str(tmp_path)!r}) / "p.log")
            await p.start()
            print(p.pid, flush=True)
            await asyncio.sleep(1000)

        asyncio.run(main())
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    assert alive(child)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    asyncio.run(eventually(lambda: not alive(child), timeout=10, message="orphan gone"))
