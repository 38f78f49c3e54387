"""One spec violation at a time, applied to a valid spec (tests.badinput.manifests).

A :class:`Violation` carries the field the API server must blame (its ``details.causes[].field``
and the ``<field>: `` prefix of its message) and a fragment of the message, so every rejection
is checked for naming the offending field, not only for being a 422.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from api.v1alpha1.seinode_types import GO_SPACE

from .manifests import INT32_MAX, MODES, Spec, mode, nonempty_text, peer_source, snapshot_source

MODE = "exactly one of fullNode, archive, replayer, or validator must be set"
REPLAYER_PEERS = "peers is required when replayer mode is set"
PEER_SOURCE = "exactly one of ec2Tags, static, or label must be set"
SNAPSHOT_SOURCE = "exactly one of s3 or stateSync must be set"
HARD_FORK = "hardFork strategy requires haltHeight > 0"
REQUIRED = "Required value"
MIN_LENGTH = "should be at least 1 chars long"
MIN_ITEMS = "should have at least 1 items"
TYPE = "must be of type"


@dataclass(frozen=True)
class Violation:
    name: str
    spec: Spec
    field: str  # as the API server names it, e.g. spec.peers[0]
    message: str

    def under(self, prefix: str) -> Violation:
        """The same violation inside a SeiNodeDeployment's ``spec.template.spec``."""
        return Violation(
            self.name, self.spec, prefix + self.field.removeprefix("spec"), self.message
        )


def _mode_of(spec: Spec) -> str:
    return next(m for m in MODES if m in spec)


def _set(spec: Spec, path: tuple[str | int, ...], value: Any) -> Spec:
    out = copy.deepcopy(spec)
    target: Any = out
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[path[-1]] = value
    return out


def _drop(spec: Spec, key: str) -> Spec:
    return {k: v for k, v in spec.items() if k != key}


NodeMutation = Callable[[st.DrawFn, Spec], Violation]


def _required_string(field: str) -> NodeMutation:
    def mutate(draw: st.DrawFn, spec: Spec) -> Violation:
        if draw(st.booleans()):
            return Violation(f"no-{field}", _drop(spec, field), f"spec.{field}", REQUIRED)
        return Violation(f"empty-{field}", {**spec, field: ""}, f"spec.{field}", MIN_LENGTH)

    return mutate


def _long_image(draw: st.DrawFn, spec: Spec) -> Violation:
    image = "i" * draw(st.integers(513, 600))
    return Violation("long-image", {**spec, "image": image}, "spec.image", "512")


def _image_space(draw: st.DrawFn, spec: Spec) -> Violation:
    space = st.text(st.sampled_from(GO_SPACE), min_size=1, max_size=2)
    head, tail = draw(st.sampled_from([(True, False), (False, True), (True, True)]))
    image = (draw(space) if head else "") + spec["image"] + (draw(space) if tail else "")
    message = "image must not have leading or trailing whitespace"
    return Violation("image-space", {**spec, "image": image}, "spec.image", message)


def _mode_count(draw: st.DrawFn, spec: Spec) -> Violation:
    current = _mode_of(spec)
    if draw(st.booleans()):
        return Violation("no-mode", _drop(spec, current), "spec", MODE)
    others = [m for m in MODES if m != current]
    extra = draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
    out = copy.deepcopy(spec)
    for name in extra:
        out[name] = draw(mode(name))
    # A replayer among them must not add the peers violation to the mode one.
    out.setdefault("peers", [{"static": {"addresses": ["id@peer:26656"]}}])
    return Violation("two-modes", out, "spec", MODE)


def _replayer_without_peers(draw: st.DrawFn, spec: Spec) -> Violation:
    out = _drop(_drop(spec, _mode_of(spec)), "peers")
    out["replayer"] = draw(mode("replayer"))
    if draw(st.booleans()):
        out["peers"] = []
    return Violation("replayer-no-peers", out, "spec", REPLAYER_PEERS)


