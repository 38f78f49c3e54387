"""Where a node gets its peers and its initial state (spec section 3.1)."""

from __future__ import annotations

from pydantic import Field

from .base import SeiModel
from .markers import cel_rule
from .scalars import Int32, Int64

__all__ = [
    "EC2TagsPeerSource",
    "LabelPeerSource",
    "PeerSource",
    "S3SnapshotSource",
    "SnapshotGenerationConfig",
    "SnapshotSource",
    "StateSyncSource",
    "StaticPeerSource",
]


class EC2TagsPeerSource(SeiModel):
    """Peers are EC2 instances matching tags; resolved by the sidecar."""

    region: str = Field(min_length=1, description="AWS region to query.")
    tags: dict[str, str] = Field(min_length=1, description="EC2 instance tag filter.")


class StaticPeerSource(SeiModel):
    """A fixed list of peers."""

    addresses: list[str] = Field(min_length=1, description="Peers as nodeId@host:port.")


class LabelPeerSource(SeiModel):
    """Peers are the SeiNodes whose labels match; resolved by the controller."""

    selector: dict[str, str] = Field(
        min_length=1, description="SeiNodes whose labels match all pairs are peers."
    )
    namespace: str | None = Field(
        default=None, description="Namespace to search; empty means the node's own namespace."
    )


class PeerSource(SeiModel):
    """How a node finds P2P peers: exactly one of ec2Tags, static, label."""

    ec2_tags: EC2TagsPeerSource | None = None
    static: StaticPeerSource | None = None
    label: LabelPeerSource | None = None

    @cel_rule(
        "(has(self.ec2Tags) ? 1 : 0) + (has(self.static) ? 1 : 0) + (has(self.label) ? 1 : 0) == 1",
        "exactly one of ec2Tags, static, or label must be set",
    )
    def _exactly_one_source(self) -> bool:
        return [self.ec2_tags, self.static, self.label].count(None) == 2


class S3SnapshotSource(SeiModel):
    """Restore from the platform snapshot bucket (bucket and region come from the sidecar)."""

    target_height: Int64 = Field(
        ge=1, description="Restore the highest snapshot at or below this height."
    )


class StateSyncSource(SeiModel):
    """CometBFT state sync from peers (an empty object)."""


class SnapshotSource(SeiModel):
    """How a node obtains its initial state: exactly one of s3, stateSync."""

    s3: S3SnapshotSource | None = None
    state_sync: StateSyncSource | None = None
    trust_period: str | None = Field(
        default=None, description="State-sync trust period, e.g. 9999h0m0s."
    )
    backfill_blocks: Int64 | None = Field(
        default=None, description="Blocks to backfill after state sync (used when > 0)."
    )
    bootstrap_image: str | None = Field(
        default=None,
        description="With s3.targetHeight > 0, a one-shot bootstrap Job using this image"
        " prepares the data volume before the StatefulSet exists.",
    )

    @cel_rule(
        "(has(self.s3) ? 1 : 0) + (has(self.stateSync) ? 1 : 0) == 1",
        "exactly one of s3 or stateSync must be set",
    )
    def _exactly_one_source(self) -> bool:
        return (self.s3 is None) != (self.state_sync is None)


class SnapshotGenerationConfig(SeiModel):
    """Produce and upload state-sync snapshots."""

    keep_recent: Int32 = Field(ge=2, description="Snapshots to keep.")
