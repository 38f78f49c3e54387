"""Hypothesis strategies of SeiNode and SeiNodeDeployment specs the spec calls valid (3.1, 4.1).

Every strategy here draws only objects the API server must accept: drawing something the spec
calls invalid would be a bug of this module, not of the CRD. Invalid objects are derived from
these by :mod:`tests.badinput.mutations`, one violation at a time.

Free-form strings (chain IDs, images, override values) are drawn from all of Unicode except
surrogates (which JSON cannot carry) so that the CRD, the models and the reconcilers meet the
text a user can really send, not only tidy ASCII.
"""

from __future__ import annotations

import string
from typing import Any, Literal

from hypothesis import strategies as st

from api.v1alpha1.seinode_types import GO_SPACE

GROUP_VERSION = "sei.io/v1alpha1"
MODES = ("fullNode", "archive", "replayer", "validator")
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

Spec = dict[str, Any]
NOT_JSON: list[Literal["Cs"]] = ["Cs"]  # surrogates: JSON text cannot carry them alone

# Any text JSON can carry.
text = st.text(st.characters(exclude_categories=NOT_JSON), max_size=24)
nonempty_text = st.text(st.characters(exclude_categories=NOT_JSON), min_size=1, max_size=24)
# Label keys and values the API server takes on the children (podLabels are copied to the
# StatefulSet, pod template, PVC and Service): `name` or `prefix/name`, values <= 63 chars.
_label_name = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,14}[a-z0-9])?\Z")
label_key = st.one_of(_label_name, st.builds(lambda p, n: f"{p}.io/{n}", _label_name, _label_name))
label_value = st.one_of(st.just(""), _label_name)
labels = st.dictionaries(label_key, label_value, max_size=3)
# Maps the schema takes (string to string) that are no labels: the API server accepts them in
# a SeiNode or group but refuses the children they are copied to (about one draw in four).
maybe_labels = st.one_of(labels, labels, labels, st.dictionaries(nonempty_text, text, max_size=2))
quantity = st.one_of(
    st.integers(0, 64),
    st.sampled_from(["100m", "1", "1.5", "2Gi", "512Mi", "1e3", "+.5", "4k"]),
)


# Images: any text without leading or trailing whitespace as Go counts it (the CRD's trim()),
# edged with characters that look like spaces to other definitions (Python's isspace counts
# U+001C; U+200B and U+FEFF are invisible) so a disagreement shows.
_edge = st.sampled_from(["", "\x1c", "\u200b", "\ufeff", "\x00", "x"])
image = st.builds(
    lambda head, core, tail: head + core + tail,
    _edge,
    st.text(st.characters(exclude_categories=NOT_JSON), min_size=1, max_size=500),
    _edge,
).filter(lambda s: s == s.strip(GO_SPACE))


def _drop_none(**fields: Any) -> Spec:
    return {k: v for k, v in fields.items() if v is not None}


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def snapshot_source(draw: st.DrawFn) -> Spec:
    """Exactly one of s3 and stateSync, plus the optional tuning fields."""
    source: Spec = (
        {"s3": {"targetHeight": draw(st.integers(1, INT64_MAX))}}
        if draw(st.booleans())
        else {"stateSync": {}}
    )
    extra = _drop_none(
        trustPeriod=draw(_optional(st.sampled_from(["9999h0m0s", "168h", "1h30m"]))),
        backfillBlocks=draw(_optional(st.integers(-5, INT64_MAX))),
        bootstrapImage=draw(_optional(nonempty_text)),
    )
    return {**source, **extra}


@st.composite
def peer_source(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["ec2Tags", "static", "label"]))
    if kind == "ec2Tags":
        tags = draw(st.dictionaries(nonempty_text, text, min_size=1, max_size=3))
        return {"ec2Tags": {"region": draw(nonempty_text), "tags": tags}}
    if kind == "static":
        addresses = draw(st.lists(nonempty_text, min_size=1, max_size=3))
        return {"static": {"addresses": addresses}}
    selector = draw(st.dictionaries(label_key, label_value, min_size=1, max_size=2))
    # The namespace to search is the node's own unless named (a name that does not exist is
    # valid: the selector simply matches nothing there).
    return {"label": _drop_none(selector=selector, namespace=draw(_optional(_label_name)))}


def _snapshot_generation() -> st.SearchStrategy[Spec]:
    return st.builds(lambda n: {"keepRecent": n}, st.integers(2, INT32_MAX))


