"""controller_runtime is generic: it must import neither the operator nor its API types, so it
can be lifted into another operator unchanged."""

from __future__ import annotations

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "controller_runtime"
FORBIDDEN = ("controllers", "api")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_runtime_imports_nothing_of_the_operator() -> None:
    files = sorted(RUNTIME.rglob("*.py"))
    assert len(files) > 50  # the walk found the package
    offenders = {
        f"{path.relative_to(RUNTIME.parent)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offenders, sorted(offenders)
