"""SeiNodeDeployment: a group of SeiNodes stamped from a template (spec sections 2, 4.1, 4.2)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from .base import SeiModel
from .conditions import HasConditions
from .markers import CrdNames, CrdRequired, ListMapKeys, PrinterColumn, cel_rule
from .meta import API_VERSION, Resource
from .plan import TaskPlan
from .scalars import Int32, Int64, Time
from .seinode_types import SeiNodePhase, SeiNodeSpec

__all__ = [
    "DEFAULT_ACCOUNT_BALANCE",
    "DEFAULT_STAKING_AMOUNT",
    "DeletionPolicy",
    "ForkConfig",
    "GenesisAccount",
    "GenesisCeremonyConfig",
    "GroupNodeStatus",
    "HardForkStrategy",
    "MonitoringConfig",
    "NetworkingConfig",
    "NetworkingStatus",
    "RolloutNodeStatus",
    "RolloutStatus",
    "RouteStatus",
    "SeiNodeDeployment",
    "SeiNodeDeploymentPhase",
    "SeiNodeDeploymentSpec",
    "SeiNodeDeploymentStatus",
    "SeiNodeTemplate",
    "ServiceMonitorConfig",
    "TemplateMetadata",
    "UpdateStrategy",
    "UpdateStrategyType",
]

DEFAULT_STAKING_AMOUNT: Final = "10000000usei"
DEFAULT_ACCOUNT_BALANCE: Final = (
    "1000000000000000000000usei,1000000000000000000000uusdc,1000000000000000000000uatom"
)


class TemplateMetadata(SeiModel):
    """Labels and annotations of the child SeiNodes."""

    labels: dict[str, str] | None = Field(
        default=None, description="Merged into the child labels (system labels win)."
    )
    annotations: dict[str, str] | None = Field(
        default=None, description="Copied to the child annotations."
    )


class SeiNodeTemplate(SeiModel):
    """Template of the child SeiNodes."""

    metadata: TemplateMetadata | None = None
    spec: SeiNodeSpec


class GenesisAccount(SeiModel):
    """An extra genesis account."""

    address: str = Field(min_length=1)
    balance: str = Field(min_length=1)


class ForkConfig(SeiModel):
    """Fork the new chain from an existing chain's exported state."""

    source_chain_id: str = Field(min_length=1, description="Chain being forked.")
    source_image: str = Field(
        min_length=1, description="seid image compatible with the source chain at export height."
    )
    export_height: Int64 = Field(ge=1, description="Height to export.")


class GenesisCeremonyConfig(SeiModel):
    """Genesis ceremony orchestration for a brand-new chain."""

    chain_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$",
        description="The new chain's ID.",
    )
    staking_amount: str = Field(
        default=DEFAULT_STAKING_AMOUNT, description="Each validator's self-delegation."
    )
    account_balance: str = Field(
        default=DEFAULT_ACCOUNT_BALANCE, description="Each validator's genesis account balance."
    )
    accounts: list[GenesisAccount] | None = Field(
        default=None, description="Extra genesis accounts."
    )
    overrides: dict[str, str] | None = Field(
        default=None, description="Genesis parameter overrides."
    )
    max_ceremony_duration: str | None = Field(
        default=None, description="Maximum ceremony duration, e.g. 15m."
    )
    fork: ForkConfig | None = None


class NetworkingConfig(SeiModel):
    """Presence (even ``{}``) enables public networking; the object has no fields."""


class ServiceMonitorConfig(SeiModel):
    """Prometheus Operator ServiceMonitor of the group."""

    interval: str = Field(
        default="30s", pattern=r"^[0-9]+(ms|s|m|h)$", description="Scrape interval."
    )
    labels: dict[str, str] | None = Field(default=None, description="Labels on the ServiceMonitor.")


class MonitoringConfig(SeiModel):
    """Group monitoring."""

    service_monitor: ServiceMonitorConfig | None = Field(
        default=None, description="Presence enables a ServiceMonitor."
    )


class UpdateStrategyType(StrEnum):
    IN_PLACE = "InPlace"
    BLUE_GREEN = "BlueGreen"
    HARD_FORK = "HardFork"


class HardForkStrategy(SeiModel):
    """HardFork rollout parameters."""

    halt_height: Int64 = Field(ge=1, description="Height at which incumbents are stopped.")


class UpdateStrategy(SeiModel):
    """How template changes are rolled out."""

    type: UpdateStrategyType
    hard_fork: HardForkStrategy | None = None

    @cel_rule(
        "self.type != 'HardFork' || (has(self.hardFork) && self.hardFork.haltHeight > 0)",
        "hardFork strategy requires haltHeight > 0",
    )
    def _hard_fork_needs_halt_height(self) -> bool:
        return self.type != UpdateStrategyType.HARD_FORK or (
            self.hard_fork is not None and self.hard_fork.halt_height > 0
        )


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    RETAIN = "Retain"


