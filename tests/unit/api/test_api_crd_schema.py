"""Every CRD fact the spec states, read from the generated schemas: CEL rules with their exact
messages, required lists, defaults, enums, constraints, list-map keys, free-form objects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.crd_schema_helpers import GROUP, NODE, at, walk

# --- CEL rules -------------------------------------------------------------------------------

MODE_RULE = (
    "(has(self.fullNode) ? 1 : 0) + (has(self.archive) ? 1 : 0) + (has(self.replayer) ? 1 : 0)"
    " + (has(self.validator) ? 1 : 0) == 1",
    "exactly one of fullNode, archive, replayer, or validator must be set",
)
REPLAYER_RULE = (
    "!has(self.replayer) || (has(self.peers) && size(self.peers) > 0)",
    "peers is required when replayer mode is set",
)
# Ours, not the reference's (an image no pod can be created with; found by tests/badinput).
IMAGE_RULE = (
    "self.image == self.image.trim()",
    "image must not have leading or trailing whitespace",
)
PEER_RULE = "exactly one of ec2Tags, static, or label must be set"
SNAPSHOT_RULE = "exactly one of s3 or stateSync must be set"
HARD_FORK_RULE = (
    "self.type != 'HardFork' || (has(self.hardFork) && self.hardFork.haltHeight > 0)",
    "hardFork strategy requires haltHeight > 0",
)


def rules(node: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["rule"], r["message"]) for r in node.get("x-kubernetes-validations", ())]


@pytest.mark.parametrize(
    ("schema", "spec_path"), [(NODE, "spec"), (GROUP, "spec.template.spec")], ids=["node", "group"]
)
def test_node_spec_rules(schema: dict[str, Any], spec_path: str) -> None:
    spec = at(schema, spec_path)
    assert rules(spec) == [MODE_RULE, REPLAYER_RULE, IMAGE_RULE]
    assert spec["x-kubernetes-validations"][2]["fieldPath"] == ".image"
    assert [m for _, m in rules(at(spec, "peers.[]"))] == [PEER_RULE]
    for snapshot in ("fullNode.snapshot", "validator.snapshot", "replayer.snapshot"):
        assert [m for _, m in rules(at(spec, snapshot))] == [SNAPSHOT_RULE], snapshot


def test_hard_fork_rule() -> None:
    assert rules(at(GROUP, "spec.updateStrategy")) == [HARD_FORK_RULE]


def test_no_other_cel_rules() -> None:
    messages = sorted(m for _, node in walk(NODE) for _, m in rules(node))
    assert messages == sorted(
        [
            MODE_RULE[1],
            REPLAYER_RULE[1],
            IMAGE_RULE[1],
            PEER_RULE,
            SNAPSHOT_RULE,
            SNAPSHOT_RULE,
            SNAPSHOT_RULE,
        ]
    )
    group_messages = [m for _, node in walk(GROUP) for _, m in rules(node)]
    assert sorted(group_messages) == sorted([*messages, HARD_FORK_RULE[1]])


# --- fields: required, defaults, enums, constraints -----------------------------------------


@pytest.mark.parametrize(
    ("schema", "path", "required"),
    [
        (NODE, "spec", ["chainId", "image"]),
        (NODE, "spec.entrypoint", ["command"]),
        (NODE, "spec.replayer", ["snapshot"]),
        (NODE, "spec.replayer.resultExport", ["canonicalRpc"]),
        (NODE, "spec.peers.[].ec2Tags", ["region", "tags"]),
        (NODE, "spec.peers.[].static", ["addresses"]),
        (NODE, "spec.peers.[].label", ["selector"]),
        (NODE, "spec.fullNode.snapshot.s3", ["targetHeight"]),
        (NODE, "spec.archive.snapshotGeneration", ["keepRecent"]),
        (
            NODE,
            "spec.validator.genesisCeremony",
            ["accountBalance", "chainId", "index", "stakingAmount"],
        ),
        (NODE, "status.plan", ["phase", "tasks"]),
        (NODE, "status.plan.tasks.[]", ["id", "status", "type"]),
        (
            NODE,
            "status.plan.failedTaskDetail",
            ["error", "id", "maxRetries", "retryCount", "type"],
        ),
        (NODE, "status.monitorTasks.*", ["id", "status", "submittedAt"]),
        (
            NODE,
            "status.conditions.[]",
            ["lastTransitionTime", "message", "reason", "status", "type"],
        ),
        (GROUP, "spec", ["replicas", "template", "updateStrategy"]),
        (GROUP, "spec.template", ["spec"]),
        (GROUP, "spec.genesis", ["chainId"]),
        (GROUP, "spec.genesis.accounts.[]", ["address", "balance"]),
        (GROUP, "spec.genesis.fork", ["exportHeight", "sourceChainId", "sourceImage"]),
        (GROUP, "spec.updateStrategy", ["type"]),
        (GROUP, "spec.updateStrategy.hardFork", ["haltHeight"]),
        (GROUP, "status.rollout", ["startedAt", "strategy", "targetHash"]),
        (GROUP, "status.rollout.nodes.[]", ["name", "ready"]),
        (GROUP, "status.nodes.[]", ["name"]),
        (GROUP, "status.networkingStatus.routes.[]", ["hostname"]),
    ],
)
def test_required_lists(schema: dict[str, Any], path: str, required: list[str]) -> None:
    assert at(schema, path).get("required") == required


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        (NODE, "status"),
        (NODE, "spec.sidecar"),
        (NODE, "spec.fullNode"),
        (NODE, "spec.peers.[]"),
        (GROUP, "spec.monitoring.serviceMonitor"),
        (GROUP, "status"),
    ],
)
def test_optional_objects_have_no_required_list(schema: dict[str, Any], path: str) -> None:
    assert "required" not in at(schema, path)


@pytest.mark.parametrize(
    ("schema", "path", "default"),
    [
        (NODE, "spec.sidecar.port", 7777),
        (GROUP, "spec.template.spec.sidecar.port", 7777),
        (GROUP, "spec.replicas", 1),
        (GROUP, "spec.deletionPolicy", "Delete"),
        (GROUP, "spec.genesis.stakingAmount", "10000000usei"),
        (
            GROUP,
            "spec.genesis.accountBalance",
            "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom",
        ),
        (GROUP, "spec.monitoring.serviceMonitor.interval", "30s"),
    ],
)
def test_defaults(schema: dict[str, Any], path: str, default: Any) -> None:
    assert at(schema, path)["default"] == default


def test_only_specified_defaults_exist() -> None:
    paths = sorted(p for p, node in walk(GROUP) if "default" in node)
    assert paths == [
        "spec.deletionPolicy",
        "spec.genesis.accountBalance",
        "spec.genesis.stakingAmount",
        "spec.monitoring.serviceMonitor.interval",
        "spec.replicas",
        "spec.template.spec.sidecar.port",
    ]
    assert [p for p, node in walk(NODE) if "default" in node] == ["spec.sidecar.port"]


PHASES = ["Pending", "Initializing", "Running", "Failed", "Terminating"]


@pytest.mark.parametrize(
    ("schema", "path", "values"),
    [
        (NODE, "status.phase", PHASES),
        (NODE, "status.plan.phase", ["Active", "Complete", "Failed"]),
        (NODE, "status.plan.tasks.[].status", ["Pending", "Complete", "Failed"]),
        (NODE, "status.monitorTasks.*.status", ["Pending", "Complete", "Failed"]),
        (NODE, "status.conditions.[].status", ["True", "False", "Unknown"]),
        (GROUP, "spec.deletionPolicy", ["Delete", "Retain"]),
        (GROUP, "spec.updateStrategy.type", ["InPlace", "BlueGreen", "HardFork"]),
        (GROUP, "status.rollout.strategy", ["InPlace", "BlueGreen", "HardFork"]),
        (
            GROUP,
            "status.phase",
            ["Pending", "Initializing", "Ready", "Upgrading", "Degraded", "Failed", "Terminating"],
        ),
        (GROUP, "status.nodes.[].phase", PHASES),
        (GROUP, "status.rollout.nodes.[].phase", PHASES),
    ],
)
def test_enums(schema: dict[str, Any], path: str, values: list[str]) -> None:
    assert at(schema, path)["enum"] == values


@pytest.mark.parametrize(
    ("schema", "path", "constraints"),
    [
        (NODE, "spec.chainId", {"minLength": 1}),
        (NODE, "spec.image", {"minLength": 1, "maxLength": 512}),
        (NODE, "spec.entrypoint.command", {"minItems": 1, "maxItems": 16}),
        (NODE, "spec.entrypoint.args", {"maxItems": 64}),
        (NODE, "spec.sidecar.port", {"format": "int32"}),
        (NODE, "spec.peers.[].ec2Tags.region", {"minLength": 1}),
        (NODE, "spec.peers.[].ec2Tags.tags", {"minProperties": 1}),
        (NODE, "spec.peers.[].static.addresses", {"minItems": 1}),
        (NODE, "spec.peers.[].label.selector", {"minProperties": 1}),
        (NODE, "spec.fullNode.snapshot.s3.targetHeight", {"minimum": 1, "format": "int64"}),
        (NODE, "spec.fullNode.snapshot.backfillBlocks", {"format": "int64"}),
        (NODE, "spec.fullNode.snapshotGeneration.keepRecent", {"minimum": 2, "format": "int32"}),
        (NODE, "spec.replayer.resultExport.canonicalRpc", {"minLength": 1}),
        (NODE, "spec.validator.genesisCeremony.index", {"minimum": 0, "format": "int32"}),
        (NODE, "spec.validator.genesisCeremony.chainId", {"minLength": 1}),
        (NODE, "status.conditions.[].reason", {"minLength": 1, "maxLength": 1024}),
        (NODE, "status.conditions.[].lastTransitionTime", {"format": "date-time"}),
        (NODE, "status.plan.tasks.[].submittedAt", {"format": "date-time"}),
        (GROUP, "spec.replicas", {"minimum": 1, "maximum": 100, "format": "int32"}),
        (
            GROUP,
            "spec.genesis.chainId",
            {"minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9][a-z0-9-]*[a-z0-9]$"},
        ),
        (GROUP, "spec.genesis.fork.exportHeight", {"minimum": 1, "format": "int64"}),
        (GROUP, "spec.genesis.accounts.[].address", {"minLength": 1}),
        (GROUP, "spec.monitoring.serviceMonitor.interval", {"pattern": "^[0-9]+(ms|s|m|h)$"}),
        (GROUP, "spec.updateStrategy.hardFork.haltHeight", {"minimum": 1, "format": "int64"}),
        (GROUP, "status.observedGeneration", {"format": "int64"}),
        (GROUP, "status.readyReplicas", {"format": "int32"}),
        (GROUP, "status.rollout.startedAt", {"format": "date-time"}),
    ],
)
def test_constraints(schema: dict[str, Any], path: str, constraints: dict[str, Any]) -> None:
    node = at(schema, path)
    assert {k: node.get(k) for k in constraints} == constraints


@pytest.mark.parametrize(
    ("schema", "path", "keys"),
    [
        (NODE, "status.conditions", ["type"]),
        (NODE, "spec.sidecar.resources.claims", ["name"]),
        (GROUP, "status.conditions", ["type"]),
        (GROUP, "status.nodes", ["name"]),
        (GROUP, "status.rollout.nodes", ["name"]),
    ],
)
def test_list_maps(schema: dict[str, Any], path: str, keys: list[str]) -> None:
    node = at(schema, path)
    assert node["x-kubernetes-list-type"] == "map"
    assert node["x-kubernetes-list-map-keys"] == keys


def test_list_maps_are_exactly_these() -> None:
    maps = sorted(p for p, node in walk(GROUP) if "x-kubernetes-list-type" in node)
    assert maps == [
        "spec.template.spec.sidecar.resources.claims",
        "status.conditions",
        "status.nodes",
        "status.rollout.nodes",
    ]


def test_free_form_and_empty_objects() -> None:
    params = at(NODE, "status.plan.tasks.[].params")
    assert params["type"] == "object"
    assert params["x-kubernetes-preserve-unknown-fields"] is True
    assert "properties" not in params
    preserved = [p for p, n in walk(GROUP) if n.get("x-kubernetes-preserve-unknown-fields")]
    assert preserved == ["status.plan.tasks.[].params"]
    # networking and stateSync have no properties: any content is pruned by the server.
    for schema, path in ((GROUP, "spec.networking"), (NODE, "spec.validator.snapshot.stateSync")):
        node = at(schema, path)
        assert node["type"] == "object"
        assert not {"properties", "additionalProperties"} & set(node)


def test_quantities_are_int_or_string() -> None:
    limits = at(NODE, "spec.sidecar.resources.limits")["additionalProperties"]
    assert limits["x-kubernetes-int-or-string"] is True
    assert limits["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert limits["pattern"].startswith("^(\\+|-)?")


def test_irregular_json_names() -> None:
    assert "genesisS3URI" in at(GROUP, "status")["properties"]
    assert "ec2Tags" in at(NODE, "spec.peers.[]")["properties"]
