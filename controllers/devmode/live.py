"""The dev mode on a terminal: one screen redrawn in place (rich Live) with the steps, the
SeiNodeDeployment, its nodes, the rollout's progress and the recent events.

The screen is drawn from the newest view at every refresh (:class:`DevScreen` holds a getter,
not a copy), so the spinner and elapsed times move between changes too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from controllers.devmode.model import DevView, EventView, StepState, rollout_progress

__all__ = ["DevScreen", "LiveRenderer", "short_image"]

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


def short_image(image: str) -> str:
    """``ghcr.io/sei-protocol/seid:v6.4.0`` -> ``seid:v6.4.0``: the node table stays readable on
    an 80-column terminal (the full reference is on the progress line above it)."""
    return image.rsplit("/", 1)[-1]


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
        view = self._current()
        # The recent events take whatever height the rest leaves, so the KUBECONFIG line at the
        # bottom stays on a small terminal (Live crops what does not fit).
        rest = console.render_lines(self.render(view, options.max_width, events=0), options)
        room = options.size.height - len(rest) - 4  # a blank line, the title, the header, slack
        yield self.render(view, options.max_width, events=max(0, room))

    def render(self, view: DevView, width: int = 80, events: int | None = None) -> RenderableType:
        """The screen; ``events``: how many of the recent events to show (default all)."""
        parts: list[RenderableType] = [Text("sei-controller dev", style="bold"), self._steps(view)]
        if view.group is not None:
            parts += [Text(""), *self._group(view, width)]
        shown = view.events if events is None else view.events[len(view.events) - events :]
        if shown and events != 0:
            parts += [Text(""), self._events(shown)]
        if view.notices:
            parts += [Text("")] + [Text(n, style="bold", overflow="fold") for n in view.notices]
        return Group(*parts)

    def _steps(self, view: DevView) -> Table:
        now = self._clock()
        table = Table.grid(padding=(0, 1))
        for step in view.steps:
            if step.state is StepState.RUNNING:
                mark = Text(_SPINNER[int(now * 10) % len(_SPINNER)], style="cyan")
                detail = Text(f"{_elapsed(now - step.since)}  {step.detail}")
                detail.no_wrap, detail.overflow = True, "ellipsis"
            elif step.state is StepState.DONE:
                # One line each: the full text is in the plain output and the log.
                mark = Text("✓", style="green")
                detail = Text(step.detail, no_wrap=True, overflow="ellipsis")
            else:
                mark, detail = Text("✗", style="bold red"), Text(step.detail, style="red")
            table.add_row(mark, Text(step.name, style="bold"), detail)
        return table

    def _group(self, view: DevView, width: int) -> list[RenderableType]:
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
        bar.add_column(width=24, no_wrap=True)
        bar.add_column(no_wrap=True)
        bar.add_column(overflow="fold")
        bar.add_row(
            ProgressBar(total=max(total, 1), completed=done, width=24),
            Text(f"{done}/{total}", style="bold"),
            Text(f"nodes on {group.image}"),
        )
        nodes = Table(box=None, padding=(0, 2), header_style="bold")
        # Names and phases are never cut; on a narrow terminal the images give way (ellipsis).
        names = max((len(n.name) for n in view.nodes), default=4)
        phases = max((len(n.phase) for n in view.nodes), default=5)
        images = max(12, (width - names - phases - 10) // 2)
        nodes.add_column("NODE", no_wrap=True, min_width=names)
        nodes.add_column("PHASE", no_wrap=True, min_width=phases)
        nodes.add_column("RUNNING IMAGE", no_wrap=True, max_width=images, overflow="ellipsis")
        nodes.add_column("SPEC IMAGE", no_wrap=True, max_width=images, overflow="ellipsis")
        for node in view.nodes:
            nodes.add_row(
                node.name,
                Text(node.phase, style=_PHASE_STYLE.get(node.phase, "")),
                short_image(node.current_image) if node.current_image else "-",
                short_image(node.image),
            )
        return [head, bar, nodes]

    def _events(self, events: Sequence[EventView]) -> Table:
        table = Table(box=None, padding=(0, 1), header_style="bold", title_justify="left")
        table.title = "recent events"
        # Time, object and reason are never cut; the message takes what is left (ellipsis).
        table.add_column("TIME", no_wrap=True, min_width=8)
        table.add_column("OBJECT", no_wrap=True, min_width=max(len(e.object) for e in events))
        table.add_column("REASON", no_wrap=True, min_width=max(len(e.reason) for e in events))
        table.add_column("MESSAGE", overflow="ellipsis", no_wrap=True, ratio=1)
        for event in events:
            warning = event.type == "Warning"
            table.add_row(
                event.time[11:19] if len(event.time) >= 19 else event.time,
                event.object,
                Text(event.reason, style="bold red" if warning else ""),
                event.message,
            )
        return table


class LiveRenderer:
    """Redraws :class:`DevScreen` in place; the last screen stays on the terminal at stop.

    The screen is redrawn on every change, and between changes only while a step runs (its
    spinner and elapsed time move): a dev mode idling for kubectl costs no redraws.
    """

    TICK = 0.25

    def __init__(self, console: Console | None = None) -> None:
        self._view = DevView()
        self._live = Live(
            DevScreen(lambda: self._view),
            console=console or Console(),
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._ticker: asyncio.Task[None] | None = None

    def start(self, view: DevView) -> None:
        self._view = view
        self._live.start(refresh=True)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="dev-screen")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.TICK)
            if any(step.state is StepState.RUNNING for step in self._view.steps):
                self._live.refresh()

    def show(self, old: DevView, new: DevView) -> None:
        self._view = new
        self._live.refresh()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._live.refresh()
        self._live.stop()
