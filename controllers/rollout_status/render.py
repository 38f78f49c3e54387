"""How a verdict is shown (pure): one plain line per change for logs and pipes, or a redrawn
block (progress bar, elapsed time, one row per node) for a terminal."""

from __future__ import annotations

from datetime import datetime

from controllers.rollout_status.verdict import Verdict
from controllers.seinodedeployment.rollout import go_duration

__all__ = ["BAR_WIDTH", "bar", "redraw", "screen"]

BAR_WIDTH = 30


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``[##########--------------------]``; full only when everything is done."""
    filled = width if total <= 0 else min(width, done * width // total)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _summary(verdict: Verdict, now: datetime) -> str:
    parts = [f"{bar(verdict.done, verdict.total)} {verdict.done}/{verdict.total} {verdict.unit}"]
    if verdict.strategy:
        target = f" to {verdict.target[:8]}" if verdict.target else ""
        parts.append(f"{verdict.strategy}{target}")
    if verdict.started_at is not None:
        parts.append(go_duration(max(0, int((now - verdict.started_at).total_seconds()))))
    if verdict.step:
        parts.append(f"step {verdict.step}")
    return "  ".join(parts)


def screen(verdict: Verdict, now: datetime) -> list[str]:
    """The terminal block: the message, the progress line, then the nodes as a table."""
    lines = [verdict.message, _summary(verdict, now)]
    if verdict.nodes:
        width = max(len("NODE"), *(len(n.name) for n in verdict.nodes))
        phase_width = max(len("PHASE"), *(len(n.phase or "-") for n in verdict.nodes))
        lines.append(f"  {'NODE':<{width}}  {'PHASE':<{phase_width}}  STATE")
        done, pending = ("updated", "updating") if verdict.unit == "updated" else ("ready", "-")
        for node in verdict.nodes:
            state = done if node.done else pending
            lines.append(f"  {node.name:<{width}}  {node.phase or '-':<{phase_width}}  {state}")
    return lines


def redraw(previous_height: int, lines: list[str], columns: int) -> str:
    """ANSI text replacing the block last drawn (``previous_height`` lines) with ``lines``,
    each cut to the terminal's width: a wrapped line would make the next redraw miscount."""
    up = f"\x1b[{previous_height}F" if previous_height else ""
    cut = max(columns - 1, 1)
    return up + "\x1b[J" + "".join(f"{line[:cut]}\n" for line in lines)
