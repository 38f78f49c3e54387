"""SeiNode fixtures of the reference's plan and controller tests (spec 11, fixture notes)."""

from __future__ import annotations

import copy
from typing import Any

from api.v1alpha1 import SeiNode

EC2_PEERS = [{"ec2Tags": {"region": "eu-central-1", "tags": {"ChainIdentifier": "atlantic-2"}}}]


def node(name: str = "test-node", namespace: str = "default", **spec: Any) -> SeiNode:
    """A SeiNode with ``spec`` (camelCase keys) on top of the snapshotNode basics."""
    body: dict[str, Any] = {
        "chainId": "atlantic-2",
        "image": "sei:latest",
        "sidecar": {"image": "sidecar:latest", "port": 7777},
    }
    body.update(copy.deepcopy(spec))
    return SeiNode.from_dict(
        {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNode",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
            "spec": body,
        }
    )


def s3_source(height: int = 100000000, **extra: Any) -> dict[str, Any]:
    return {"s3": {"targetHeight": height}, "trustPeriod": "9999h0m0s", **extra}


def snapshot_node(**spec: Any) -> SeiNode:
    return node(fullNode={"snapshot": s3_source()}, **spec)


def peer_sync_node() -> SeiNode:
    return node(fullNode={"snapshot": {"stateSync": {}}}, peers=EC2_PEERS)


def genesis_node(**spec: Any) -> SeiNode:
    return node(chainId="arctic-1", validator={}, **spec)


def snapshotter_node() -> SeiNode:
    return node(archive={"snapshotGeneration": {"keepRecent": 5}}, peers=EC2_PEERS)


def replayer_node(**replayer: Any) -> SeiNode:
    return node(
        name="test-replayer",
        chainId="pacific-1",
        replayer={"snapshot": s3_source(), **replayer},
        peers=EC2_PEERS,
    )


def monitor_replayer_node() -> SeiNode:
    return replayer_node(resultExport={"canonicalRpc": "http://canonical-rpc:26657"})
