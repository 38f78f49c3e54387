"""What a SeiNodeDeployment says about its rollout, as ``rollout status`` reports it: pure rules
from one observed object (no API access, no clock) to a verdict, its one-line message and the
progress numbers.

The rules read only what the controller writes (spec 4.2, 4.5, 8.x; decisions D1, D2):

* ``RolloutInProgress`` True: a rollout runs; reason ``Stalled`` (D1) is a stall. Progress is
  ``status.rollout.nodes[].ready`` (D2) over the rollout's nodes.
* ``RolloutInProgress`` False/``RolloutFailed`` at the current generation: the rollout failed.
* Otherwise the group has caught up with its spec once ``observedGeneration`` reached
  ``metadata.generation`` and ``templateHash`` is the hash of the current template (both are
  frozen while a plan or rollout runs, so a change not yet picked up is never taken for done);
  it is complete once it is Ready (every desired node Running), failed if every node Failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import ValidationError

from api.v1alpha1 import SeiNodeSpec
from api.v1alpha1.template_hash import template_hash

__all__ = ["NodeState", "Outcome", "Verdict", "evaluate"]

ROLLOUT_IN_PROGRESS = "RolloutInProgress"
PLAN_IN_PROGRESS = "PlanInProgress"
NODES_READY = "NodesReady"
STALLED = "Stalled"
ROLLOUT_FAILED = "RolloutFailed"
RUNNING = "Running"
FAILED = "Failed"

Object = Mapping[str, Any]


class Outcome(Enum):
    PROGRESSING = "progressing"
    COMPLETE = "complete"
    FAILED = "failed"
    STALLED = "stalled"

    @property
    def final(self) -> bool:
        return self is not Outcome.PROGRESSING


@dataclass(frozen=True)
class NodeState:
    """One node as the status shows it. ``done``: updated (in a rollout) or Running."""

    name: str
    phase: str
    done: bool


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    """One line, kubectl style: what is awaited, or how it ended."""
    done: int
    total: int
    unit: str
    """What ``done`` counts: "updated" during a rollout, else "ready"."""
    nodes: tuple[NodeState, ...] = ()
    strategy: str | None = None
    target: str | None = None
    step: str | None = None
    """The group plan's current task type, if a plan runs."""
    started_at: datetime | None = None


def _condition(status: Object, type_: str) -> Object | None:
    return next((c for c in status.get("conditions") or () if c.get("type") == type_), None)


def _is_true(status: Object, type_: str) -> bool:
    found = _condition(status, type_)
    return found is not None and found.get("status") == "True"


def current_template_hash(obj: Object) -> str | None:
    """The hash the controller will record for the object's template (None if the template
    does not parse: the controller cannot act on it either, and the hash rule is skipped)."""
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec")
    if not isinstance(template, Mapping):
        return None
    try:
        return template_hash(SeiNodeSpec.model_validate(template))
    except ValidationError:
        return None


def _plan_step(status: Object) -> str | None:
    tasks = (status.get("plan") or {}).get("tasks") or ()
    pending = next((t for t in tasks if t.get("status") != "Complete"), None)
    return str(pending.get("type")) if pending else None


def _started_at(rollout: Object) -> datetime | None:
    raw = rollout.get("startedAt")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def _rollout_nodes(rollout: Object, status: Object) -> tuple[NodeState, ...]:
    """D2 progress; before the controller's first progress write, the targeted nodes (from
    detection) with the phases of ``status.nodes``, none updated yet."""
    tracked = rollout.get("nodes")
    if tracked:
        return tuple(
            NodeState(str(n["name"]), str(n.get("phase") or ""), bool(n.get("ready")))
            for n in tracked
        )
    phases = {n.get("name"): str(n.get("phase") or "") for n in status.get("nodes") or ()}
    return tuple(
        NodeState(name, phases.get(name, ""), False) for name in rollout.get("incumbentNodes") or ()
    )