def _peer_source_count(draw: st.DrawFn, spec: Spec) -> Violation:
    peers = list(spec.get("peers") or [])
    index = draw(st.integers(0, len(peers)))
    if draw(st.booleans()):
        bad: Spec = {}
    else:
        bad = {}
        while len(bad) < 2:
            bad.update(draw(peer_source()))
    peers.insert(index, bad)
    return Violation(
        "peer-source-count", {**spec, "peers": peers}, f"spec.peers[{index}]", PEER_SOURCE
    )


def _peer_field(draw: st.DrawFn, spec: Spec) -> Violation:
    peers = list(spec.get("peers") or [])
    index = len(peers)
    kind, bad, field, message = draw(
        st.sampled_from(
            [
                ("ec2Tags", {"region": "", "tags": {"a": "b"}}, "ec2Tags.region", MIN_LENGTH),
                ("ec2Tags", {"tags": {"a": "b"}}, "ec2Tags.region", REQUIRED),
                ("ec2Tags", {"region": "r", "tags": {}}, "ec2Tags.tags", "at least 1 properties"),
                ("static", {"addresses": []}, "static.addresses", MIN_ITEMS),
                ("static", {}, "static.addresses", REQUIRED),
                ("label", {"selector": {}}, "label.selector", "at least 1 properties"),
                ("label", {"namespace": "x"}, "label.selector", REQUIRED),
            ]
        )
    )
    peers.append({kind: bad})
    return Violation(
        f"peer-{field}", {**spec, "peers": peers}, f"spec.peers[{index}].{field}", message
    )


def _with_snapshot_mode(draw: st.DrawFn, spec: Spec) -> tuple[Spec, str]:
    """``spec`` in a mode with a snapshot field (the same mode if it has one)."""
    current = _mode_of(spec)
    if current in ("fullNode", "validator", "replayer"):
        return copy.deepcopy(spec), current
    target = draw(st.sampled_from(["fullNode", "validator"]))
    out = _drop(spec, current)
    out[target] = draw(mode(target))
    return out, target


def _snapshot_source_count(draw: st.DrawFn, spec: Spec) -> Violation:
    out, where = _with_snapshot_mode(draw, spec)
    snapshot = draw(snapshot_source())
    snapshot.pop("s3", None)
    snapshot.pop("stateSync", None)
    if draw(st.booleans()):
        snapshot.update({"s3": {"targetHeight": 1}, "stateSync": {}})
    out[where] = {**out[where], "snapshot": snapshot}
    return Violation("snapshot-source-count", out, f"spec.{where}.snapshot", SNAPSHOT_SOURCE)


def _target_height(draw: st.DrawFn, spec: Spec) -> Violation:
    out, where = _with_snapshot_mode(draw, spec)
    height = draw(st.integers(-(2**63), 0))
    out[where] = {**out[where], "snapshot": {"s3": {"targetHeight": height}}}
    field = f"spec.{where}.snapshot.s3.targetHeight"
    return Violation("target-height", out, field, "greater than or equal to 1")


def _keep_recent(draw: st.DrawFn, spec: Spec) -> Violation:
    where = draw(st.sampled_from(["fullNode", "archive"]))
    out = _drop(spec, _mode_of(spec))
    keep = draw(st.integers(-(2**31), 1))
    out[where] = {"snapshotGeneration": {"keepRecent": keep}}
    field = f"spec.{where}.snapshotGeneration.keepRecent"
    return Violation("keep-recent", out, field, "greater than or equal to 2")


def _entrypoint(draw: st.DrawFn, spec: Spec) -> Violation:
    bad, field, message = draw(
        st.sampled_from(
            [
                ({"command": []}, "command", MIN_ITEMS),
                ({"args": ["a"]}, "command", REQUIRED),
                ({"command": ["x"] * 17}, "command", "16"),
                ({"command": ["x"], "args": ["a"] * 65}, "args", "64"),
            ]
        )
    )
    return Violation(
        f"entrypoint-{field}", {**spec, "entrypoint": bad}, f"spec.entrypoint.{field}", message
    )


