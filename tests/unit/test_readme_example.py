"""The README's "Writing a controller on the runtime" example follows today's API: its imports
resolve and it defines main()."""

from __future__ import annotations

import inspect
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def runtime_example() -> str:
    text = README.read_text()
    section = text.index("## Writing a controller on the runtime")
    start = text.index("```python\n", section) + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_readme_example_imports_and_defines_main() -> None:
    namespace: dict[str, object] = {}
    exec(compile(runtime_example(), "README.md", "exec"), namespace)
    assert inspect.iscoroutinefunction(namespace["main"])
