"""Pure rules of SeiNode status: the currentImage rule (spec 3.4, decision F1) and phase
transitions (spec 3.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.v1alpha1 import ConditionStatus, SeiNode, SeiNodePhase

FINALIZER = "sei.io/seinode-finalizer"


def rolled_out_image(node: SeiNode, statefulset: Mapping[str, Any] | None) -> str | None:
    """The image to report as ``status.currentImage``, or None to leave it as it is.

    ``statefulset`` must be at least as new as our last apply of it (F1: the object our apply
    returned, or a fresh read), never an older cached copy: a cache that still shows the previous
    generation fully rolled out would report the new image before any pod runs it.
    """
    if statefulset is None:
        return None
    meta = statefulset.get("metadata") or {}
    spec = statefulset.get("spec") or {}
    status = statefulset.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return None  # the StatefulSet controller has not seen the latest pod template yet
    replicas = spec.get("replicas")
    if replicas is None or int(status.get("updatedReplicas") or 0) < int(replicas):
        return None
    if node.status.current_image == node.spec.image:
        return None
    return node.spec.image


def phase_of(node: SeiNode) -> SeiNodePhase:
    """The node's phase; an absent phase is Pending (the controller never writes Pending)."""
    return node.status.phase or SeiNodePhase.PENDING


@dataclass(frozen=True)
class Transition:
    """A phase change to record: metric labels and the PhaseTransition event message."""

    from_phase: SeiNodePhase
    to_phase: SeiNodePhase

    @property
    def message(self) -> str:
        return f"Phase changed from {self.from_phase.value} to {self.to_phase.value}"


def transition(node: SeiNode, to_phase: SeiNodePhase) -> Transition:
    """Moves ``node`` to ``to_phase`` in memory and says what to record."""
    change = Transition(phase_of(node), to_phase)
    node.status.phase = to_phase
    return change


def blocks_rollout(statefulset: Mapping[str, Any], pod: Mapping[str, Any] | None) -> bool:
    """True if ``pod`` keeps ``statefulset`` from rolling to its update revision for good.

    With the default OrderedReady policy the StatefulSet controller waits for every pod to be
    Running and Ready before it replaces any, so a pod of an old revision that never gets Ready
    (a broken image, or a seid held back by its sidecar) blocks a fixed template forever. Such a
    pod is going to be replaced anyway; deleting it lets the StatefulSet create the new one.
    """
    if pod is None:
        return False
    sts_meta, sts_status = statefulset.get("metadata") or {}, statefulset.get("status") or {}
    if int(sts_status.get("observedGeneration") or 0) < int(sts_meta.get("generation") or 0):
        return False  # the update revision is not known yet
    update_revision = sts_status.get("updateRevision")
    pod_meta = pod.get("metadata") or {}
    if not update_revision or pod_meta.get("deletionTimestamp"):
        return False
    if (pod_meta.get("labels") or {}).get("controller-revision-hash") == update_revision:
        return False
    conditions = (pod.get("status") or {}).get("conditions") or ()
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return not ready


# Not in the reference (there a sidecar that answers garbage only shows in the logs): while
# the plan's current task cannot advance (its sidecar cannot be reached or answers what is no
# answer), this condition says why; it goes away with the first step that is not stalled.
TASK_PROGRESSING = "TaskProgressing"
REASON_TASK_STALLED = "TaskStalled"


def note_stall(node: SeiNode, stalled: str | None) -> bool:
    """Records ``stalled`` (the executor's StepResult.stalled) in the TaskProgressing
    condition; returns True if the status changed. A change while stalled is a new stall or a
    new cause: the moment for one Warning event, not one per retry."""
    if stalled is None:
        return node.status.remove_condition(TASK_PROGRESSING)
    return node.status.set_condition(
        TASK_PROGRESSING,
        ConditionStatus.FALSE,
        REASON_TASK_STALLED,
        stalled,
        node.metadata.generation,
    )
