"""The binaries the dev mode runs, built or found cached by the repository's hack scripts, with
their progress shown as the step's detail.

hack/build-control-plane.sh and hack/build-seictl.sh keep a per-version cache outside the
repository and print their directory as the last line of stdout; their progress goes to stderr
one line at a time (``[build-seictl   12s] building ...``), which is what the step shows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from controller_runtime.envtest import ASSETS_ENV
from controllers.sidecar.launchers import SEICTL_BIN_ENV

__all__ = ["HACK", "BinaryError", "control_plane_binaries", "seictl_binary"]

HACK = Path(__file__).resolve().parents[2] / "hack"
Progress = Callable[[str], None]


class BinaryError(Exception):
    """A binary could not be found or built; the message is one line."""


async def _run_script(script: Path, progress: Progress) -> tuple[Path, bool]:
    """Runs a build script; returns its output directory and whether it built anything."""
    if not script.is_file():
        raise BinaryError(f"{script} not found (it is in a source checkout of this repository)")
    proc = await asyncio.create_subprocess_exec(
        str(script),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines: list[str] = []

    async def follow(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            line = raw.decode(errors="replace").strip()
            if line:
                lines.append(line)
                progress(line.split("] ", 1)[-1])

    stdout, _ = await asyncio.gather(proc.stdout.read(), follow(proc.stderr))
    out = stdout.decode().strip().splitlines()
    built = any("] building " in line or "] downloading " in line for line in lines)
    if await proc.wait() != 0 or not out:
        tail = lines[-1] if lines else "no output"
        raise BinaryError(f"{script.name} failed (exit {proc.returncode}): {tail}")
    return Path(out[-1]), built


async def control_plane_binaries(progress: Progress) -> str:
    """Points ``$ENVTEST_ASSETS`` at the control plane's binaries; returns what was done."""
    given = os.environ.get(ASSETS_ENV)
    if given and (Path(given) / "kube-apiserver").is_file():
        return f"given by ${ASSETS_ENV}: {given}"
    script = HACK / "build-control-plane.sh"
    if not script.is_file():
        raise BinaryError(
            f"no control plane binaries: set ${ASSETS_ENV} to their directory, or run from a "
            "source checkout, where hack/build-control-plane.sh builds them"
        )
    directory, built = await _run_script(script, progress)
    os.environ[ASSETS_ENV] = str(directory)
    return f"{'built' if built else 'cached'} at {directory}"


async def seictl_binary(progress: Progress) -> tuple[Path, str]:
    """The real sidecar's binary and what was done to have it."""
    given = os.environ.get(SEICTL_BIN_ENV)
    if given:
        if not os.access(given, os.X_OK):
            raise BinaryError(f"${SEICTL_BIN_ENV}={given} is not an executable")
        return Path(given), f"given by ${SEICTL_BIN_ENV}: {given}"
    directory, built = await _run_script(HACK / "build-seictl.sh", progress)
    binary = directory / "seictl"
    if not os.access(binary, os.X_OK):
        raise BinaryError(f"build-seictl.sh left no executable seictl in {directory}")
    return binary, f"{'built' if built else 'cached'} at {binary}"