@st.composite
def mode(draw: st.DrawFn, name: str) -> Spec:
    """The body of one mode (the replayer's peer requirement is the caller's)."""
    if name == "fullNode":
        return _drop_none(
            snapshot=draw(_optional(snapshot_source())),
            snapshotGeneration=draw(_optional(_snapshot_generation())),
        )
    if name == "archive":
        return _drop_none(snapshotGeneration=draw(_optional(_snapshot_generation())))
    if name == "replayer":
        export = draw(_optional(st.builds(lambda rpc: {"canonicalRpc": rpc}, nonempty_text)))
        return _drop_none(snapshot=draw(snapshot_source()), resultExport=export)
    ceremony = draw(
        _optional(
            st.builds(
                lambda chain, stake, balance, params, index: _drop_none(
                    chainId=chain,
                    stakingAmount=stake,
                    accountBalance=balance,
                    genesisParams=params,
                    index=index,
                ),
                nonempty_text,
                nonempty_text,
                nonempty_text,
                _optional(st.just('{"gov":{"voting_period":"30s"}}')),
                st.integers(0, INT32_MAX),
            )
        )
    )
    return _drop_none(snapshot=draw(_optional(snapshot_source())), genesisCeremony=ceremony)


@st.composite
def node_spec(draw: st.DrawFn, modes: tuple[str, ...] = MODES) -> Spec:
    """A SeiNode spec valid under every rule of spec 3.1."""
    chosen = draw(st.sampled_from(modes))
    min_peers = 1 if chosen == "replayer" else 0
    peers = draw(st.lists(peer_source(), min_size=min_peers, max_size=3))
    entrypoint = draw(
        _optional(
            st.builds(
                lambda command, args: _drop_none(command=command, args=args),
                st.lists(text, min_size=1, max_size=16),
                _optional(st.lists(text, max_size=64)),
            )
        )
    )
    resources = st.builds(
        lambda limits, requests: _drop_none(limits=limits, requests=requests),
        _optional(st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2)),
        _optional(st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2)),
    )
    sidecar = st.builds(
        lambda image, port, res: _drop_none(image=image, port=port, resources=res),
        _optional(nonempty_text),
        _optional(st.integers(0, 65535)),
        _optional(resources),
    )
    return _drop_none(
        chainId=draw(nonempty_text),
        image=draw(image),
        peers=peers or draw(_optional(st.just([]))),
        entrypoint=entrypoint,
        overrides=draw(_optional(st.dictionaries(nonempty_text, text, max_size=3))),
        sidecar=draw(_optional(sidecar)),
        podLabels=draw(_optional(maybe_labels)),
        **{chosen: draw(mode(chosen))},
    )


@st.composite
def group_spec(draw: st.DrawFn, template: st.SearchStrategy[Spec] | None = None) -> Spec:
    """A SeiNodeDeployment spec valid under every rule of spec 4.1."""
    strategy = draw(st.sampled_from(["InPlace", "BlueGreen", "HardFork"]))
    update: Spec = {"type": strategy}
    if strategy == "HardFork" or draw(st.booleans()):
        update["hardFork"] = {"haltHeight": draw(st.integers(1, INT64_MAX))}
    genesis = st.builds(
        lambda chain, stake, overrides: _drop_none(
            chainId=chain, stakingAmount=stake, overrides=overrides
        ),
        st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}[a-z0-9]\Z"),
        _optional(st.sampled_from(["10000000usei", "5usei"])),
        _optional(st.dictionaries(nonempty_text, text, max_size=2)),
    )
    monitor = st.builds(
        lambda interval, lbls: {"serviceMonitor": _drop_none(interval=interval, labels=lbls)},
        _optional(st.from_regex(r"\A[0-9]{1,4}(ms|s|m|h)\Z")),
        _optional(labels),
    )
    metadata = st.builds(
        lambda lbls, notes: _drop_none(labels=lbls, annotations=notes),
        _optional(maybe_labels),
        _optional(st.dictionaries(label_key, text, max_size=2)),
    )
    child: Spec = {"spec": draw(template if template is not None else node_spec())}
    if (meta := draw(_optional(metadata))) is not None:
        child["metadata"] = meta
    return _drop_none(
        replicas=draw(_optional(st.integers(1, 100))),
        template=child,
        updateStrategy=update,
        deletionPolicy=draw(_optional(st.sampled_from(["Delete", "Retain"]))),
        genesis=draw(_optional(genesis)),
        networking=draw(_optional(st.just({}))),
        monitoring=draw(_optional(monitor)),
    )


def manifest(kind: str, name: str, spec: Spec, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": GROUP_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


# DNS-1035 labels short enough for every child name the operator derives from them.
object_name = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12).map(
    lambda s: f"x{s}"
)
