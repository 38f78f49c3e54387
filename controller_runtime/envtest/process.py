"""A child process of the control plane: own process group, log file, reliable stop.

Invariants:
- Every component runs as the leader of its own process group, so stopping it signals the whole
  group (a component that forks helpers cannot leave them behind).
- The child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), so even a
  SIGKILLed test runner never leaves etcd or the API server holding ports.
- Output goes to a log file that outlives the process, for failure reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Loaded in the parent: between fork and exec the child must not take the dynamic loader's lock.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec (Linux only; elsewhere a no-op)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ProcessError(RuntimeError):
    """A component exited or could not be started; the message carries its log tail."""


class ManagedProcess:
    """One long-running component such as etcd or kube-apiserver."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        if self.running:
            raise ProcessError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def check_alive(self) -> None:
        """Raises ProcessError with the log tail if the component has exited."""
        if self._proc is None:
            raise ProcessError(f"{self.name} was never started")
        if self._proc.returncode is not None:
            raise ProcessError(
                f"{self.name} exited with code {self._proc.returncode}; "
                f"last log lines:\n{self.log_tail()}"
            )

    def signal_group(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the group, then SIGKILL after timeout; always reaps the child."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            self.signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                self.signal_group(signal.SIGKILL)
                await proc.wait()
        # The leader may be gone while helpers of its group linger.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    async def kill(self) -> None:
        """SIGKILL, as a crash would; used by fault-injection tests."""
        proc = self._proc
        if proc is None:
            return
        self.signal_group(signal.SIGKILL)
        await proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