def _group_nodes(status: Object) -> tuple[NodeState, ...]:
    return tuple(
        NodeState(str(n["name"]), str(n.get("phase") or ""), n.get("phase") == RUNNING)
        for n in status.get("nodes") or ()
    )


def _not_done(nodes: tuple[NodeState, ...]) -> str:
    names = [n.name for n in nodes if not n.done]
    return f" (not ready: {', '.join(names)})" if names else ""


def evaluate(obj: Object) -> Verdict:
    """The verdict on one observed SeiNodeDeployment (rules in the module docstring)."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    ref = f'seinodedeployment "{meta.get("name", "")}"'
    generation = int(meta.get("generation") or 0)
    desired = int(spec.get("replicas") or 0)
    rollout = status.get("rollout") or {}
    step = _plan_step(status)

    if meta.get("deletionTimestamp"):
        return Verdict(Outcome.FAILED, f"{ref} is being deleted", 0, desired, "ready")

    if _is_true(status, ROLLOUT_IN_PROGRESS):
        nodes = _rollout_nodes(rollout, status)
        done = sum(1 for n in nodes if n.done)
        running = Verdict(
            Outcome.PROGRESSING,
            "",
            done,
            len(nodes),
            "updated",
            nodes,
            rollout.get("strategy"),
            rollout.get("targetHash"),
            step,
            _started_at(rollout),
        )
        cond = _condition(status, ROLLOUT_IN_PROGRESS) or {}
        if cond.get("reason") == STALLED:
            message = f"{ref} {cond.get('message') or 'rollout stalled'}{_not_done(nodes)}"
            return _with(running, message, Outcome.STALLED)
        detail = f": {done} of {len(nodes)} nodes updated" if nodes else ""
        if nodes and done == len(nodes) and step:
            detail += f", plan step {step}"
        return _with(running, f"Waiting for {ref} rollout to finish{detail}...")

    nodes = _group_nodes(status)
    ready = sum(1 for n in nodes if n.done)
    failed_cond = _condition(status, ROLLOUT_IN_PROGRESS)
    if (
        failed_cond is not None
        and failed_cond.get("reason") == ROLLOUT_FAILED
        and int(failed_cond.get("observedGeneration") or 0) >= generation
    ):
        message = f"{ref} rollout failed: {failed_cond.get('message') or ROLLOUT_FAILED}"
        return Verdict(Outcome.FAILED, message, ready, desired, "ready", nodes)

    waiting = Verdict(Outcome.PROGRESSING, "", ready, desired, "ready", nodes, step=step)
    if _is_true(status, PLAN_IN_PROGRESS):
        detail = f" (plan step {step})" if step else ""
        return _with(waiting, f"Waiting for {ref} plan to finish{detail}...")
    observed = status.get("observedGeneration")
    recorded = status.get("templateHash")
    current = current_template_hash(obj)
    if observed is None or int(observed) < generation or not recorded:
        return _with(waiting, f"Waiting for {ref} spec update to be observed...")
    if current is not None and recorded != current:
        return _with(waiting, f"Waiting for {ref} rollout to start...")
    if nodes and all(n.phase == FAILED for n in nodes):
        return _with(waiting, f"{ref} failed: every node is Failed", Outcome.FAILED)
    if ready >= desired and (status.get("phase") == "Ready" or desired == 0):
        return _with(waiting, f"{ref} successfully rolled out", Outcome.COMPLETE)
    failed = sum(1 for n in nodes if n.phase == FAILED)
    extra = f", {failed} Failed" if failed else ""
    return _with(
        waiting, f"Waiting for {ref} to be Ready: {ready} of {desired} nodes ready{extra}..."
    )


def _with(verdict: Verdict, message: str, outcome: Outcome = Outcome.PROGRESSING) -> Verdict:
    return dataclasses.replace(verdict, outcome=outcome, message=message)
