"""Pure rollout rules: detection and supersession (spec 8.1, 8.3; decisions F9, F11, F13),
per-node progress (D2), convergence on the rolled-out pod template (F10) and stall escalation
(D1). Everything here mutates the group in memory and returns what to emit; the reconciler
writes and records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.v1alpha1 import (
    ConditionStatus,
    RolloutNodeStatus,
    RolloutStatus,
    SeiNodeDeployment,
    UpdateStrategyType,
)
from api.v1alpha1.template_hash import template_hash
from controllers.seinodedeployment.status import PLAN_IN_PROGRESS, ROLLOUT_IN_PROGRESS

DEFAULT_SIDECAR_IMAGE = (
    "ghcr.io/sei-protocol/seictl@sha256:"
    "2cb320dd583000765520293d4e28ecc79fed4432c76760923d3aaa47803a4dbf"
)
STALLED = "Stalled"
TEMPLATE_CHANGED = "TemplateChanged"

Object = dict[str, Any]


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class Detection:
    events: list[Event] = field(default_factory=list)
    started: bool = False
    superseded: bool = False


def detect_rollout(
    group: SeiNodeDeployment, children: Sequence[str], current_revision: str, now: datetime
) -> Detection:
    """detectDeploymentNeeded with the fixes: a rollout always targets the group's real
    children (F9: none, no rollout), plans by ``rollout.strategy`` (F11), and the
    RolloutStarted message names the strategy (F13)."""
    status, out = group.status, Detection()
    if not status.template_hash:
        return out
    current = template_hash(group.spec.template.spec)
    rolling = status.is_condition_true(ROLLOUT_IN_PROGRESS)
    # A running rollout is judged against its target, not the baseline: a template reverted
    # to the baseline mid-rollout supersedes it (the children may already run the abandoned
    # target), so a rollback rolls them back.
    if current == status.template_hash and (not rolling or status.rollout is None):
        return out
    if rolling:
        if status.rollout is not None and status.rollout.target_hash == current:
            return out
        old = status.rollout.target_hash if status.rollout is not None else ""
        status.plan = None
        out.superseded = True
        out.events.append(
            Event(
                "Normal",
                "RolloutSuperseded",
                f"Spec changed during active rollout, replacing plan (old target: {old})",
            )
        )
    elif status.is_condition_true(PLAN_IN_PROGRESS):
        return out  # a genesis plan runs; detection waits for it
    if not children:
        return out
    declared = group.spec.update_strategy.type if group.spec.update_strategy else None
    strategy = declared or UpdateStrategyType.IN_PLACE
    if declared is None:
        out.events.append(
            Event(
                "Warning",
                "UpdateStrategyMissing",
                "updateStrategy.type is empty, treating as InPlace — update the manifest",
            )
        )
    previous = status.rollout
    status.rollout = RolloutStatus(
        strategy=strategy,
        target_hash=current,
        started_at=now,
        incumbent_nodes=list(children),
        incumbent_revision=(previous.incumbent_revision if previous else None) or current_revision,
        entrant_revision=str(group.metadata.generation or 0),
    )
    status.set_condition(
        ROLLOUT_IN_PROGRESS,
        ConditionStatus.TRUE,
        TEMPLATE_CHANGED,
        f"templateHash changed from {status.template_hash} to {current}",
        group.metadata.generation,
    )
    out.started = True
    out.events.append(
        Event(
            "Normal",
            "RolloutStarted",
            f"{strategy.value} rollout started (strategy: {strategy.value}, target: {current[:8]})",
        )
    )
    return out


def target_images(group: SeiNodeDeployment) -> tuple[str, str]:
    """(seid image, sidecar image) the rollout drives every node to."""
    spec = group.spec.template.spec
    sidecar = (spec.sidecar.image if spec.sidecar else None) or DEFAULT_SIDECAR_IMAGE
    return spec.image, sidecar


def _container_image(pod_spec: Mapping[str, Any], key: str, name: str) -> str | None:
    for container in pod_spec.get(key) or ():
        if container.get("name") == name:
            image = container.get("image")
            return str(image) if image is not None else None
    return None


def rolled_out(
    group: SeiNodeDeployment, node: Mapping[str, Any], statefulset: Mapping[str, Any] | None
) -> bool:
    """The node's pod runs the target template (F10): its StatefulSet carries the target seid
    and sidecar images, the StatefulSet controller has processed it and every replica is on
    the updated revision, and the SeiNode controller reported the image (currentImage)."""
    if statefulset is None:
        return False
    image, sidecar = target_images(group)
    node_spec, node_status = node.get("spec") or {}, node.get("status") or {}
    if node_spec.get("image") != image or node_status.get("currentImage") != image:
        return False
    meta, spec = statefulset.get("metadata") or {}, statefulset.get("spec") or {}
    sts_status = statefulset.get("status") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    if _container_image(pod_spec, "containers", "seid") != image:
        return False
    if _container_image(pod_spec, "initContainers", "sei-sidecar") != sidecar:
        return False
    if int(sts_status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return False
    replicas = int(spec.get("replicas") or 1)
    return int(sts_status.get("updatedReplicas") or 0) >= replicas


def pods_ready(statefulset: Mapping[str, Any] | None) -> bool:
    """Every replica of the StatefulSet is on the updated revision and Ready."""
    if statefulset is None:
        return False
    spec, status = statefulset.get("spec") or {}, statefulset.get("status") or {}
    replicas = int(spec.get("replicas") or 1)
    return (
        int(status.get("updatedReplicas") or 0) >= replicas
        and int(status.get("readyReplicas") or 0) >= replicas
    )


def tracked_nodes(group: SeiNodeDeployment) -> list[str]:
    """The nodes whose progress a rollout reports: the incumbents an InPlace rollout updates,
    the entrants a BlueGreen/HardFork rollout brings up (none until its plan names them)."""
    rollout = group.status.rollout
    if rollout is None:
        return []
    if rollout.strategy == UpdateStrategyType.IN_PLACE:
        return list(rollout.incumbent_nodes or ())
    return list(rollout.entrant_nodes or ())


def node_progress(
    group: SeiNodeDeployment,
    nodes: Mapping[str, Mapping[str, Any]],
    statefulsets: Mapping[str, Mapping[str, Any]],
) -> list[RolloutNodeStatus]:
    """D2: one entry per node the rollout brings to the target template (see
    :func:`tracked_nodes`), ``ready`` once its pod runs the target template and is Ready."""
    rollout = group.status.rollout
    if rollout is None:
        return []
    progress = []
    for name in tracked_nodes(group):
        node = nodes.get(name)
        sts = statefulsets.get(name)
        phase = ((node or {}).get("status") or {}).get("phase") or None
        ready = node is not None and rolled_out(group, node, sts) and pods_ready(sts)
        progress.append(RolloutNodeStatus(name=name, ready=ready, phase=phase))
    return progress


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole or fractional seconds (``10m0s``, ``1h0m0s``,
    ``1.5s``)."""
    if seconds == 0:
        return "0s"
    total_ms = round(seconds * 1000)
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    secs = rest_ms / 1000
    sec_text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


