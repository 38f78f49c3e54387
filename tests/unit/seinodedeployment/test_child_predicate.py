"""Which child events wake the group (spec 4.12; 11.4 TestChildPhaseChangedPredicate_*).

The group watches its children with ``Funcs(update_fn=_child_progress_changed)``: creates,
deletes and generic events always pass; an update passes on a generation or phase change, and
(beyond the reference) on a currentImage change, which a running rollout waits for."""

from __future__ import annotations

import copy
from typing import Any

from controller_runtime.controller import (
    CreateEvent,
    DeleteEvent,
    Funcs,
    GenericEvent,
    Request,
    UpdateEvent,
)
from controllers.operator import _child_progress_changed, _group_of

CHILD_PREDICATE = Funcs(update_fn=_child_progress_changed)


def _child(
    generation: int = 1, phase: str = "Running", current_image: str = "seid:v1", **status: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNode",
        "metadata": {"name": "archive-rpc-0", "namespace": "sei", "generation": generation},
        "status": {"phase": phase, "currentImage": current_image, **status},
    }


def _passes(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return CHILD_PREDICATE.update(UpdateEvent(object_old=old, object_new=new))


def test_same_phase_and_generation_is_filtered() -> None:
    old = _child()
    new = copy.deepcopy(old)
    new["metadata"]["resourceVersion"] = "2"
    assert not _passes(old, new)


def test_status_churn_is_filtered() -> None:
    old = _child(plan={"phase": "Active", "tasks": []})
    new = _child(plan={"phase": "Active", "tasks": [{"retryCount": 1}]})
    assert not _passes(old, new)


def test_phase_change_passes() -> None:
    assert _passes(_child(phase="Initializing"), _child(phase="Running"))


def test_running_to_failed_passes() -> None:
    assert _passes(_child(phase="Running"), _child(phase="Failed"))


def test_generation_change_passes() -> None:
    assert _passes(_child(generation=1), _child(generation=2))


def test_current_image_change_passes() -> None:
    assert _passes(_child(current_image="seid:v1"), _child(current_image="seid:v2"))


def test_first_current_image_passes() -> None:
    old, new = _child(), _child()
    del old["status"]["currentImage"]
    assert _passes(old, new)


def test_an_update_without_status_is_filtered() -> None:
    old, new = _child(), _child()
    del old["status"], new["status"]
    assert not _passes(old, new)


def test_create_passes() -> None:
    assert CHILD_PREDICATE.create(CreateEvent(object=_child()))


def test_delete_passes() -> None:
    assert CHILD_PREDICATE.delete(DeleteEvent(object=_child()))


def test_generic_passes() -> None:
    assert CHILD_PREDICATE.generic(GenericEvent(object=_child()))


def test_a_statefulset_wakes_the_group_named_by_its_labels() -> None:
    sts = {
        "metadata": {
            "name": "archive-rpc-0",
            "namespace": "sei",
            "labels": {"sei.io/nodedeployment": "archive-rpc", "sei.io/node": "archive-rpc-0"},
        }
    }
    assert _group_of(sts) == [Request(name="archive-rpc", namespace="sei")]


def test_a_statefulset_of_a_standalone_node_wakes_no_group() -> None:
    sts = {"metadata": {"name": "solo", "namespace": "sei", "labels": {"sei.io/node": "solo"}}}
    assert _group_of(sts) == []
