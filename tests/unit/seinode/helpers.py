"""Small accessors into rendered pod templates."""

from __future__ import annotations

from typing import Any


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def container(obj: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod(obj)
    for found in [*spec.get("initContainers", []), *spec["containers"]]:
        if found["name"] == name:
            return dict(found)
    raise KeyError(name)


def env(container: dict[str, Any]) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in container.get("env", [])}
