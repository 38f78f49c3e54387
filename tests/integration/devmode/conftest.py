"""`sei-controller dev` run as the user runs it: a subprocess of this interpreter, with the
binaries the session already has (as `make dev` would find them cached)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from controller_runtime.envtest import ASSETS_ENV
from controllers.devmode.manifest import GROUP_NAME
from controllers.sidecar.launchers import SEICTL_BIN_ENV

from ..sidecar.conftest import seictl_binary

REPO = Path(__file__).resolve().parents[3]
NODES = [f"{GROUP_NAME}-{i}" for i in range(3)]


@pytest.fixture
def dev_env(envtest_assets: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[ASSETS_ENV] = str(envtest_assets)
    env[SEICTL_BIN_ENV] = str(seictl_binary())
    return env


def dev_argv(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "controllers.cli", "dev", "--state-dir", str(state_dir), *args]
