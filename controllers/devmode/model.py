"""The dev mode's view model: what the screen shows, as immutable values built from API objects.

Pure: no I/O, no clock (times are passed in). The live renderer draws a :class:`DevView`; the
plain renderer prints :func:`changes` between two of them; the orchestration waits on
predicates over it (:func:`group_ready`, :func:`upgrade_complete`), so what is waited on is
exactly what is shown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_EVENTS",
    "DevView",
    "EventView",
    "GroupView",
    "NodeView",
    "Step",
    "StepState",
    "changes",
    "event_view",
    "group_ready",
    "group_view",
    "node_view",
    "rollout_progress",
    "upgrade_complete",
]

Object = dict[str, Any]
MAX_EVENTS = 8
"""How many recent events the view keeps (the newest last)."""


class StepState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of the dev mode (binaries, control plane, ...) and what it is doing now."""

    name: str
    state: StepState
    detail: str
    since: float = 0.0
    """Monotonic time the step entered its state (the live view shows the elapsed time)."""


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    phase: str
    image: str
    """spec.image: what the node should run."""
    current_image: str
    """status.currentImage: what its pod runs, as the controller last saw it rolled out."""


@dataclass(frozen=True, slots=True)
class GroupView:
    namespace: str
    name: str
    phase: str
    replicas: int
    ready_replicas: int
    image: str
    """The template's image: the rollout's target."""
    generation: int
    observed_generation: int
    rollout: str
    """The RolloutInProgress condition as ``Status/Reason`` ("" before it is set)."""
    rollout_active: bool
    """status.rollout is set: a rollout is recorded and not finished."""


@dataclass(frozen=True, slots=True)
class EventView:
    key: str
    """Name and count: an event seen again (count bumped) is a new line."""
    time: str
    type: str
    object: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class DevView:
    steps: tuple[Step, ...] = ()
    group: GroupView | None = None
    nodes: tuple[NodeView, ...] = ()
    events: tuple[EventView, ...] = ()
    notices: tuple[str, ...] = ()
    """Lines for the user that stay on screen (the KUBECONFIG line, how to stop)."""

    def with_step(self, name: str, state: StepState, detail: str, now: float) -> DevView:
        """Sets a step; a step keeps its place in the list, a new one goes last. ``since`` only
        moves when the state changes."""
        steps = list(self.steps)
        for i, step in enumerate(steps):
            if step.name == name:
                since = step.since if step.state == state else now
                steps[i] = Step(name, state, detail, since)
                break
        else:
            steps.append(Step(name, state, detail, now))
        return dataclasses.replace(self, steps=tuple(steps))

    def with_group(self, group: GroupView | None) -> DevView:
        return dataclasses.replace(self, group=group)

    def with_node(self, node: NodeView) -> DevView:
        others = [n for n in self.nodes if n.name != node.name]
        return dataclasses.replace(self, nodes=tuple(sorted([*others, node], key=_node_order)))

    def without_node(self, name: str) -> DevView:
        return dataclasses.replace(self, nodes=tuple(n for n in self.nodes if n.name != name))

    def with_event(self, event: EventView) -> DevView:
        if any(e.key == event.key for e in self.events):
            return self
        events = sorted([*self.events, event], key=lambda e: e.time)
        return dataclasses.replace(self, events=tuple(events[-MAX_EVENTS:]))

    def with_notice(self, notice: str) -> DevView:
        if notice in self.notices:
            return self
        return dataclasses.replace(self, notices=(*self.notices, notice))


def _node_order(node: NodeView) -> tuple[str, int]:
    """``name-10`` after ``name-9``."""
    base, _, ordinal = node.name.rpartition("-")
    return (base, int(ordinal)) if ordinal.isdigit() else (node.name, -1)


# --- from API objects --------------------------------------------------------------------------


def _status(obj: Object) -> Object:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _condition(obj: Object, type_: str) -> Object | None:
    conditions = _status(obj).get("conditions") or []
    return next((c for c in conditions if c.get("type") == type_), None)


def group_view(obj: Object) -> GroupView:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, _status(obj)
    template = ((spec.get("template") or {}).get("spec")) or {}
    rollout = _condition(obj, "RolloutInProgress")
    return GroupView(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        phase=str(status.get("phase") or "Pending"),
        replicas=int(spec.get("replicas") or 0),
        ready_replicas=int(status.get("readyReplicas") or 0),
        image=str(template.get("image") or ""),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        rollout="" if rollout is None else f"{rollout.get('status')}/{rollout.get('reason')}",
        rollout_active=bool(status.get("rollout")),
    )


