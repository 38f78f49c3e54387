"""Finding or building the dev mode's binaries: progress lines, cached vs built, failures in
one line, and the simulator when seictl cannot be had."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controller_runtime.envtest import ASSETS_ENV
from controllers.devmode import binaries
from controllers.devmode.binaries import BinaryError, control_plane_binaries, seictl_binary
from controllers.devmode.session import _sidecar_binary, _Step
from controllers.devmode.store import ViewStore
from controllers.sidecar.launchers import SEICTL_BIN_ENV


def script(path: Path, body: str) -> Path:
    path.write_text("#!/usr/bin/env bash\nset -e\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def hack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "hack"
    directory.mkdir()
    monkeypatch.setattr(binaries, "HACK", directory)
    monkeypatch.delenv(ASSETS_ENV, raising=False)
    monkeypatch.delenv(SEICTL_BIN_ENV, raising=False)
    return directory


async def test_cached_build_reports_each_progress_line_and_the_directory(
    hack: Path, tmp_path: Path
) -> None:
    script(
        hack / "build-control-plane.sh",
        "echo '[build-control-plane    0s] etcd v3 cached' >&2\n"
        "echo '[build-control-plane    1s] kwok v0 cached' >&2\n"
        f"echo {tmp_path}/bin\n",
    )
    progress: list[str] = []
    assert await control_plane_binaries(progress.append) == f"cached at {tmp_path}/bin"
    assert progress == ["etcd v3 cached", "kwok v0 cached"]
    assert os.environ[ASSETS_ENV] == f"{tmp_path}/bin"


async def test_a_build_that_compiled_something_says_built(hack: Path, tmp_path: Path) -> None:
    script(
        hack / "build-control-plane.sh",
        "echo '[build-control-plane    0s] building kwok (sigs.k8s.io/kwok)' >&2\n"
        f"echo {tmp_path}/bin\n",
    )
    assert (await control_plane_binaries(lambda _: None)).startswith("built at ")


async def test_a_failing_build_ends_with_its_last_line(hack: Path) -> None:
    script(hack / "build-control-plane.sh", "echo '[x 0s] go: no network' >&2\nexit 3\n")
    with pytest.raises(BinaryError, match=r"build-control-plane.sh failed \(exit 3\): \[x 0s\] go"):
        await control_plane_binaries(lambda _: None)


async def test_without_a_source_checkout_the_control_plane_must_be_given(hack: Path) -> None:
    with pytest.raises(BinaryError, match=f"set \\${ASSETS_ENV} to their directory"):
        await control_plane_binaries(lambda _: None)


async def test_given_control_plane_directory_is_used_as_is(
    hack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kube-apiserver").touch()
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    assert await control_plane_binaries(lambda _: None) == f"given by ${ASSETS_ENV}: {tmp_path}"


async def test_a_given_seictl_must_be_executable(
    hack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "seictl").touch()
    monkeypatch.setenv(SEICTL_BIN_ENV, str(tmp_path / "seictl"))
    with pytest.raises(BinaryError, match="is not an executable"):
        await seictl_binary(lambda _: None)


class _Quiet:
    def start(self, view: object) -> None: ...

    def show(self, old: object, new: object) -> None: ...

    def stop(self) -> None: ...


async def test_auto_falls_back_to_simulated_sidecars_without_seictl(hack: Path) -> None:
    step = _Step(ViewStore(_Quiet()), "binaries")
    binary, note = await _sidecar_binary("auto", step)
    assert binary is None
    assert note.endswith("; the sidecars are simulated")


async def test_seictl_mode_fails_without_seictl(hack: Path) -> None:
    step = _Step(ViewStore(_Quiet()), "binaries")
    with pytest.raises(BinaryError, match=r"build-seictl\.sh not found"):
        await _sidecar_binary("seictl", step)
