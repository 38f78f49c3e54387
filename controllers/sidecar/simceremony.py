"""The genesis-ceremony side of the simulated sidecar: a genesis bucket, and what each ceremony
task does to a node and to that bucket (spec 7.2, 12.1, 12.2).

The bucket stands in for ``SEI_GENESIS_BUCKET``, shared by every node of one simulator, and
uses seictl's object keys (v0.0.68)::

    <chainId>/<nodeName>/gentx.json      upload-genesis-artifacts
    <chainId>/<nodeName>/identity.json   upload-genesis-artifacts ({"node_key": {"id": ...}})
    <chainId>/genesis.json               assemble-and-upload-genesis, assemble-genesis-fork
    <chainId>/peers.json                 the same (["<id>@<name>-0.<name>.<ns>...:26656", ...])
    <sourceChainId>/exported-state.json  export-state (at params.s3Key)

Tests read it (:meth:`GenesisBucket.json`) to see the assembled genesis. The artifacts are
JSON documents shaped like the real ones in the fields a test can check (chain id, validators,
accounts, peers), not byte-compatible Cosmos documents.

Which chain a node belongs to is its ``SEI_CHAIN_ID``: the pod's, when the local fleet starts
the node (:attr:`SimulatedNode.chain_id`), or else the chain its ``generate-identity`` named.
``configure-genesis`` completes for the chains seictl embeds and for any chain without ceremony
artifacts (a published chain, as before this module existed), and fails, as seictl's
missing-object error does, for a chain with gentx uploads but no assembled genesis yet: that is
what makes validators wait for the group's assembly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from controllers.sidecar.simnode import SimulatedNode

__all__ = ["CEREMONY_EFFECTS", "Effect", "GenesisBucket", "peer_of"]

# What a completed task does: (node, params) -> an error that fails the task, or None.
Effect = Callable[["SimulatedNode", Mapping[str, Any]], "str | None"]

BUCKET_NAME: Final = "sim-genesis"
# Chains whose genesis seictl carries (spec 6.7.1 configure-genesis).
EMBEDDED_CHAINS: Final = frozenset({"pacific-1", "atlantic-2", "arctic-1"})
P2P_PORT: Final = 26656


@dataclass
class GenesisBucket:
    """Objects by key, as bytes. Every write is recorded in ``writes`` (key order kept)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)

    def put(self, key: str, document: Any) -> None:
        self.put_bytes(key, json.dumps(document, sort_keys=True).encode())

    def put_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data
        self.writes.append(key)

    def json(self, key: str) -> Any:
        """The decoded object; KeyError if absent."""
        return json.loads(self.objects[key])

    def get(self, key: str) -> Any | None:
        data = self.objects.get(key)
        return None if data is None else json.loads(data)

    def in_ceremony(self, chain_id: str) -> bool:
        """Some validator uploaded a gentx for this chain (``<chain>/<node>/gentx.json``)."""
        prefix = f"{chain_id}/"
        return any(
            key.startswith(prefix) and key.endswith("/gentx.json") and key.count("/") == 2
            for key in self.objects
        )

    def sha256(self, key: str) -> str:
        return hashlib.sha256(self.objects[key]).hexdigest()


def _missing(task: str, key: str) -> str:
    return f"{task}: object {key!r} not found in s3://{BUCKET_NAME}"


def peer_of(node_id: str, name: str, namespace: str) -> str:
    return f"{node_id}@{name}-0.{name}.{namespace}.svc.cluster.local:{P2P_PORT}"


def _chain(node: SimulatedNode) -> str:
    return node.chain_id or ""


