"""Initialization plans of a SeiNode (spec 3.9, 6.3): pure functions of the node.

A plan is built once, when the node leaves Pending, from the spec and status of that moment;
later spec changes never rebuild it (3.5). Task order, params and IDs are the wire contract with
plans the reference operator wrote, so they follow 6.3 to the letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from api.v1alpha1 import (
    GenesisCeremonyNodeConfig,
    SeiNode,
    SnapshotSource,
    StateSyncSource,
    TaskPlan,
)
from controllers.plan.build import planned
from controllers.plan.ids import new_plan_id
from controllers.plan.params import (
    AwaitBootstrapCompleteParams,
    ConfigApplyParams,
    ConfigureStateSyncParams,
    DeployBootstrapJobParams,
    DeployBootstrapServiceParams,
    DiscoverPeersParams,
    EmptyParams,
    GenerateGentxParams,
    GenerateIdentityParams,
    PeerSourceParam,
    SnapshotRestoreParams,
    TaskParams,
    TeardownBootstrapParams,
    UploadGenesisArtifactsParams,
)
from controllers.seinode.node import needs_bootstrap

__all__ = [
    "GENESIS_CONFIGURE_MAX_RETRIES",
    "NodePlanner",
    "PlannerError",
    "PlannerKind",
    "build_node_plan",
    "common_overrides",
    "config_apply_params",
    "needs_bootstrap",
    "planner_for_node",
    "validate",
]

# A ceremony validator waits for the assembled genesis: configure-genesis fails until the group
# uploaded it, and each retry backs off up to 30 s, so 180 retries wait about 1.5 hours.
GENESIS_CONFIGURE_MAX_RETRIES: Final = 180

SNAPSHOT_INTERVAL: Final = "2000"


class PlannerError(ValueError):
    """The node cannot be planned (spec 3.9); the message says why, verbatim."""


class PlannerKind(StrEnum):
    FULL = "full"
    ARCHIVE = "archive"
    REPLAYER = "replayer"
    VALIDATOR = "validator"


@dataclass(frozen=True)
class NodePlanner:
    """Which planner a node gets (by its mode sub-spec) and its sei-config mode string."""

    kind: PlannerKind
    mode: str


_PLANNERS: Final = {
    PlannerKind.FULL: NodePlanner(PlannerKind.FULL, "full"),
    PlannerKind.ARCHIVE: NodePlanner(PlannerKind.ARCHIVE, "archive"),
    # A replayer is configured and sized as a full node.
    PlannerKind.REPLAYER: NodePlanner(PlannerKind.REPLAYER, "full"),
    PlannerKind.VALIDATOR: NodePlanner(PlannerKind.VALIDATOR, "validator"),
}


def planner_for_node(node: SeiNode) -> NodePlanner:
    spec = node.spec
    if spec.full_node is not None:
        return _PLANNERS[PlannerKind.FULL]
    if spec.archive is not None:
        return _PLANNERS[PlannerKind.ARCHIVE]
    if spec.replayer is not None:
        return _PLANNERS[PlannerKind.REPLAYER]
    if spec.validator is not None:
        return _PLANNERS[PlannerKind.VALIDATOR]
    raise PlannerError(
        f"no mode sub-spec set on SeiNode {node.metadata.namespace}/{node.metadata.name}"
    )


def _bootstrap_image_ok(source: SnapshotSource | None) -> bool:
    """A bootstrap image needs an S3 snapshot with a height to halt at."""
    if source is None or not source.bootstrap_image:
        return True
    return source.s3 is not None and source.s3.target_height > 0


def validate(node: SeiNode) -> None:
    """Spec 3.9; raises :class:`PlannerError` with the exact message."""
    planner = planner_for_node(node)
    spec = node.spec
    if planner.kind == PlannerKind.FULL:
        assert spec.full_node is not None
        if not _bootstrap_image_ok(spec.full_node.snapshot):
            raise PlannerError("fullNode: bootstrapImage requires s3 with targetHeight > 0")
    elif planner.kind == PlannerKind.REPLAYER:
        assert spec.replayer is not None
        s3 = spec.replayer.snapshot.s3
        if s3 is None:
            raise PlannerError("replayer requires an S3 snapshot source")
        if s3.target_height <= 0:
            raise PlannerError("replayer: s3.targetHeight must be > 0")
        if not spec.peers:
            raise PlannerError("replayer requires at least one peer source for block sync")
    elif planner.kind == PlannerKind.VALIDATOR:
        assert spec.validator is not None
        ceremony = spec.validator.genesis_ceremony
        if ceremony is not None:
            if not ceremony.chain_id:
                raise PlannerError("validator: genesisCeremony.chainId is required")
            if not ceremony.staking_amount:
                raise PlannerError("validator: genesisCeremony.stakingAmount is required")
        elif not _bootstrap_image_ok(spec.validator.snapshot):
            raise PlannerError("validator: bootstrapImage requires s3 with targetHeight > 0")


def common_overrides(node: SeiNode) -> dict[str, str]:
    """Overrides every mode gets from the controller."""
    if node.status.external_address:
        return {"network.p2p.external_address": node.status.external_address}
    return {}


def _mode_overrides(node: SeiNode, planner: NodePlanner) -> dict[str, str]:
    spec = node.spec
    if planner.kind == PlannerKind.FULL and spec.full_node is not None:
        generation = spec.full_node.snapshot_generation
        if generation is None:
            return {}
        return {
            "storage.snapshot_interval": SNAPSHOT_INTERVAL,
            "storage.snapshot_keep_recent": str(generation.keep_recent),
            "storage.pruning_keep_recent": "50000",
            "storage.pruning_keep_every": "0",
            "chain.min_retain_blocks": "50000",
            "network.p2p.max_connections": "500",
            "network.p2p.send_rate": "20971520",
            "network.p2p.recv_rate": "20971520",
        }
    if planner.kind == PlannerKind.ARCHIVE and spec.archive is not None:
        generation = spec.archive.snapshot_generation
        if generation is None:
            return {}
        return {
            "storage.snapshot_interval": SNAPSHOT_INTERVAL,
            "storage.snapshot_keep_recent": str(generation.keep_recent),
        }
    if planner.kind == PlannerKind.REPLAYER:
        return {
            "storage.state_commit.async_commit_buffer": "100",
            "storage.state_commit.memiavl.snapshot_keep_recent": "2",
            "storage.state_commit.memiavl.snapshot_min_time_interval": "3600",
        }
    return {}


def config_apply_params(node: SeiNode) -> ConfigApplyParams:
    """Mode plus overrides merged controller-common -> mode -> user (later wins)."""
    planner = planner_for_node(node)
    merged = {**common_overrides(node), **_mode_overrides(node, planner)}
    merged.update(node.spec.overrides or {})
    return ConfigApplyParams(mode=planner.mode, overrides=merged or None)


def _peer_sources(node: SeiNode) -> list[PeerSourceParam]:
    """spec.peers in order; a label source becomes the whole resolved list (12.5)."""
    sources: list[PeerSourceParam] = []
    for peer in node.spec.peers or []:
        if peer.ec2_tags is not None:
            tags = dict(peer.ec2_tags.tags)
            sources.append(PeerSourceParam(type="ec2Tags", region=peer.ec2_tags.region, tags=tags))
        elif peer.static is not None:
            sources.append(PeerSourceParam(type="static", addresses=list(peer.static.addresses)))
        elif peer.label is not None:
            resolved = list(node.status.resolved_peers or [])
            sources.append(PeerSourceParam(type="dnsEndpoints", endpoints=resolved or None))
    return sources


def _state_sync_params(source: SnapshotSource) -> ConfigureStateSyncParams:
    return ConfigureStateSyncParams(
        use_local_snapshot=source.s3 is not None,
        trust_period=source.trust_period or "",
        backfill_blocks=max(source.backfill_blocks or 0, 0),
    )


# One planned step before IDs are assigned: (type, params, maxRetries).
_Step = tuple[str, TaskParams, int]


def _progression(node: SeiNode, source: SnapshotSource | None) -> list[_Step]:
    """Base progression of the bootstrap mode of ``source`` with the insertions of 6.3."""
    steps: list[_Step] = []
    if source is not None and source.s3 is not None:
        steps.append(
            ("snapshot-restore", SnapshotRestoreParams(target_height=source.s3.target_height), 0)
        )
    steps += [
        ("config-apply", config_apply_params(node), 0),
        ("config-validate", EmptyParams(), 0),
        ("mark-ready", EmptyParams(), 0),
    ]
    _insert_before(steps, "config-apply", ("configure-genesis", EmptyParams(), 0))
    if node.spec.peers:
        discover = DiscoverPeersParams(sources=_peer_sources(node))
        _insert_before(steps, "config-validate", ("discover-peers", discover, 0))
    if source is not None:
        state_sync = ("configure-state-sync", _state_sync_params(source), 0)
        _insert_before(steps, "config-validate", state_sync)
    return steps


def _insert_before(steps: list[_Step], anchor: str, step: _Step) -> None:
    """Insert ``step`` right before ``anchor`` unless a step of its type is present."""
    types = [s[0] for s in steps]
    if step[0] in types or anchor not in types:
        return
    steps.insert(types.index(anchor), step)


def _bootstrap_steps(node: SeiNode, source: SnapshotSource) -> list[_Step]:
    """Bootstrap Job path (12.3): the S3 progression runs against the Job pod's sidecar, the
    post-bootstrap progression (built without a snapshot) against the StatefulSet pod's."""
    name, namespace = node.metadata.name or "", node.metadata.namespace or ""
    job = f"{name}-bootstrap"
    return [
        (
            "deploy-bootstrap-service",
            DeployBootstrapServiceParams(service_name=name, namespace=namespace),
            0,
        ),
        ("deploy-bootstrap-job", DeployBootstrapJobParams(job_name=job, namespace=namespace), 0),
        *_progression(node, source),
        (
            "await-bootstrap-complete",
            AwaitBootstrapCompleteParams(job_name=job, namespace=namespace),
            0,
        ),
        (
            "teardown-bootstrap",
            TeardownBootstrapParams(job_name=job, service_name=name, namespace=namespace),
            0,
        ),
        *_progression(node, None),
    ]