def _result_export(draw: st.DrawFn, spec: Spec) -> Violation:
    out = _drop(_drop(spec, _mode_of(spec)), "peers")
    out["peers"] = [{"static": {"addresses": ["id@peer:26656"]}}]
    export = draw(st.sampled_from([{}, {"canonicalRpc": ""}]))
    out["replayer"] = {**draw(mode("replayer")), "resultExport": export}
    message = REQUIRED if not export else MIN_LENGTH
    return Violation("result-export", out, "spec.replayer.resultExport.canonicalRpc", message)


def _ceremony(draw: st.DrawFn, spec: Spec) -> Violation:
    out = _drop(spec, _mode_of(spec))
    ceremony: Spec = {"chainId": "c", "stakingAmount": "1", "accountBalance": "1", "index": 0}
    field = draw(st.sampled_from(["chainId", "stakingAmount", "accountBalance", "index"]))
    if draw(st.booleans()):
        del ceremony[field]
        message = REQUIRED
    elif field == "index":
        ceremony["index"] = draw(st.integers(-(2**31), -1))
        message = "greater than or equal to 0"
    else:
        ceremony[field] = ""
        message = MIN_LENGTH
    out["validator"] = {"genesisCeremony": ceremony}
    return Violation(f"ceremony-{field}", out, f"spec.validator.genesisCeremony.{field}", message)


def _wrong_type(draw: st.DrawFn, spec: Spec) -> Violation:
    path, value = draw(
        st.sampled_from(
            [
                (("chainId",), 7),
                (("image",), ["seid:v1"]),
                (("peers",), {"static": {"addresses": ["a"]}}),
                (("overrides", "evm.http_port"), 8545),
                (("podLabels", "app"), True),
                (("sidecar", "port"), "7777"),
                (("entrypoint",), ["seid"]),
            ]
        )
    )
    out = _set(spec, path, value)
    field = "spec." + ".".join(str(p) for p in path)
    return Violation(f"wrong-type-{path[0]}", out, field, TYPE)


def _sidecar_port(draw: st.DrawFn, spec: Spec) -> Violation:
    port = draw(st.one_of(st.integers(-(2**31), -1), st.integers(65536, INT32_MAX)))
    out = _set(spec, ("sidecar", "port"), port)
    message = "greater than or equal to 0" if port < 0 else "less than or equal to 65535"
    return Violation("sidecar-port", out, "spec.sidecar.port", message)


def _quantity(draw: st.DrawFn, spec: Spec) -> Violation:
    value = draw(st.sampled_from(["lots", "1.2.3", "Gi", "-", "1 Gi", "12KB"]))
    out = _set(spec, ("sidecar", "resources"), {"limits": {"cpu": value}})
    return Violation("quantity", out, "spec.sidecar.resources.limits.cpu", "should match")


NODE_MUTATIONS: tuple[NodeMutation, ...] = (
    _required_string("chainId"),
    _required_string("image"),
    _long_image,
    _image_space,
    _mode_count,
    _replayer_without_peers,
    _peer_source_count,
    _peer_field,
    _snapshot_source_count,
    _target_height,
    _keep_recent,
    _entrypoint,
    _result_export,
    _ceremony,
    _wrong_type,
    _sidecar_port,
    _quantity,
)


@st.composite
def node_violation(draw: st.DrawFn, valid: st.SearchStrategy[Spec]) -> Violation:
    mutate = draw(st.sampled_from(NODE_MUTATIONS))
    return mutate(draw, draw(valid))


def _replicas(draw: st.DrawFn, spec: Spec) -> Violation:
    if draw(st.booleans()):
        n = draw(st.integers(-(2**31), 0))
        return Violation(
            "replicas-low", {**spec, "replicas": n}, "spec.replicas", "greater than or equal to 1"
        )
    n = draw(st.integers(101, INT32_MAX))
    return Violation(
        "replicas-high", {**spec, "replicas": n}, "spec.replicas", "less than or equal to 100"
    )


