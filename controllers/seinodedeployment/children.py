"""Pure rules for a group's child SeiNodes (spec 4.6, 4.8, 4.9, 5.7; decisions F3, F4, F5).

Revisions. A child carries ``sei.io/revision`` in its labels and in ``spec.podLabels`` (so in its
pod template). The reference relabels every child to the group's generation on every generation
bump, which restarts every pod even for a replicas change (F4). Here the revision of a child
changes only when a rollout moves it to the rollout's entrant revision; steady-state syncing
never touches it, and new children get the revision their siblings have. Children written by
the reference keep their labels, so taking a group over restarts nothing.

Ownership of child fields (F5). Existing children are changed with JSON merge patches naming
only the keys we manage: system labels, the template's labels and annotations, and the spec
fields the reference syncs (image, entrypoint, sidecar, podLabels). Labels, annotations and pod
labels added by users or other tools are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from api.v1alpha1 import SeiNodeDeployment
from controller_runtime.client import merge_patch

GROUP_LABEL = "sei.io/nodedeployment"
ORDINAL_LABEL = "sei.io/nodedeployment-ordinal"
REVISION_LABEL = "sei.io/revision"
ROLE_LABEL = "sei.io/role"
EXPORTER_ROLE = "exporter"
MANAGED_BY_ANNOTATION = "sei.io/managed-by"
MANAGED_BY = "seinodedeployment"

Object = dict[str, Any]


def child_name(group_name: str, ordinal: int) -> str:
    return f"{group_name}-{ordinal}"


def go_json_string_map(values: Mapping[str, str]) -> str:
    """Go ``encoding/json`` of a ``map[string]string``: sorted keys, compact, and the
    HTML-unsafe characters ``<``, ``>``, ``&`` escaped (the reference stores this text)."""
    text = json.dumps(dict(sorted(values.items())), separators=(",", ":"), ensure_ascii=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def owner_reference(group: SeiNodeDeployment) -> Object:
    return {
        "apiVersion": group.api_version,
        "kind": group.kind,
        "name": group.metadata.name,
        "uid": group.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(obj: Mapping[str, Any], group: SeiNodeDeployment) -> bool:
    return any(
        ref.get("controller") and ref.get("uid") == group.metadata.uid
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or ()
    )


def owned_children(group: SeiNodeDeployment, seinodes: Iterable[Object]) -> list[Object]:
    """The group's children (labelled for it AND controlled by it), sorted by name."""
    name = group.metadata.name
    owned = [
        node
        for node in seinodes
        if ((node.get("metadata") or {}).get("labels") or {}).get(GROUP_LABEL) == name
        and is_controlled_by(node, group)
    ]
    return sorted(owned, key=lambda node: node["metadata"]["name"])


