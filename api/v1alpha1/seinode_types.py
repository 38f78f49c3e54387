"""SeiNode: exactly one Sei node (spec sections 2, 3.1, 3.2)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Final, Literal

from pydantic import Field

from .base import SeiModel
from .conditions import HasConditions
from .core import ResourceRequirements
from .markers import CrdNames, PrinterColumn, cel_rule
from .meta import API_VERSION, Resource
from .plan import MonitorTask, TaskPlan
from .scalars import Int32
from .sources import PeerSource, SnapshotGenerationConfig, SnapshotSource

__all__ = [
    "DEFAULT_SIDECAR_PORT",
    "ArchiveSpec",
    "EntrypointConfig",
    "FullNodeSpec",
    "GenesisCeremonyNodeConfig",
    "ReplayerSpec",
    "ResultExportConfig",
    "SeiNode",
    "SeiNodePhase",
    "SeiNodeSpec",
    "SeiNodeStatus",
    "SidecarConfig",
    "ValidatorSpec",
]

DEFAULT_SIDECAR_PORT: Final = 7777
# Go's unicode.IsSpace, which CEL's trim() and the kubelet's image check both use (Python's
# str.isspace differs: it counts U+001C..U+001F and not U+0085's neighbours the same way).
GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class EntrypointConfig(SeiModel):
    """Overrides the command run for seid."""

    command: list[str] = Field(
        min_length=1,
        max_length=16,
        description="First element is the executable, the rest leading arguments.",
    )
    args: list[str] | None = Field(default=None, max_length=64, description="Additional arguments.")


class SidecarConfig(SeiModel):
    """The sidecar (seictl) container."""

    image: str | None = Field(
        default=None, description="Sidecar image; empty means the default image."
    )
    # Bounded to what a containerPort can be (0 meaning the default): any other value is
    # accepted by the reference CRD but makes every StatefulSet apply fail (422), so such a
    # node could never start. Narrowing rejects no node that could ever run.
    port: Int32 = Field(
        default=DEFAULT_SIDECAR_PORT,
        ge=0,
        le=65535,
        description="Sidecar HTTP port; 0 means 7777.",
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="Requests and limits of the sidecar container."
    )


class FullNodeSpec(SeiModel):
    """Full/RPC node."""

    snapshot: SnapshotSource | None = Field(
        default=None,
        description="How to obtain initial state; absent means block sync from genesis.",
    )
    snapshot_generation: SnapshotGenerationConfig | None = None


class ArchiveSpec(SeiModel):
    """Archive node (state sync, no pruning)."""

    snapshot_generation: SnapshotGenerationConfig | None = None


class ResultExportConfig(SeiModel):
    """Result export / app-hash comparison monitor of a replayer."""

    canonical_rpc: str = Field(
        min_length=1, description="Canonical chain RPC endpoint for app-hash comparison."
    )


class ReplayerSpec(SeiModel):
    """Ephemeral replay workload."""

    snapshot: SnapshotSource = Field(description="Snapshot to restore.")
    result_export: ResultExportConfig | None = None


class GenesisCeremonyNodeConfig(SeiModel):
    """Set by the SeiNodeDeployment controller for genesis ceremonies; not for direct use."""

    chain_id: str = Field(min_length=1)
    staking_amount: str = Field(min_length=1)
    account_balance: str = Field(min_length=1)
    genesis_params: str | None = Field(default=None, description="JSON text of genesis overrides.")
    index: Int32 = Field(ge=0, description="The node's ordinal in the group.")


class ValidatorSpec(SeiModel):
    """Consensus validator."""

    snapshot: SnapshotSource | None = None
    genesis_ceremony: GenesisCeremonyNodeConfig | None = None


class SeiNodeSpec(SeiModel):
    """Desired state of a SeiNode; exactly one of fullNode, archive, replayer, validator."""

    chain_id: str = Field(min_length=1, description="Chain ID, e.g. pacific-1.")
    image: str = Field(min_length=1, max_length=512, description="The seid container image.")
    peers: list[PeerSource] | None = Field(
        default=None, description="How the node finds P2P peers."
    )
    entrypoint: EntrypointConfig | None = None
    overrides: dict[str, str] | None = Field(
        default=None, description="Flat dotted sei-config keys applied on top of the mode defaults."
    )
    sidecar: SidecarConfig | None = None
    pod_labels: dict[str, str] | None = Field(
        default=None, description="Extra labels on the StatefulSet, pod template, PVC and Service."
    )
    full_node: FullNodeSpec | None = None
    archive: ArchiveSpec | None = None
    replayer: ReplayerSpec | None = None
    validator: ValidatorSpec | None = None

    @cel_rule(
        "(has(self.fullNode) ? 1 : 0) + (has(self.archive) ? 1 : 0)"
        " + (has(self.replayer) ? 1 : 0) + (has(self.validator) ? 1 : 0) == 1",
        "exactly one of fullNode, archive, replayer, or validator must be set",
    )
    def _exactly_one_mode(self) -> bool:
        return [self.full_node, self.archive, self.replayer, self.validator].count(None) == 3

    @cel_rule(
        "!has(self.replayer) || (has(self.peers) && size(self.peers) > 0)",
        "peers is required when replayer mode is set",
    )
    def _replayer_needs_peers(self) -> bool:
        return self.replayer is None or bool(self.peers)

    # Not in the reference CRD: such an image passes the StatefulSet but no pod of it can be
    # created (the kubelet's validation trims), so the node would wait forever, silently.
    @cel_rule(
        "self.image == self.image.trim()",
        "image must not have leading or trailing whitespace",
        field_path=".image",
    )
    def _image_is_trimmed(self) -> bool:
        return self.image == self.image.strip(GO_SPACE)

    def snapshot_source(self) -> SnapshotSource | None:
        """fullNode or validator snapshot, the replayer snapshot, else None (archive)."""
        if self.full_node is not None:
            return self.full_node.snapshot
        if self.validator is not None:
            return self.validator.snapshot
        if self.replayer is not None:
            return self.replayer.snapshot
        return None


class SeiNodePhase(StrEnum):
    """Lifecycle phase. An absent phase means Pending; the controller never writes Pending."""

    PENDING = "Pending"
    INITIALIZING = "Initializing"
    RUNNING = "Running"
    FAILED = "Failed"
    TERMINATING = "Terminating"


class SeiNodeStatus(HasConditions):
    """Observed state of a SeiNode; written only by the SeiNode controller."""

    phase: SeiNodePhase | None = None
    current_image: str | None = Field(
        default=None, description="Image observed to be rolled out on the StatefulSet."
    )
    plan: TaskPlan | None = Field(default=None, description="Initialization plan.")
    monitor_tasks: dict[str, MonitorTask] | None = Field(
        default=None, description="Long-running sidecar tasks keyed by task type."
    )
    resolved_peers: list[str] | None = Field(
        default=None, description="Sorted, de-duplicated DNS names from label peer sources."
    )
    external_address: str | None = None


class SeiNode(Resource):
    """A single Sei node: data volume, StatefulSet, headless Service and its sidecar plans."""

    crd_names: ClassVar[CrdNames] = CrdNames(
        plural="seinodes",
        singular="seinode",
        list_kind="SeiNodeList",
        short_names=("snode",),
        printer_columns=(
            PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
            PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp"),
        ),
    )

    api_version: Literal["sei.io/v1alpha1"] = API_VERSION
    kind: Literal["SeiNode"] = "SeiNode"
    spec: SeiNodeSpec
    status: SeiNodeStatus = Field(default_factory=SeiNodeStatus)
