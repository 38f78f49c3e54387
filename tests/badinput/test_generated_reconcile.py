"""Accepted-but-odd objects never crash-loop a reconciler.

A batch of generated SeiNodes and SeiNodeDeployments (every one valid for the API server, many
of them odd: every mode, Unicode chain IDs, planner-invalid snapshot sources, ceremonies,
bootstrap images) goes to the operator with simulated sidecars. Then:
- no reconcile panics (every failure is an error the reconciler meant to return);
- every object reaches a settled state: a SeiNode has a phase, or a False condition naming
  why not (with a Warning event); a group has a phase;
- over an observation window the error count stays within what per-object exponential
  backoff allows, i.e. nothing retries hot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from controller_runtime.client import Client
from controller_runtime.envtest import eventually

from ..integration.operator.conftest import OperatorFactory, OperatorHarness
from .manifests import group_spec, manifest, node_spec
from .profile import BADINPUT, BATCHES

pytestmark = pytest.mark.integration

NODES, GROUPS = 8, 3
MAX_REPLICAS = 2
# The controllers' rate limiter: per-item exponential backoff from 5 ms (controller-runtime's
# defaults); errors retried through it fit log2(window / 5 ms + 1) attempts per object.
BACKOFF_BASE = 0.005
OBSERVATION_WINDOW = 10.0
# Reconciles an object gets besides its own retries within a window: events on it or its
# children (status writes, StatefulSet and pod updates) each enqueue one pass.
EVENT_SLACK = 4
SETTLE_TIMEOUT = 120.0

# One batch is one operator run: a few batches, never shrunk (each step would be a full run;
# the failing batch is printed as drawn).
BATCH = settings(BADINPUT, max_examples=BATCHES, phases=(Phase.explicit, Phase.generate))


def _bounded_group(spec: dict[str, Any]) -> dict[str, Any]:
    replicas = min(spec.get("replicas", 1), MAX_REPLICAS)
    return {**spec, "replicas": replicas}


def _backoff_attempts(window: float) -> int:
    return math.floor(math.log2(window / BACKOFF_BASE + 1)) + 1


def _settled_node(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    if status.get("phase"):
        return True
    return any(c.get("status") == "False" for c in status.get("conditions") or [])


def _settled_group(obj: dict[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("phase"))


async def _all(op: OperatorHarness, kind: str) -> list[dict[str, Any]]:
    listed = await op.kube.list("sei.io/v1alpha1", kind, op.namespace)
    return list(listed.get("items") or [])


async def _settle(op: OperatorHarness, kind: str, count: int, settled: Any) -> None:
    await eventually(
        lambda: _all(op, kind),
        lambda items: len(items) >= count and all(settled(o) for o in items),
        timeout=SETTLE_TIMEOUT,
        message=f"every {kind} settled",
    )


@BATCH
@given(
    nodes=st.lists(node_spec(), min_size=NODES, max_size=NODES),
    groups=st.lists(group_spec().map(_bounded_group), min_size=GROUPS, max_size=GROUPS),
)
async def test_generated_objects_settle_without_hot_retries(
    run_operator: OperatorFactory,
    kube: Client,
    namespace: str,
    nodes: list[dict[str, Any]],
    groups: list[dict[str, Any]],
) -> None:
    async with run_operator(sidecars="simulator") as op:
        # Fresh names per example: examples share the namespace.
        tag = f"{len(await _all(op, 'SeiNode')):03d}"
        for i, spec in enumerate(nodes):
            await kube.create(manifest("SeiNode", f"n{tag}-{i}", spec, namespace))
        for i, spec in enumerate(groups):
            await kube.create(manifest("SeiNodeDeployment", f"g{tag}-{i}", spec, namespace))
        await _settle(op, "SeiNodeDeployment", GROUPS, _settled_group)
        # Children the API server refuses (template labels that are no labels) never exist;
        # their group says so in a Warning event.
        await _settle(op, "SeiNode", NODES, _settled_node)
        for obj in await _all(op, "SeiNode"):
            await _failures_are_explained(op, obj)
        for group in await _all(op, "SeiNodeDeployment"):
            await _missing_children_are_explained(op, group)
        children = len(await _all(op, "SeiNode")) - NODES

        errors = "controller_runtime_reconcile_errors_total"
        before = {c: op.metric(errors, controller=c) for c in ("seinode", "seinodedeployment")}
        # An observation window, not a synchronisation: retries are counted in it.
        await asyncio.sleep(OBSERVATION_WINDOW)
        objects = {"seinode": NODES + children, "seinodedeployment": GROUPS}
        per_object = _backoff_attempts(OBSERVATION_WINDOW) + EVENT_SLACK
        for controller, count in objects.items():
            grown = op.metric(errors, controller=controller) - before[controller]
            assert grown <= count * per_object, (controller, grown, count, per_object)
            panics = op.metric("controller_runtime_reconcile_panics_total", controller=controller)
            assert panics == 0, controller


async def _failures_are_explained(op: OperatorHarness, obj: dict[str, Any]) -> None:
    """A SeiNode without a phase carries a False condition with a reason and a message, and
    a Warning event with that reason."""
    status = obj.get("status") or {}
    if status.get("phase"):
        return
    name = obj["metadata"]["name"]
    failed = [c for c in status.get("conditions") or [] if c.get("status") == "False"]
    assert failed, (name, status)
    for cond in failed:
        reason = cond.get("reason")
        assert reason, cond
        assert cond.get("message"), cond
        await eventually(
            lambda: op.events(name),
            _has_warning(reason),
            timeout=30,
            message=f"Warning event {reason} on {name}",
        )


async def _missing_children_are_explained(op: OperatorHarness, group: dict[str, Any]) -> None:
    name = group["metadata"]["name"]
    replicas = group["spec"].get("replicas", 1)
    listed = await op.kube.list(
        "sei.io/v1alpha1", "SeiNode", op.namespace, label_selector=f"sei.io/nodedeployment={name}"
    )
    if len(listed.get("items") or []) < replicas:
        await eventually(
            lambda: op.events(name),
            _has_warning("SeiNodeCreateFailed"),
            timeout=30,
            message=f"SeiNodeCreateFailed on {name}",
        )


def _has_warning(reason: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["type"] == "Warning" and e["reason"] == reason for e in events)
