"""The live screen, rendered to a recording console: what a terminal would show."""

from __future__ import annotations

import io

from rich.console import Console

from controllers.devmode.live import DevScreen, LiveRenderer
from controllers.devmode.model import DevView, EventView, GroupView, NodeView, StepState

GROUP = GroupView("default", "rpc", "Upgrading", 3, 3, "sei:v2", 2, 2, "True/TemplateChanged", True)


def screen_text(view: DevView, now: float = 10.0) -> str:
    console = Console(file=io.StringIO(), width=140, record=True, color_system=None)
    console.print(DevScreen(lambda: view, clock=lambda: now))
    return console.export_text()


def upgrading() -> DevView:
    view = DevView().with_group(GROUP)
    for i, current in enumerate(("sei:v2", "sei:v1", "sei:v1")):
        view = view.with_node(NodeView(f"rpc-{i}", "Running", "sei:v2", current))
    return view


def test_screen_lists_every_node_with_phase_and_images() -> None:
    lines = screen_text(upgrading()).splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.strip().startswith("rpc-")}
    assert rows["rpc-0"] == ["rpc-0", "Running", "sei:v2", "sei:v2"]
    assert rows["rpc-1"] == ["rpc-1", "Running", "sei:v1", "sei:v2"]


def test_node_names_and_phases_are_not_cut_on_an_80_column_terminal() -> None:
    view = DevView().with_group(GROUP)
    for i in range(3):
        image = f"ghcr.io/sei-protocol/{'x' * 60}:v2"
        view = view.with_node(NodeView(f"pacific-1-rpc-{i}", "Initializing", image, image))
    console = Console(file=io.StringIO(), width=80, record=True, color_system=None)
    console.print(DevScreen(lambda: view, clock=lambda: 0.0))
    rows = [line.split()[:2] for line in console.export_text().splitlines() if "rpc-" in line]
    assert rows == [[f"pacific-1-rpc-{i}", "Initializing"] for i in range(3)]


def test_screen_shows_rollout_progress_as_a_count() -> None:
    text = screen_text(upgrading())
    assert "nodes on sei:v2" in text
    assert "1/3" in text


def test_running_step_shows_its_elapsed_time() -> None:
    view = DevView().with_step("control plane", StepState.RUNNING, "starting", now=0.0)
    assert "control plane 1m15s starting" in " ".join(screen_text(view, now=75.0).split())


def test_failed_step_is_marked() -> None:
    view = DevView().with_step("upgrade", StepState.FAILED, "did not complete", now=0.0)
    assert "✗ upgrade did not complete" in screen_text(view)


def test_recent_events_and_notices_are_shown() -> None:
    event = EventView("e#1", "2026-11-29T08:50:01Z", "Normal", "SeiNodeDeployment/rpc",
                      "RolloutComplete", "done")  # fmt: skip
    view = upgrading().with_event(event).with_notice("KUBECONFIG=/tmp/k")
    text = screen_text(view)
    assert "08:50:01" in text
    assert "RolloutComplete" in text
    assert "KUBECONFIG=/tmp/k" in text


def test_on_an_80x24_terminal_events_give_way_so_the_kubeconfig_line_shows() -> None:
    view = upgrading()
    for name in ("binaries", "control plane", "CRDs", "sidecars", "manager", "deploy", "upgrade"):
        view = view.with_step(name, StepState.DONE, f"{name} done " + "/very/long/path" * 8, 0.0)
    for i in range(8):
        event = EventView(f"e{i}#1", f"2026-11-29T08:50:0{i}Z", "Normal", "SeiNode/rpc-0", "R",
                          "message " * 12)  # fmt: skip
        view = view.with_event(event)
    view = view.with_notice("KUBECONFIG=/home/user/sei-k8s-controller/.dev/kubeconfig")
    view = view.with_notice("press Ctrl-C to stop")
    console = Console(file=io.StringIO(), width=80, height=24, record=True, color_system=None)
    console.print(DevScreen(lambda: view, clock=lambda: 0.0))
    lines = console.export_text().splitlines()
    assert len(lines) <= 24
    assert "KUBECONFIG=/home/user/sei-k8s-controller/.dev/kubeconfig" in lines
    assert lines[-1] == "press Ctrl-C to stop"
    assert [line.split()[0] for line in lines if line.lstrip().startswith("rpc-")] == [
        "rpc-0",
        "rpc-1",
        "rpc-2",
    ]


def test_on_a_tall_terminal_every_recent_event_shows() -> None:
    view = upgrading()
    for i in range(8):
        view = view.with_event(
            EventView(f"e{i}#1", f"2026-11-29T08:50:0{i}Z", "Normal", "SeiNode/rpc-0", f"R{i}", "m")
        )
    console = Console(file=io.StringIO(), width=120, height=60, record=True, color_system=None)
    console.print(DevScreen(lambda: view, clock=lambda: 0.0))
    text = console.export_text()
    assert all(f"R{i}" in text for i in range(8))


async def test_live_renderer_leaves_the_last_screen_on_the_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, height=40, force_terminal=True, color_system=None)
    renderer = LiveRenderer(console)
    renderer.start(DevView())
    renderer.show(DevView(), upgrading().with_notice("KUBECONFIG=/tmp/k"))
    renderer.stop()
    assert "KUBECONFIG=/tmp/k" in out.getvalue()
    assert "rpc-2" in out.getvalue()
