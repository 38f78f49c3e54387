"""The currentImage rule (spec 3.4; ports of the TestObserveCurrentImage_* rows of 11.1)."""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import SeiNode
from controllers.seinode.status import rolled_out_image

NEW_IMAGE = "ghcr.io/sei-protocol/seid:v2.0.0"


def _node(current_image: str | None = None) -> SeiNode:
    return SeiNode.from_dict(
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "metadata": {"name": "wave-0", "namespace": "sei"},
            "spec": {"chainId": "pacific-1", "image": NEW_IMAGE, "fullNode": {}},
            "status": {"phase": "Running", "currentImage": current_image},
        }
    )


def _statefulset(
    generation: int = 2,
    observed: int | None = 2,
    replicas: int | None = 1,
    updated: int | None = 1,
    **status: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    st: dict[str, Any] = dict(status)
    if observed is not None:
        st["observedGeneration"] = observed
    if updated is not None:
        st["updatedReplicas"] = updated
    return {"metadata": {"generation": generation}, "spec": spec, "status": st}


def test_updates_when_converged() -> None:
    assert rolled_out_image(_node("old"), _statefulset()) == NEW_IMAGE


def test_skips_when_stale_generation() -> None:
    assert rolled_out_image(_node(), _statefulset(generation=2, observed=1)) is None


def test_skips_when_rolling() -> None:
    sts = _statefulset(updated=0, currentRevision="rev-1", updateRevision="rev-2")
    assert rolled_out_image(_node(), sts) is None


def test_skips_when_ready_replicas_zero() -> None:
    sts = _statefulset(updated=0, currentRevision="rev-1", updateRevision="rev-1", readyReplicas=0)
    assert rolled_out_image(_node(), sts) is None


def test_skips_when_empty_revision() -> None:
    assert rolled_out_image(_node(), _statefulset(updated=0, currentRevision="")) is None


def test_noop_when_already_current() -> None:
    assert rolled_out_image(_node(NEW_IMAGE), _statefulset()) is None


def test_statefulset_not_found_changes_nothing() -> None:
    assert rolled_out_image(_node(), None) is None


def test_skips_when_replicas_unset() -> None:
    assert rolled_out_image(_node(), _statefulset(replicas=None)) is None


def test_does_not_require_ready_pods() -> None:
    # Readiness depends on mark-ready, which the rollout sends after this rule fired.
    assert rolled_out_image(_node(), _statefulset(readyReplicas=0)) == NEW_IMAGE