def _group_required(draw: st.DrawFn, spec: Spec) -> Violation:
    field = draw(st.sampled_from(["template", "updateStrategy"]))
    return Violation(f"no-{field}", _drop(spec, field), f"spec.{field}", REQUIRED)


def _strategy(draw: st.DrawFn, spec: Spec) -> Violation:
    choice = draw(st.sampled_from(["type", "no-hard-fork", "halt-height"]))
    update: Spec
    if choice == "type":
        bad = draw(st.sampled_from(["Canary", "inplace", "", "Recreate"]))
        update = {"type": bad}
        return Violation(
            "strategy-type",
            {**spec, "updateStrategy": update},
            "spec.updateStrategy.type",
            "supported values",
        )
    if choice == "no-hard-fork":
        update = {"type": "HardFork"}
        return Violation(
            "hard-fork-no-halt",
            {**spec, "updateStrategy": update},
            "spec.updateStrategy",
            HARD_FORK,
        )
    height = draw(st.integers(-(2**63), 0))
    update = {
        "type": draw(st.sampled_from(["InPlace", "HardFork"])),
        "hardFork": {"haltHeight": height},
    }
    return Violation(
        "halt-height",
        {**spec, "updateStrategy": update},
        "spec.updateStrategy.hardFork.haltHeight",
        "greater than or equal to 1",
    )


def _group_enum_and_patterns(draw: st.DrawFn, spec: Spec) -> Violation:
    choice = draw(st.sampled_from(["deletion", "chain", "interval", "fork"]))
    if choice == "deletion":
        bad = draw(st.sampled_from(["Orphan", "delete", ""]))
        return Violation(
            "deletion-policy",
            {**spec, "deletionPolicy": bad},
            "spec.deletionPolicy",
            "supported values",
        )
    if choice == "chain":
        chain, message = draw(
            st.one_of(
                st.tuples(
                    st.sampled_from(["Sei_Devnet", "-a", "a-", "UP", "a.b", "a"]),
                    st.just("should match"),
                ),
                st.just(("a" * 65, "may not be more than 64")),
            )
        )
        return Violation(
            "genesis-chain-id",
            {**spec, "genesis": {"chainId": chain}},
            "spec.genesis.chainId",
            message,
        )
    if choice == "interval":
        interval = draw(st.sampled_from(["30sec", "1d", "s", "10", "1.5s"]))
        monitoring = {"serviceMonitor": {"interval": interval}}
        return Violation(
            "monitor-interval",
            {**spec, "monitoring": monitoring},
            "spec.monitoring.serviceMonitor.interval",
            "should match",
        )
    fork: Spec = {"sourceChainId": "a", "sourceImage": "i", "exportHeight": 1}
    field = draw(st.sampled_from(sorted(fork)))
    del fork[field]
    genesis = {"chainId": "c-1", "fork": fork}
    return Violation(
        f"fork-{field}", {**spec, "genesis": genesis}, f"spec.genesis.fork.{field}", REQUIRED
    )


GROUP_MUTATIONS = (_replicas, _group_required, _strategy, _group_enum_and_patterns)


@st.composite
def group_violation(draw: st.DrawFn, valid: st.SearchStrategy[Spec]) -> Violation:
    spec = draw(valid)
    if draw(st.booleans()):
        inner = draw(st.sampled_from(NODE_MUTATIONS))(draw, spec["template"]["spec"])
        template = {**spec["template"], "spec": inner.spec}
        return Violation(
            inner.name, {**spec, "template": template}, inner.field, inner.message
        ).under("spec.template.spec")
    return draw(st.sampled_from(GROUP_MUTATIONS))(draw, spec)


__all__ = ["Violation", "group_violation", "node_violation", "nonempty_text"]
