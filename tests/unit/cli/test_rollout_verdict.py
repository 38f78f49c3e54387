"""`rollout status`'s rules: what a SeiNodeDeployment's status says about its rollout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controllers.rollout_status.render import bar, redraw, screen
from controllers.rollout_status.verdict import Outcome, current_template_hash, evaluate

IMAGE = "ghcr.io/sei-protocol/sei:v6.3.0"
NEW_IMAGE = "ghcr.io/sei-protocol/sei:v6.4.0"
NAMES = ["wave-0", "wave-1", "wave-2"]


def group(image: str = IMAGE, generation: int = 1, replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "sei.io/v1alpha1",
        "kind": "SeiNodeDeployment",
        "metadata": {"name": "wave", "namespace": "ns", "generation": generation},
        "spec": {
            "replicas": replicas,
            "updateStrategy": {"type": "InPlace"},
            "template": {"spec": {"chainId": "pacific-1", "image": image, "fullNode": {}}},
        },
    }


def condition(type_: str, status: str, reason: str, message: str = "", gen: int = 1) -> Any:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "observedGeneration": gen, "lastTransitionTime": "2026-01-01T00:00:00Z"}  # fmt: skip


def steady(image: str = IMAGE, generation: int = 1, phases: list[str] | None = None) -> Any:
    """A group at rest on ``image``: hash recorded, generation observed, nodes in ``phases``."""
    obj = group(image, generation)
    phases = phases or ["Running"] * 3
    running = sum(1 for p in phases if p == "Running")
    obj["status"] = {
        "observedGeneration": generation,
        "templateHash": current_template_hash(obj),
        "phase": "Ready" if running == 3 else "Initializing",
        "replicas": 3,
        "readyReplicas": running,
        "nodes": [{"name": n, "phase": p} for n, p in zip(NAMES, phases, strict=True)],
        "conditions": [condition("NodesReady", "True", "AllNodesReady", gen=generation)],
    }
    return obj


def rolling(ready: list[bool] | None, reason: str = "TemplateChanged", message: str = "") -> Any:
    """The group two reconciles into an InPlace rollout to NEW_IMAGE (``ready``: D2 progress,
    None before the first progress write)."""
    obj = steady()
    obj["metadata"]["generation"] = 2
    obj["spec"]["template"]["spec"]["image"] = NEW_IMAGE
    target = current_template_hash(obj)
    obj["status"]["phase"] = "Upgrading"
    obj["status"]["rollout"] = {
        "strategy": "InPlace",
        "targetHash": target,
        "startedAt": "2026-01-01T00:00:00Z",
        "incumbentNodes": NAMES,
    }
    if ready is not None:
        obj["status"]["rollout"]["nodes"] = [
            {"name": n, "ready": r, "phase": "Running"} for n, r in zip(NAMES, ready, strict=True)
        ]
    obj["status"]["plan"] = {"tasks": [
        {"type": "update-node-specs", "status": "Complete"},
        {"type": "await-spec-update", "status": "Complete"},
        {"type": "mark-nodes-ready", "status": "Pending"},
    ]}  # fmt: skip
    obj["status"]["conditions"] += [
        condition("RolloutInProgress", "True", reason, message, gen=2),
        condition("PlanInProgress", "True", "PlanStarted", gen=2),
    ]
    return obj


def test_a_ready_group_without_a_rollout_is_complete() -> None:
    verdict = evaluate(steady())
    assert verdict.outcome is Outcome.COMPLETE
    assert verdict.message == 'seinodedeployment "wave" successfully rolled out'


def test_a_spec_change_not_yet_observed_is_awaited() -> None:
    obj = steady()
    obj["metadata"]["generation"] = 2
    verdict = evaluate(obj)
    assert verdict.outcome is Outcome.PROGRESSING
    assert verdict.message == 'Waiting for seinodedeployment "wave" spec update to be observed...'


def test_a_template_change_whose_rollout_has_not_started_is_awaited() -> None:
    obj = steady()  # observedGeneration caught up, but the recorded hash is the old template's
    obj["spec"]["template"]["spec"]["image"] = NEW_IMAGE
    verdict = evaluate(obj)
    assert verdict.outcome is Outcome.PROGRESSING
    assert verdict.message == 'Waiting for seinodedeployment "wave" rollout to start...'


def test_a_running_rollout_counts_the_updated_nodes() -> None:
    verdict = evaluate(rolling([True, False, False]))
    assert verdict.outcome is Outcome.PROGRESSING
    assert (verdict.done, verdict.total, verdict.unit) == (1, 3, "updated")
    assert verdict.message == (
        'Waiting for seinodedeployment "wave" rollout to finish: 1 of 3 nodes updated...'
    )
    assert [n.done for n in verdict.nodes] == [True, False, False]
    assert (verdict.strategy, verdict.step) == ("InPlace", "mark-nodes-ready")


def test_a_rollout_before_its_first_progress_write_targets_its_incumbents() -> None:
    verdict = evaluate(rolling(None))
    assert (verdict.done, verdict.total) == (0, 3)
    assert [n.name for n in verdict.nodes] == NAMES


def test_every_node_updated_names_the_plan_step_still_running() -> None:
    verdict = evaluate(rolling([True, True, True]))
    assert verdict.outcome is Outcome.PROGRESSING
    assert verdict.message.endswith("3 of 3 nodes updated, plan step mark-nodes-ready...")


def test_a_stalled_rollout_names_the_nodes_not_ready() -> None:
    message = "rollout stalled: not all nodes ready after 10m0s"
    verdict = evaluate(rolling([True, False, False], reason="Stalled", message=message))
    assert verdict.outcome is Outcome.STALLED
    assert verdict.message == (
        'seinodedeployment "wave" rollout stalled: not all nodes ready after 10m0s '
        "(not ready: wave-1, wave-2)"
    )


def test_a_completed_rollout_is_complete_once_the_group_is_ready() -> None:
    obj = steady(NEW_IMAGE, generation=2)
    obj["status"]["conditions"].append(
        condition("RolloutInProgress", "False", "RolloutComplete", gen=2)
    )
    assert evaluate(obj).outcome is Outcome.COMPLETE


def test_a_completed_rollout_with_nodes_not_running_waits_for_ready() -> None:
    verdict = evaluate(steady(NEW_IMAGE, 2, ["Running", "Initializing", "Running"]))
    assert verdict.outcome is Outcome.PROGRESSING
    assert (
        verdict.message == 'Waiting for seinodedeployment "wave" to be Ready: 2 of 3 nodes ready...'
    )


def test_a_failed_rollout_of_the_current_generation_is_a_failure() -> None:
    obj = steady(NEW_IMAGE, generation=2)
    obj["status"]["conditions"].append(
        condition("RolloutInProgress", "False", "RolloutFailed", "Deployment plan failed", gen=2)
    )
    verdict = evaluate(obj)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message == 'seinodedeployment "wave" rollout failed: Deployment plan failed'


def test_a_failure_of_an_earlier_generation_does_not_fail_a_newer_spec() -> None:
    obj = steady(NEW_IMAGE, generation=3)
    obj["status"]["conditions"].append(
        condition("RolloutInProgress", "False", "RolloutFailed", "Deployment plan failed", gen=2)
    )
    assert evaluate(obj).outcome is Outcome.COMPLETE


def test_every_node_failed_is_a_failure() -> None:
    verdict = evaluate(steady(phases=["Failed"] * 3))
    assert verdict.outcome is Outcome.FAILED
    assert "every node is Failed" in verdict.message


def test_some_failed_nodes_are_named_while_waiting() -> None:
    verdict = evaluate(steady(phases=["Running", "Failed", "Running"]))
    assert verdict.outcome is Outcome.PROGRESSING
    assert verdict.message.endswith("2 of 3 nodes ready, 1 Failed...")


def test_a_group_plan_without_a_rollout_is_awaited() -> None:
    obj = steady()
    obj["status"]["plan"] = {"tasks": [{"type": "create-exporter", "status": "Pending"}]}
    obj["status"]["conditions"].append(condition("PlanInProgress", "True", "PlanStarted"))
    verdict = evaluate(obj)
    assert verdict.outcome is Outcome.PROGRESSING
    assert "plan to finish (plan step create-exporter)" in verdict.message


def test_a_group_being_deleted_is_a_failure() -> None:
    obj = steady()
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert evaluate(obj).outcome is Outcome.FAILED


def test_a_group_the_controller_never_saw_is_awaited() -> None:
    verdict = evaluate(group())
    assert verdict.outcome is Outcome.PROGRESSING
    assert "spec update to be observed" in verdict.message


def test_the_bar_fills_in_proportion_and_only_when_all_are_done() -> None:
    assert bar(0, 3, width=6) == "[------]"
    assert bar(2, 3, width=6) == "[####--]"
    assert bar(3, 3, width=6) == "[######]"
    assert bar(0, 0, width=6) == "[######]"


def test_the_terminal_block_shows_progress_elapsed_time_and_each_node() -> None:
    now = datetime(2026, 1, 1, 0, 1, 5, tzinfo=UTC)
    lines = screen(evaluate(rolling([True, False, False])), now)
    assert lines[0].startswith('Waiting for seinodedeployment "wave" rollout to finish')
    assert lines[1].startswith("[##########--------------------] 1/3 updated  InPlace to ")
    assert lines[1].endswith("  1m5s  step mark-nodes-ready")
    assert lines[2].split() == ["NODE", "PHASE", "STATE"]
    assert [line.split() for line in lines[3:]] == [
        ["wave-0", "Running", "updated"],
        ["wave-1", "Running", "updating"],
        ["wave-2", "Running", "updating"],
    ]


def test_a_redraw_replaces_the_previous_block_and_fits_the_terminal() -> None:
    text = redraw(3, ["a" * 100, "b"], columns=40)
    assert text.startswith("\x1b[3F\x1b[J")
    assert text.endswith("a" * 39 + "\nb\n")
