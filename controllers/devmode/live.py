"""The dev mode on a terminal: one screen redrawn in place (rich Live) with the steps, the
SeiNodeDeployment, its nodes, the rollout's progress and the recent events.

The screen is drawn from the newest view at every refresh (:class:`DevScreen` holds a getter,
not a copy), so the spinner and elapsed times move between changes too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from controllers.devmode.model import DevView, StepState, rollout_progress

__all__ = ["DevScreen", "LiveRenderer"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_PHASE_STYLE = {
    "Running": "green",
    "Ready": "green",
    "Initializing": "yellow",
    "Upgrading": "yellow",
    "Pending": "dim",
    "Degraded": "red",
    "Failed": "red",
}


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class DevScreen:
    """A rich renderable of whatever view ``current`` returns when it is drawn."""

    def __init__(
        self, current: Callable[[], DevView], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._current = current
        self._clock = clock

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        yield self.render(self._current())

    def render(self, view: DevView) -> RenderableType:
        parts: list[RenderableType] = [Text("sei-controller dev", style="bold"), self._steps(view)]
        if view.group is not None:
            parts += [Text(""), *self._group(view)]
        if view.events:
            parts += [Text(""), self._events(view)]
        if view.notices:
            parts += [Text("")] + [Text(n, style="bold", overflow="fold") for n in view.notices]
        return Group(*parts)

    def _steps(self, view: DevView) -> Table:
        now = self._clock()
        table = Table.grid(padding=(0, 1))
        for step in view.steps:
            if step.state is StepState.RUNNING:
                mark = Text(_SPINNER[int(now * 10) % len(_SPINNER)], style="cyan")
                detail = Text(f"{step.detail} ({_elapsed(now - step.since)})")
            elif step.state is StepState.DONE:
                mark, detail = Text("✓", style="green"), Text(step.detail)
            else:
                mark, detail = Text("✗", style="bold red"), Text(step.detail, style="red")
            table.add_row(mark, Text(step.name, style="bold"), detail)
        return table

    def _group(self, view: DevView) -> list[RenderableType]:
        group = view.group
        assert group is not None
        head = Text.assemble(
            ("SeiNodeDeployment ", "bold"),
            f"{group.namespace}/{group.name}  ",
            (group.phase, _PHASE_STYLE.get(group.phase, "")),
            f"  {group.ready_replicas}/{group.replicas} ready",
            f"  RolloutInProgress {group.rollout}" if group.rollout else "",
        )
        done, total = rollout_progress(view)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            Text(f"nodes on {group.image}"),
            ProgressBar(total=max(total, 1), completed=done, width=30),
            Text(f"{done}/{total}"),
        )
        nodes = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("NODE", "PHASE", "RUNNING IMAGE", "SPEC IMAGE"):
            nodes.add_column(column, no_wrap=True)
        for node in view.nodes:
            nodes.add_row(
                node.name,
                Text(node.phase, style=_PHASE_STYLE.get(node.phase, "")),
                node.current_image or "-",
                node.image,
            )
        return [head, bar, nodes]

    def _events(self, view: DevView) -> Table:
        table = Table(box=None, padding=(0, 2), header_style="bold", title_justify="left")
        table.title = "recent events"
        for column in ("TIME", "TYPE", "OBJECT", "REASON"):
            table.add_column(column, no_wrap=True)
        table.add_column("MESSAGE", overflow="ellipsis", no_wrap=True, ratio=1)
        for event in view.events:
            table.add_row(
                event.time[11:19] if len(event.time) >= 19 else event.time,
                Text(event.type, style="red" if event.type == "Warning" else ""),
                event.object,
                event.reason,
                event.message,
            )
        return table


class LiveRenderer:
    """Redraws :class:`DevScreen` in place; the last screen stays on the terminal at stop."""

    def __init__(self, console: Console | None = None) -> None:
        self._view = DevView()
        self._live = Live(
            DevScreen(lambda: self._view),
            console=console or Console(),
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def start(self, view: DevView) -> None:
        self._view = view
        self._live.start()

    def show(self, old: DevView, new: DevView) -> None:
        self._view = new
        self._live.refresh()

    def stop(self) -> None:
        self._live.refresh()
        self._live.stop()