def is_exporter(node: Mapping[str, Any]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get(ROLE_LABEL) == EXPORTER_ROLE


def ordinal_of(node: Mapping[str, Any]) -> int | None:
    value = ((node.get("metadata") or {}).get("labels") or {}).get(ORDINAL_LABEL)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def revision_of(node: Mapping[str, Any]) -> str | None:
    labels = (node.get("metadata") or {}).get("labels") or {}
    revision = labels.get(REVISION_LABEL)
    return str(revision) if revision else None


def current_revision(group: SeiNodeDeployment, children: Iterable[Object]) -> str:
    """The revision new children get: that of the lowest-ordinal replica child, else the
    group's generation (a new group, or one whose children are all gone)."""
    replicas = sorted(
        (ordinal, revision)
        for node in children
        if (ordinal := ordinal_of(node)) is not None and (revision := revision_of(node))
    )
    if replicas:
        return replicas[0][1]
    return str(group.metadata.generation or 0)


def desired_child(
    group: SeiNodeDeployment, ordinal: int, revision: str, name: str | None = None
) -> Object:
    """The child SeiNode for ``ordinal`` as created (spec 4.8 ``generateSeiNode``); ``name``
    defaults to ``<group>-<ordinal>`` (see generations.py for names across generations)."""
    template = group.spec.template
    group_name = group.metadata.name or ""
    labels = dict((template.metadata.labels if template.metadata else None) or {})
    labels.update(_system_labels(group_name, ordinal, revision))
    spec = template.spec.model_copy(deep=True).to_dict()
    pod_labels = dict(spec.get("podLabels") or {})
    pod_labels.update({GROUP_LABEL: group_name, REVISION_LABEL: revision})
    spec["podLabels"] = pod_labels
    genesis = group.spec.genesis
    if genesis is not None and "validator" in spec:
        spec["chainId"] = spec.get("chainId") or genesis.chain_id
        validator = dict(spec.get("validator") or {})
        validator["genesisCeremony"] = {
            "chainId": genesis.chain_id,
            "stakingAmount": genesis.staking_amount,
            "accountBalance": genesis.account_balance,
            "genesisParams": go_json_string_map(genesis.overrides) if genesis.overrides else "",
            "index": ordinal,
        }
        spec["validator"] = validator
    metadata: Object = {
        "name": name or child_name(group_name, ordinal),
        "namespace": group.metadata.namespace,
        "labels": labels,
        "ownerReferences": [owner_reference(group)],
    }
    annotations = template.metadata.annotations if template.metadata else None
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": group.api_version, "kind": "SeiNode", "metadata": metadata, "spec": spec}


def _system_labels(group_name: str, ordinal: int, revision: str) -> dict[str, str]:
    return {GROUP_LABEL: group_name, ORDINAL_LABEL: str(ordinal), REVISION_LABEL: revision}


def child_sync_patch(
    group: SeiNodeDeployment,
    existing: Object,
    ordinal: int,
    revision: str | None = None,
    rollout_fields: bool = True,
) -> Object:
    """The merge patch that brings an existing child in line with the template (empty: in
    line already). ``revision``: move the child to this revision (a rollout does); None keeps
    the child's own (steady state never restarts pods for a revision change, F4).
    ``rollout_fields=False`` leaves the hashed fields (image, entrypoint, sidecar image) as
    they are: after a failed rollout its template must reach no child outside a plan."""
    keep = revision or revision_of(existing) or current_revision(group, [existing])
    desired = desired_child(group, ordinal, keep)
    meta = existing.get("metadata") or {}
    spec = existing.get("spec") or {}
    patch: Object = {}
    labels = _changed_keys(meta.get("labels") or {}, desired["metadata"]["labels"])
    annotations = _changed_keys(
        meta.get("annotations") or {}, desired["metadata"].get("annotations") or {}
    )
    if labels or annotations:
        patch["metadata"] = {
            key: value for key, value in (("labels", labels), ("annotations", annotations)) if value
        }
    spec_patch: Object = {}
    want = desired["spec"]
    if not rollout_fields:
        sidecar, want_sidecar = spec.get("sidecar"), want.get("sidecar")
        port = (want_sidecar or {}).get("port", 7777)
        if sidecar is not None and want_sidecar is not None and sidecar.get("port", 7777) != port:
            spec_patch["sidecar"] = {"port": port}
    elif spec.get("image") != want.get("image"):
        spec_patch["image"] = want.get("image")
    if rollout_fields:
        _sync_rollout_fields(spec, want, spec_patch)
    pod_labels = _changed_keys(spec.get("podLabels") or {}, want.get("podLabels") or {})
    if pod_labels:
        spec_patch["podLabels"] = pod_labels
    if spec_patch:
        patch["spec"] = spec_patch
    return patch


def _sync_rollout_fields(spec: Object, want: Object, spec_patch: Object) -> None:
    """Entrypoint and sidecar, replaced wholesale where they differ (spec 4.8)."""
    if spec.get("entrypoint") != want.get("entrypoint"):
        # Replaced wholesale: a key the template dropped (e.g. args) is removed, not kept.
        spec_patch["entrypoint"] = merge_patch(spec.get("entrypoint"), want.get("entrypoint"))
    sidecar, want_sidecar = spec.get("sidecar"), want.get("sidecar")
    if want_sidecar is None and sidecar is not None:
        spec_patch["sidecar"] = None
    elif want_sidecar is not None and (
        sidecar is None
        or sidecar.get("image") != want_sidecar.get("image")
        or sidecar.get("port", 7777) != want_sidecar.get("port", 7777)
    ):
        spec_patch["sidecar"] = (
            merge_patch(sidecar, want_sidecar) if sidecar is not None else want_sidecar
        )


def _changed_keys(current: Mapping[str, str], desired: Mapping[str, str]) -> dict[str, str]:
    """Keys of ``desired`` whose value differs in ``current`` (other keys are not ours)."""
    return {key: value for key, value in desired.items() if current.get(key) != value}


def scale_down_victims(group: SeiNodeDeployment, children: Iterable[Object]) -> list[Object]:
    """Children with an ordinal at or above ``replicas`` (spec 4.9); nodes without an ordinal
    label (the fork exporter) are never scaled down."""
    replicas = group.spec.replicas
    if replicas <= 0:
        return []
    return [
        node
        for node in children
        if (ordinal := ordinal_of(node)) is not None and ordinal >= replicas
    ]


def overlay(children: Iterable[Object], written: Mapping[str, Object | None]) -> list[Object]:
    """The listed children with a pass's own writes applied (None: deleted), sorted by name:
    a re-listing from the cache may not show what the pass itself just wrote."""
    by_name = {c["metadata"]["name"]: c for c in children}
    for name, obj in written.items():
        if obj is None:
            by_name.pop(name, None)
        elif name in by_name:
            by_name[name] = obj
    return sorted(by_name.values(), key=lambda c: c["metadata"]["name"])
