"""Model validation enforces what the CRD enforces: CEL rules with their exact messages, value
constraints, enums; and accepts what stored objects may legitimately lack."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from api.v1alpha1 import (
    Condition,
    SeiNode,
    SeiNodeDeployment,
    SeiNodeTemplate,
    UpdateStrategy,
)


def minimal_spec(**extra: Any) -> dict[str, Any]:
    return {"chainId": "pacific-1", "image": "seid:v1", "fullNode": {}, **extra}


# --- validation mirrors the CRD -------------------------------------------------------------

CEL_CASES: list[tuple[type[SeiNode] | type[SeiNodeDeployment], dict[str, Any], str]] = [
    (SeiNode, {"chainId": "c", "image": "i"}, "exactly one of fullNode, archive, replayer, or"),
    (
        SeiNode,
        minimal_spec(archive={}),
        "exactly one of fullNode, archive, replayer, or validator must be set",
    ),
    (
        SeiNode,
        {"chainId": "c", "image": "i", "replayer": {"snapshot": {"s3": {"targetHeight": 1}}}},
        "peers is required when replayer mode is set",
    ),
    (
        SeiNode,
        {
            "chainId": "c",
            "image": "i",
            "peers": [],
            "replayer": {"snapshot": {"s3": {"targetHeight": 1}}},
        },
        "peers is required when replayer mode is set",
    ),
    (SeiNode, minimal_spec(peers=[{}]), "exactly one of ec2Tags, static, or label must be set"),
    (
        SeiNode,
        minimal_spec(
            peers=[{"static": {"addresses": ["a@b:1"]}, "label": {"selector": {"a": "b"}}}]
        ),
        "exactly one of ec2Tags, static, or label must be set",
    ),
    (
        SeiNode,
        minimal_spec(fullNode={"snapshot": {"s3": {"targetHeight": 1}, "stateSync": {}}}),
        "exactly one of s3 or stateSync must be set",
    ),
    (
        SeiNode,
        {"chainId": "c", "image": "i", "validator": {"snapshot": {"trustPeriod": "1h"}}},
        "exactly one of s3 or stateSync must be set",
    ),
]


@pytest.mark.parametrize(("model", "spec", "message"), CEL_CASES)
def test_cel_rules_are_enforced_in_python(
    model: type[SeiNode], spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model.from_dict({"spec": spec})


def test_hard_fork_rule_is_enforced_in_python() -> None:
    with pytest.raises(ValidationError, match="hardFork strategy requires haltHeight > 0"):
        UpdateStrategy.from_dict({"type": "HardFork"})
    assert UpdateStrategy.from_dict({"type": "HardFork", "hardFork": {"haltHeight": 1}})
    assert UpdateStrategy.from_dict({"type": "BlueGreen"})


def test_node_template_carries_the_node_rules() -> None:
    with pytest.raises(ValidationError, match="exactly one of fullNode"):
        SeiNodeTemplate.from_dict({"spec": {"chainId": "c", "image": "i"}})


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"replicas": 0}, "greater than or equal to 1"),
        ({"replicas": 101}, "less than or equal to 100"),
        ({"deletionPolicy": "Orphan"}, "'Delete' or 'Retain'"),
        ({"updateStrategy": {"type": "Canary"}}, "'InPlace', 'BlueGreen' or 'HardFork'"),
        ({"updateStrategy": {"type": "HardFork", "hardFork": {"haltHeight": 0}}}, "greater"),
        ({"genesis": {"chainId": "Bad_Chain"}}, "should match pattern"),
        ({"genesis": {"chainId": "a" * 65}}, "at most 64"),
        ({"monitoring": {"serviceMonitor": {"interval": "30sec"}}}, "should match pattern"),
        ({"genesis": {"chainId": "c-1", "fork": {"sourceChainId": "a"}}}, "Field required"),
        (
            {"genesis": {"chainId": "c-1", "accounts": [{"address": "", "balance": "1"}]}},
            "at least",
        ),
    ],
)
def test_deployment_field_constraints(spec: dict[str, Any], fragment: str) -> None:
    obj = {"spec": {"template": {"spec": minimal_spec()}, **spec}}
    with pytest.raises(ValidationError, match=fragment):
        SeiNodeDeployment.from_dict(obj)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"chainId": ""}, "at least 1"),
        ({"image": "x" * 513}, "at most 512"),
        ({"entrypoint": {"command": []}}, "at least 1"),
        ({"entrypoint": {"command": ["x"] * 17}}, "at most 16"),
        ({"entrypoint": {"command": ["x"], "args": ["a"] * 65}}, "at most 64"),
        ({"fullNode": {"snapshotGeneration": {"keepRecent": 1}}}, "greater than or equal to 2"),
        ({"fullNode": {"snapshot": {"s3": {"targetHeight": 0}}}}, "greater than or equal to 1"),
        ({"peers": [{"ec2Tags": {"region": "r", "tags": {}}}]}, "at least 1"),
        ({"peers": [{"static": {"addresses": []}}]}, "at least 1"),
        ({"sidecar": {"resources": {"limits": {"cpu": "lots"}}}}, "quantities must match"),
    ],
)
def test_node_field_constraints(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        SeiNode.from_dict({"spec": {**minimal_spec(), **spec}})


def test_condition_fields_are_validated() -> None:
    good = {
        "type": "NodesReady",
        "status": "True",
        "reason": "AllNodesReady",
        "message": "2/2 nodes ready",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    assert Condition.from_dict(good).to_dict() == good
    for bad in ({"reason": "has spaces"}, {"status": "Maybe"}, {"type": "-x"}):
        with pytest.raises(ValidationError):
            Condition.from_dict({**good, **bad})


def test_stored_deployment_without_update_strategy_still_parses() -> None:
    # Objects stored before update strategies existed (spec 4.1): the controller must read them.
    group = SeiNodeDeployment.from_dict(
        {"spec": {"replicas": 1, "template": {"spec": minimal_spec()}}}
    )
    assert group.spec.update_strategy is None
