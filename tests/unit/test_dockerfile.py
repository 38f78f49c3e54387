"""The Dockerfile's build context: .dockerignore admits every path the Dockerfile copies."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def copied_sources() -> list[str]:
    sources: list[str] = []
    for line in (REPO / "Dockerfile").read_text().splitlines():
        match = re.match(r"COPY\s+(?!--from)(.+)\s+\S+$", line.strip())
        if match:
            sources.extend(match.group(1).split())
    return sources


def test_dockerignore_admits_every_copied_path() -> None:
    admitted = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = copied_sources()
    assert "controllers" in sources
    assert sorted(set(sources) - admitted) == []


def test_every_copied_path_exists() -> None:
    assert [s for s in copied_sources() if not (REPO / s).exists()] == []