def node_view(obj: Object) -> NodeView:
    status = _status(obj)
    return NodeView(
        name=str((obj.get("metadata") or {}).get("name") or ""),
        phase=str(status.get("phase") or "Pending"),
        image=str((obj.get("spec") or {}).get("image") or ""),
        current_image=str(status.get("currentImage") or ""),
    )


def event_view(obj: Object) -> EventView:
    meta, involved = obj.get("metadata") or {}, obj.get("involvedObject") or {}
    time = str(
        obj.get("lastTimestamp") or obj.get("eventTime") or meta.get("creationTimestamp") or ""
    )
    return EventView(
        key=f"{meta.get('name')}#{obj.get('count') or 1}",
        time=time,
        type=str(obj.get("type") or "Normal"),
        object=f"{involved.get('kind')}/{involved.get('name')}",
        reason=str(obj.get("reason") or ""),
        message=" ".join(str(obj.get("message") or "").split()),
    )


# --- what is waited on ---------------------------------------------------------------------------


def rollout_progress(view: DevView) -> tuple[int, int]:
    """(nodes running the template's image, replicas)."""
    group = view.group
    if group is None:
        return 0, 0
    on_target = sum(1 for n in view.nodes if n.current_image == group.image)
    return on_target, group.replicas


def _settled(view: DevView, image: str) -> bool:
    group = view.group
    if group is None or group.image != image or group.replicas == 0:
        return False
    return (
        group.phase == "Ready"
        and group.ready_replicas == group.replicas
        and group.observed_generation == group.generation
        and not group.rollout_active
        and len(view.nodes) == group.replicas
        and all(n.phase == "Running" and n.current_image == image for n in view.nodes)
    )


def group_ready(view: DevView, image: str) -> bool:
    """Every replica Running on ``image`` and the group Ready for its current spec."""
    return _settled(view, image)


def upgrade_complete(view: DevView, image: str) -> bool:
    """The rollout to ``image`` is over: recorded as complete, every node on ``image``."""
    return (
        _settled(view, image)
        and view.group is not None
        and view.group.rollout in ("False/RolloutComplete",)
    )


# --- plain lines -------------------------------------------------------------------------------


def _step_line(step: Step) -> str:
    marker = {StepState.RUNNING: "..", StepState.DONE: "ok", StepState.FAILED: "FAILED"}
    return f"[{marker[step.state]}] {step.name}: {step.detail}"


def _group_line(view: DevView) -> str:
    group = view.group
    assert group is not None
    on_target, replicas = rollout_progress(view)
    rollout = f", rollout {group.rollout}" if group.rollout else ""
    return (
        f"deployment {group.namespace}/{group.name}: {group.phase}, "
        f"{group.ready_replicas}/{group.replicas} ready, {on_target}/{replicas} nodes on "
        f"{group.image}{rollout}"
    )


def _node_line(node: NodeView) -> str:
    image = node.current_image or "(no image rolled out yet)"
    return f"node {node.name}: {node.phase}, {image}"


def _event_line(event: EventView) -> str:
    return f"event {event.object} {event.type} {event.reason}: {event.message}"


def changes(old: DevView, new: DevView) -> list[str]:
    """One line per thing that changed from ``old`` to ``new``, in a stable order: steps,
    the group, its nodes, events, notices. Equal views give no lines."""
    lines: list[str] = []
    old_steps = {s.name: s for s in old.steps}
    for step in new.steps:
        was = old_steps.get(step.name)
        if was is None or (was.state, was.detail) != (step.state, step.detail):
            lines.append(_step_line(step))
    if new.group is not None and (old.group is None or _group_line(old) != _group_line(new)):
        lines.append(_group_line(new))
    old_nodes = {n.name: n for n in old.nodes}
    for node in new.nodes:
        before = old_nodes.pop(node.name, None)
        if before is None or (before.phase, before.current_image) != (
            node.phase,
            node.current_image,
        ):
            lines.append(_node_line(node))
    lines.extend(f"node {name}: deleted" for name in sorted(old_nodes))
    seen = {e.key for e in old.events}
    lines.extend(_event_line(e) for e in new.events if e.key not in seen)
    lines.extend(n for n in new.notices if n not in old.notices)
    return lines