def _generate_gentx(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    if "gentx" in node.home:
        return None  # seictl's marker file: already done
    for key in ("chainId", "stakingAmount", "accountBalance"):
        if not params.get(key):
            return f"generate-gentx: missing required param '{key}'"
    if node.node_id is None:
        return "generate-gentx: node_key.json not found — generate-identity may not have run yet"
    address = "sei1" + hashlib.sha256(node.node_id.encode()).hexdigest()[:38]
    node.home["gentx"] = {
        "chainId": params["chainId"],
        "moniker": node.moniker or node.name,
        "validatorAddress": address,
        "consensusPubkey": node.node_id,
        "stakingAmount": params["stakingAmount"],
        "accountBalance": params["accountBalance"],
        "genesisParams": params.get("genesisParams") or "",
    }
    return None


def _upload_genesis_artifacts(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    name = params.get("nodeName")
    if not name:
        return "upload-genesis-artifacts: missing required param 'nodeName'"
    gentx = node.home.get("gentx")
    if gentx is None:
        return "upload-genesis-artifacts: no gentx JSON file found in config/gentx"
    prefix = f"{_chain(node)}/{name}/"
    node.bucket.put(prefix + "gentx.json", gentx)
    node.bucket.put(prefix + "identity.json", {"node_key": {"id": node.node_id}})
    return None


def _assemble(
    node: SimulatedNode,
    task: str,
    chain_id: str,
    params: Mapping[str, Any],
    app_state: Any,
) -> str | None:
    # seictl's parameter checks, in its order and words (both assembly tasks say
    # "assemble-genesis").
    if not params.get("accountBalance"):
        return "assemble-genesis: missing required param 'accountBalance'"
    namespace = params.get("namespace") or ""
    if not namespace:
        return "assemble-genesis: missing required param 'namespace'"
    names = [n.get("name", "") for n in params.get("nodes") or ()]
    if not names:
        return "assemble-genesis: 'nodes' list is empty"
    for index, name in enumerate(names):
        if not name:
            return f"assemble-genesis: nodes[{index}] missing required field 'name'"
    gentxs, peers = [], []
    for name in names:
        gentx = node.bucket.get(f"{chain_id}/{name}/gentx.json")
        if gentx is None:
            return _missing(task, f"{chain_id}/{name}/gentx.json")
        identity = node.bucket.get(f"{chain_id}/{name}/identity.json") or {}
        gentxs.append(gentx)
        peers.append(peer_of(identity.get("node_key", {}).get("id", ""), name, namespace))
    genesis = {
        "chain_id": chain_id,
        "validators": [
            {"name": g["moniker"], "address": g["validatorAddress"], "power": g["stakingAmount"]}
            for g in gentxs
        ],
        "accounts": [
            {"address": g["validatorAddress"], "balance": params.get("accountBalance") or ""}
            for g in gentxs
        ],
        "gentxs": gentxs,
        "app_state": app_state,
    }
    node.bucket.put(f"{chain_id}/genesis.json", genesis)
    node.bucket.put(f"{chain_id}/peers.json", peers)
    return None


def _assemble_and_upload(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    return _assemble(node, "assemble-and-upload-genesis", _chain(node), params, {})


def _assemble_fork(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    task = "assemble-genesis-fork"
    source, chain_id = params.get("sourceChainId") or "", params.get("chainId") or ""
    if not source or not chain_id:
        return f"{task}: sourceChainId and chainId are required"
    exported = node.bucket.get(f"{source}/exported-state.json")
    if exported is None:
        return _missing(task, f"{source}/exported-state.json")
    # The source chain's validators are stripped; its application state is kept.
    return _assemble(node, task, chain_id, params, exported.get("app_state"))


def _export_state(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    height, chain_id, key = params.get("height"), params.get("chainId"), params.get("s3Key")
    if not isinstance(height, int) or height <= 0 or not chain_id or not key:
        return "export-state: height > 0, chainId and s3Key are required"
    node.bucket.put(
        str(key),
        {
            "chain_id": chain_id,
            "initial_height": height + 1,
            "app_state": {"exportedFrom": chain_id, "height": height},
            "validators": [{"name": f"{chain_id}-validator"}],
        },
    )
    return None


def _configure_genesis(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    chain_id = _chain(node)
    if chain_id in EMBEDDED_CHAINS:
        return None  # seictl writes the genesis it carries, never reading the bucket
    key = f"{chain_id}/genesis.json"
    ceremony = "gentx" in node.home or node.bucket.in_ceremony(chain_id)
    if ceremony and key not in node.bucket.objects:
        return _missing("configure-genesis", key)
    if key in node.bucket.objects:
        node.home["genesis"] = node.bucket.json(key)
    return None


def _set_genesis_peers(node: SimulatedNode, params: Mapping[str, Any]) -> str | None:
    key = f"{_chain(node)}/peers.json"
    peers = node.bucket.get(key)
    if peers is None:
        return _missing("set-genesis-peers", key)
    if node.node_id is None:
        return "set-genesis-peers: node_key.json not found"
    node.persistent_peers = [p for p in peers if not p.startswith(f"{node.node_id}@")]
    return None


CEREMONY_EFFECTS: Final[Mapping[str, Effect]] = {
    "generate-gentx": _generate_gentx,
    "upload-genesis-artifacts": _upload_genesis_artifacts,
    "assemble-and-upload-genesis": _assemble_and_upload,
    "assemble-genesis-fork": _assemble_fork,
    "export-state": _export_state,
    "configure-genesis": _configure_genesis,
    "set-genesis-peers": _set_genesis_peers,
}