class SeiNodeDeploymentSpec(SeiModel):
    """Desired state of a SeiNodeDeployment."""

    # Required and defaulted: the API server defaults before it checks required.
    replicas: Annotated[Int32, CrdRequired()] = Field(
        default=1, ge=1, le=100, description="Number of child SeiNodes."
    )
    template: SeiNodeTemplate
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="On deletion: cascade to the children (Delete) or orphan them (Retain).",
    )
    genesis: GenesisCeremonyConfig | None = None
    networking: NetworkingConfig | None = Field(
        default=None, description="Presence enables public networking."
    )
    monitoring: MonitoringConfig | None = None
    # Required by the CRD; None only on objects stored before update strategies existed
    # (spec 4.1 migration note, 8.5); the controller then plans the rollout as InPlace.
    update_strategy: Annotated[UpdateStrategy, CrdRequired()] | None = None


class SeiNodeDeploymentPhase(StrEnum):
    PENDING = "Pending"
    INITIALIZING = "Initializing"
    READY = "Ready"
    UPGRADING = "Upgrading"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    TERMINATING = "Terminating"


class GroupNodeStatus(SeiModel):
    """One child SeiNode of the group."""

    name: str
    phase: SeiNodePhase | None = None


class RolloutNodeStatus(SeiModel):
    """Rollout progress of one node (decisions.md D2): answers "which node is stuck"."""

    name: str
    ready: bool
    phase: SeiNodePhase | None = None


class RolloutStatus(SeiModel):
    """The active rollout; null when none is in progress."""

    strategy: UpdateStrategyType
    target_hash: str = Field(description="Template hash being rolled out.")
    started_at: Time
    incumbent_nodes: list[str] | None = None
    entrant_nodes: list[str] | None = None
    incumbent_revision: str | None = None
    entrant_revision: str | None = None
    # Optional on purpose: the reference made its (removed) rollout.nodes required, which made
    # every status write carrying a rollout fail validation (spec 13, #81).
    nodes: Annotated[list[RolloutNodeStatus], ListMapKeys(("name",))] | None = Field(
        default=None, description="Per-node rollout progress."
    )


class RouteStatus(SeiModel):
    """One public hostname of the group."""

    hostname: str
    protocol: str | None = Field(default=None, description="evm, rpc, rest or grpc.")


class NetworkingStatus(SeiModel):
    """Public routes of the group."""

    routes: list[RouteStatus] | None = None


class SeiNodeDeploymentStatus(HasConditions):
    """Observed state of a SeiNodeDeployment."""

    observed_generation: Int64 | None = None
    template_hash: str | None = Field(
        default=None, description="Hash of the rollout-relevant template fields."
    )
    phase: SeiNodeDeploymentPhase | None = None
    replicas: Int32 | None = None
    ready_replicas: Int32 | None = Field(
        default=None, description="Number of child SeiNodes in phase Running."
    )
    nodes: Annotated[list[GroupNodeStatus], ListMapKeys(("name",))] | None = None
    plan: TaskPlan | None = Field(default=None, description="Active group plan.")
    genesis_hash: str | None = None
    genesis_s3_uri: str | None = None
    incumbent_nodes: list[str] | None = None
    rollout: RolloutStatus | None = None
    networking_status: NetworkingStatus | None = None


class SeiNodeDeployment(Resource):
    """A fleet of SeiNodes with genesis, rollout, networking and monitoring orchestration."""

    crd_names: ClassVar[CrdNames] = CrdNames(
        plural="seinodedeployments",
        singular="seinodedeployment",
        list_kind="SeiNodeDeploymentList",
        short_names=("snd",),
        printer_columns=(
            PrinterColumn(name="Ready", type="integer", json_path=".status.readyReplicas"),
            PrinterColumn(name="Replicas", type="integer", json_path=".status.replicas"),
            PrinterColumn(name="Phase", type="string", json_path=".status.phase"),
            PrinterColumn(
                name="Revision",
                type="string",
                json_path=".status.rollout.entrantRevision",
                priority=1,
            ),
            PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp"),
        ),
    )

    api_version: Literal["sei.io/v1alpha1"] = API_VERSION
    kind: Literal["SeiNodeDeployment"] = "SeiNodeDeployment"
    spec: SeiNodeDeploymentSpec
    status: SeiNodeDeploymentStatus = Field(default_factory=SeiNodeDeploymentStatus)