def escalate_stall(group: SeiNodeDeployment, threshold: float, now: datetime) -> Event | None:
    """D1: once an active rollout has non-ready nodes for longer than ``threshold`` seconds,
    RolloutInProgress says Stalled; the RolloutStalled Warning is returned once per rollout
    (when the reason first becomes Stalled). Completion and supersession clear it."""
    rollout = group.status.rollout
    condition = group.status.condition(ROLLOUT_IN_PROGRESS)
    if rollout is None or condition is None or condition.status != ConditionStatus.TRUE:
        return None
    if all(node.ready for node in rollout.nodes or ()):
        return None
    if (now - rollout.started_at).total_seconds() < threshold:
        return None
    message = f"rollout stalled: not all nodes ready after {go_duration(threshold)}"
    first = condition.reason != STALLED
    group.status.set_condition(
        ROLLOUT_IN_PROGRESS, ConditionStatus.TRUE, STALLED, message, group.metadata.generation
    )
    return Event("Warning", "RolloutStalled", message) if first else None


def seconds_until_stall(group: SeiNodeDeployment, threshold: float, now: datetime) -> float | None:
    """When to look again so a stall is flagged on time (None: nothing to watch, including
    once the threshold has passed: escalation has run, and an immediate requeue would spin)."""
    rollout = group.status.rollout
    if rollout is None or all(node.ready for node in rollout.nodes or ()):
        return None
    remaining = threshold - (now - rollout.started_at).total_seconds()
    return max(remaining, 0.001) if remaining > 0 else None
