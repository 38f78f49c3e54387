"""Installing CustomResourceDefinitions from YAML and waiting until they are served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from controller_runtime.envtest.rest import AdminRest

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def read_crds(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the given files and directories (*.yaml,
    *.yml, *.json; directories are not recursed, like controller-runtime's envtest)."""
    crds: list[dict[str, Any]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"CRD path does not exist: {path}")
        files = (
            sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
            if path.is_dir()
            else [path]
        )
        for file in files:
            for doc in yaml.safe_load_all(file.read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(doc)
    return crds


async def _create_or_replace(rest: AdminRest, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    status, _ = await rest.request("POST", CRD_PATH, crd, ok=(201, 409))
    if status == 409:
        _, current = await rest.request("GET", f"{CRD_PATH}/{name}")
        updated = {**crd, "metadata": {**crd["metadata"]}}
        updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        await rest.request("PUT", f"{CRD_PATH}/{name}", updated)


def _condition_true(obj: dict[str, Any], kind: str) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


async def _served(rest: AdminRest, crd: dict[str, Any]) -> bool:
    name = crd["metadata"]["name"]
    _, current = await rest.request("GET", f"{CRD_PATH}/{name}")
    if not (_condition_true(current, "Established") and _condition_true(current, "NamesAccepted")):
        return False
    # Established is set before discovery serves the resource; clients resolve kinds through
    # discovery, so wait for every served version to list the plural.
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        status, doc = await rest.request("GET", f"/apis/{group}/{version['name']}", ok=(200, 404))
        if status != 200 or plural not in {r["name"] for r in doc.get("resources") or []}:
            return False
    return True


async def install_crds(
    rest: AdminRest,
    paths: Sequence[Path | str],
    timeout: float = 30.0,
    poll: float = 0.1,
) -> list[dict[str, Any]]:
    """Creates (or replaces) the CRDs and waits until each is Established and discoverable."""
    crds = read_crds(paths)
    for crd in crds:
        await _create_or_replace(rest, crd)
    async with asyncio.timeout(timeout):
        pending = list(crds)
        while pending:
            pending = [crd for crd in pending if not await _served(rest, crd)]
            if pending:
                await asyncio.sleep(poll)
    installed = []
    for crd in crds:
        _, current = await rest.request("GET", f"{CRD_PATH}/{crd['metadata']['name']}")
        installed.append(current)
    return installed