def _ceremony_steps(node: SeiNode, ceremony: GenesisCeremonyNodeConfig) -> list[_Step]:
    name = node.metadata.name or ""
    gentx = GenerateGentxParams(
        chain_id=ceremony.chain_id,
        staking_amount=ceremony.staking_amount,
        account_balance=ceremony.account_balance,
        genesis_params=ceremony.genesis_params or "",
    )
    return [
        ("generate-identity", GenerateIdentityParams(chain_id=ceremony.chain_id, moniker=name), 0),
        ("generate-gentx", gentx, 0),
        ("upload-genesis-artifacts", UploadGenesisArtifactsParams(node_name=name), 0),
        ("configure-genesis", EmptyParams(), GENESIS_CONFIGURE_MAX_RETRIES),
        ("config-apply", config_apply_params(node), 0),
        ("set-genesis-peers", EmptyParams(), 0),
        ("config-validate", EmptyParams(), 0),
        ("mark-ready", EmptyParams(), 0),
    ]


def _snapshot_source(node: SeiNode) -> SnapshotSource | None:
    if node.spec.archive is not None:
        # Archive nodes always state-sync (implicit source).
        return SnapshotSource(state_sync=StateSyncSource())
    return node.spec.snapshot_source()


def build_node_plan(node: SeiNode, *, plan_id: str | None = None) -> TaskPlan:
    """The initialization plan of ``node`` (validated first; raises :class:`PlannerError`).
    ``plan_id`` is for tests that compare with recorded plans; normally a fresh UUIDv4."""
    validate(node)
    validator = node.spec.validator
    if validator is not None and validator.genesis_ceremony is not None:
        steps = _ceremony_steps(node, validator.genesis_ceremony)
    elif needs_bootstrap(node):
        source = node.spec.snapshot_source()
        assert source is not None
        steps = _bootstrap_steps(node, source)
    else:
        steps = _progression(node, _snapshot_source(node))
    plan_id = plan_id or new_plan_id()
    return planned(plan_id, steps)
