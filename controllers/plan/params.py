"""Stored parameters of tasks (``PlannedTask.params``, spec 6.7) and their sidecar requests.

A planner builds a params model and stores :meth:`TaskParams.stored`; the executor parses the
stored JSON back with :func:`parse_params` on every reconcile. Two JSON shapes exist per type:

* *stored*: what the plan carries. Field names and omitted-when-empty keys follow the reference
  operator's JSON (``omitempty``), so plans written by either implementation read the same.
* *request*: the ``params`` object POSTed to the sidecar (:meth:`SidecarParams.request`), which
  for some types differs from the stored one (spec 6.7.1 table) or is omitted entirely.

Parsing is strict about types (a string where a number belongs is an error, as in Go's
``encoding/json``) and lenient about presence (a missing key is its zero value) and about
unknown keys (ignored), so a plan written by a newer controller still executes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

__all__ = [
    "AssembleAndUploadGenesisParams",
    "AssembleGenesisForkParams",
    "AwaitBootstrapCompleteParams",
    "AwaitConditionParams",
    "ConfigApplyParams",
    "ConfigureStateSyncParams",
    "DeployBootstrapJobParams",
    "DeployBootstrapServiceParams",
    "DiscoverPeersParams",
    "EmptyParams",
    "GenerateGentxParams",
    "GenerateIdentityParams",
    "GenesisNodeParam",
    "InvalidTaskParamsError",
    "PeerSourceParam",
    "SidecarParams",
    "SnapshotRestoreParams",
    "TaskParams",
    "TeardownBootstrapParams",
    "UploadGenesisArtifactsParams",
    "parse_params",
]

P = TypeVar("P", bound="TaskParams")


class InvalidTaskParamsError(ValueError):
    """Stored params that do not parse as the task type's params (fails the plan)."""


class TaskParams(BaseModel):
    """Base of every params model. ``_omit_empty`` names the attributes that the stored JSON
    leaves out when they are zero/empty (Go ``omitempty``); every other field is always
    written, ``None`` as ``null`` (a nil Go slice)."""

    model_config = ConfigDict(
        strict=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
    )

    _omit_empty: ClassVar[frozenset[str]] = frozenset()

    def stored(self) -> dict[str, Any]:
        """The JSON stored in ``PlannedTask.params``."""
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if name in self._omit_empty and not value:
                continue
            out[info.alias or name] = _stored_value(value)
        return out


def _stored_value(value: Any) -> Any:
    if isinstance(value, TaskParams):
        return value.stored()
    if isinstance(value, list):
        return [_stored_value(v) for v in value]
    if isinstance(value, dict):
        return dict(value)
    return value


def parse_params(model: type[P], task_type: str, params: Mapping[str, Any] | None) -> P:
    """Parse stored params; absent params read as ``{}``."""
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidTaskParamsError(f"invalid params for {task_type} task: {details}") from exc


class SidecarParams(TaskParams):
    """Params of a task that is POSTed to a sidecar."""

    def request(self) -> dict[str, Any] | None:
        """The ``params`` of the sidecar request; None leaves the key out of the request."""
        return self.stored()


class EmptyParams(SidecarParams):
    """``{}`` stored; no ``params`` in the request (configure-genesis, config-validate,
    mark-ready, set-genesis-peers)."""

    def request(self) -> dict[str, Any] | None:
        return None


class SnapshotRestoreParams(SidecarParams):
    _omit_empty = frozenset({"target_height"})

    target_height: int = 0

    def request(self) -> dict[str, Any] | None:
        return {"targetHeight": self.target_height} if self.target_height > 0 else None


class ConfigApplyParams(SidecarParams):
    _omit_empty = frozenset({"overrides", "incremental", "target_version"})

    mode: str = ""
    overrides: dict[str, str] | None = None
    incremental: bool = False
    target_version: int = 0

    def request(self) -> dict[str, Any] | None:
        # Unlike the stored JSON, the request always carries incremental and targetVersion.
        body: dict[str, Any] = {
            "mode": self.mode,
            "incremental": self.incremental,
            "targetVersion": self.target_version,
        }
        if self.overrides:
            body["overrides"] = dict(self.overrides)
        return body


class PeerSourceParam(TaskParams):
    """One source of ``discover-peers``: ``ec2Tags``, ``static`` or ``dnsEndpoints``."""

    _omit_empty = frozenset({"region", "tags", "addresses", "endpoints"})

    type: str = ""
    region: str = ""
    tags: dict[str, str] | None = None
    addresses: list[str] | None = None
    endpoints: list[str] | None = None

    def request(self) -> dict[str, Any]:
        """Only ``type`` and that type's own keys (unknown types: ``type`` alone)."""
        body: dict[str, Any] = {"type": self.type}
        if self.type == "ec2Tags":
            body["region"] = self.region
            body["tags"] = dict(self.tags or {})
        elif self.type == "static":
            body["addresses"] = list(self.addresses or [])
        elif self.type == "dnsEndpoints":
            body["endpoints"] = list(self.endpoints or [])
        return body


class DiscoverPeersParams(SidecarParams):
    sources: list[PeerSourceParam] | None = None

    def request(self) -> dict[str, Any] | None:
        return {"sources": [source.request() for source in self.sources or []]}


class ConfigureStateSyncParams(SidecarParams):
    _omit_empty = frozenset({"use_local_snapshot", "trust_period", "backfill_blocks"})

    use_local_snapshot: bool = False
    trust_period: str = ""
    backfill_blocks: int = 0

    def request(self) -> dict[str, Any] | None:
        return self.stored() or None


class GenerateIdentityParams(SidecarParams):
    chain_id: str = ""
    moniker: str = ""


class GenerateGentxParams(SidecarParams):
    _omit_empty = frozenset({"genesis_params"})

    chain_id: str = ""
    staking_amount: str = ""
    account_balance: str = ""
    genesis_params: str = ""


class UploadGenesisArtifactsParams(SidecarParams):
    node_name: str = ""


class GenesisNodeParam(TaskParams):
    name: str = ""


class AssembleAndUploadGenesisParams(SidecarParams):
    account_balance: str = ""
    namespace: str = ""
    nodes: list[GenesisNodeParam] | None = None


class AssembleGenesisForkParams(SidecarParams):
    source_chain_id: str = ""
    chain_id: str = ""
    account_balance: str = ""
    namespace: str = ""
    nodes: list[GenesisNodeParam] | None = None


class AwaitConditionParams(SidecarParams):
    _omit_empty = frozenset({"action"})

    condition: str = ""
    target_height: int = 0
    action: str = ""


# Controller tasks of the SeiNode bootstrap (6.7.2). Names are required: without them the
# task would act on an object named "".


class DeployBootstrapServiceParams(TaskParams):
    service_name: str
    namespace: str


class DeployBootstrapJobParams(TaskParams):
    job_name: str
    namespace: str


class AwaitBootstrapCompleteParams(TaskParams):
    job_name: str
    namespace: str


class TeardownBootstrapParams(TaskParams):
    job_name: str
    service_name: str
    namespace: str
