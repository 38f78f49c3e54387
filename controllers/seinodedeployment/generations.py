"""Pure rules of the group's generations of children: BlueGreen and HardFork entrants, which
children serve, and how children are named across generations (spec 4.6, 5.7, 6.6, 8.7;
decisions F3, F12).

Naming across generations. The entrants of a rollout at generation G are ``<group>-g<G>-<i>``
(spec 5.7). After switch-traffic they ARE the group (F12): the incumbents are torn down and no
``<group>-<i>`` is recreated, because the group finds the child of ordinal ``i`` by its ordinal
label, never by its name. Scale-down, a later InPlace rollout (which targets children by name,
as recorded at detection) and a later BlueGreen therefore work on them unchanged. A child
created later (scale-up, or a replica deleted by hand) is named like its siblings: ``<stem>-<i>``
with the stem (``<group>`` or ``<group>-g<G>``) of the lowest-ordinal serving child, so a fleet
keeps one naming scheme.

Serving children. Without a BlueGreen/HardFork rollout every replica child serves. During one,
the incumbents serve until switch-traffic sets ``incumbentRevision := entrantRevision``; from
then on the entrants (``rollout.entrantNodes``) serve. Serving children are what status counts,
what scaling and syncing act on and what the external Service selects (by their revision).

Detached children. A failed BlueGreen/HardFork rollout deletes nothing (its entrants are kept
for inspection) but takes its non-serving nodes out of the group by removing their ordinal
label: no ordinal means no syncing, no scaling and no traffic. They are deleted when the next
rollout starts, or by the operator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api.v1alpha1 import RolloutStatus, SeiNodeDeployment, UpdateStrategyType
from controllers.seinodedeployment.children import (
    GROUP_LABEL,
    ORDINAL_LABEL,
    REVISION_LABEL,
    desired_child,
    is_exporter,
    ordinal_of,
    revision_of,
)

Object = dict[str, Any]

SWAPPING_STRATEGIES = frozenset({UpdateStrategyType.BLUE_GREEN, UpdateStrategyType.HARD_FORK})


def entrant_name(group_name: str, generation: int, ordinal: int) -> str:
    return f"{group_name}-g{generation}-{ordinal}"


def entrant_names(group: SeiNodeDeployment) -> list[str]:
    """The entrants of a rollout planned at the group's current generation (spec 6.6)."""
    name, generation = group.metadata.name or "", group.metadata.generation or 0
    return [entrant_name(name, generation, i) for i in range(group.spec.replicas)]


def entrant_child(group: SeiNodeDeployment, name: str, ordinal: int, revision: str) -> Object:
    """An entrant SeiNode as ``create-entrant-nodes`` creates it (spec 5.7): only the system
    labels, no template annotations, no genesis ceremony (the chain exists already)."""
    node = desired_child(group, ordinal, revision, name=name)
    meta = node["metadata"]
    meta["labels"] = {
        key: value
        for key, value in meta["labels"].items()
        if key in (GROUP_LABEL, ORDINAL_LABEL, REVISION_LABEL)
    }
    meta.pop("annotations", None)
    validator = node["spec"].get("validator")
    if isinstance(validator, dict):
        validator.pop("genesisCeremony", None)
    return node


def swaps(rollout: RolloutStatus | None) -> bool:
    """The rollout brings up a new set of nodes (BlueGreen, HardFork)."""
    return rollout is not None and rollout.strategy in SWAPPING_STRATEGIES


def switched(rollout: RolloutStatus | None) -> bool:
    """switch-traffic has run: the entrants serve."""
    return (
        rollout is not None
        and swaps(rollout)
        and bool(rollout.entrant_nodes)
        and bool(rollout.entrant_revision)
        and rollout.incumbent_revision == rollout.entrant_revision
    )


def is_detached(node: Mapping[str, Any]) -> bool:
    """Left out of the group by a failed rollout (no ordinal; the exporter has none either)."""
    return ordinal_of(node) is None and not is_exporter(node)


def serving(group: SeiNodeDeployment, children: Iterable[Object]) -> list[Object]:
    """The children that are the group now, exporter included (see the module doc)."""
    rollout = group.status.rollout
    attached = [c for c in children if not is_detached(c)]
    if not swaps(rollout):
        return attached
    assert rollout is not None
    entrants = set(rollout.entrant_nodes or ())
    if switched(rollout):
        return [c for c in attached if is_exporter(c) or c["metadata"]["name"] in entrants]
    return [c for c in attached if c["metadata"]["name"] not in entrants]


def rollout_leftovers(
    rollout: RolloutStatus | None, children: Iterable[Object], serving_names: Iterable[str]
) -> list[Object]:
    """Children a (failed or superseded) rollout created or replaced that do not serve."""
    if rollout is None:
        return []
    involved = set(rollout.incumbent_nodes or ()) | set(rollout.entrant_nodes or ())
    keep = set(serving_names)
    return [c for c in children if c["metadata"]["name"] in involved - keep and not is_exporter(c)]


def service_revision(group: SeiNodeDeployment, children: Sequence[Object]) -> str | None:
    """The revision the external Service selects besides the group label, or None (the group
    label alone, spec 4.6 without a rollout, and F3 during an InPlace rollout, whose children
    change revision one by one). During a BlueGreen/HardFork rollout: the active revision (the
    incumbents', then the entrants' after switch-traffic). After a failed one, while its
    detached nodes exist: the revision the serving children share."""
    rollout = group.status.rollout
    if swaps(rollout):
        assert rollout is not None
        return rollout.incumbent_revision or None
    if rollout is not None or not any(is_detached(c) for c in children):
        return None
    revisions = {revision_of(c) for c in serving(group, children) if not is_exporter(c)}
    return revisions.pop() if len(revisions) == 1 else None


_STEM = re.compile(r"^(?P<stem>.+?-g\d+)-(?P<ordinal>\d+)$")


def child_stem(group_name: str, siblings: Iterable[Object]) -> str:
    """The name stem new children get: that of the lowest-ordinal sibling, if it was named
    as an entrant of this group; else the group name."""
    ranked = sorted(
        (ordinal, c["metadata"]["name"])
        for c in siblings
        if (ordinal := ordinal_of(c)) is not None and not is_exporter(c)
    )
    if not ranked:
        return group_name
    ordinal, name = ranked[0]
    match = _STEM.match(name)
    if match and match["ordinal"] == str(ordinal) and match["stem"].startswith(f"{group_name}-g"):
        suffix = match["stem"][len(group_name) + 2 :]
        if suffix.isdigit():
            return match["stem"]
    return group_name
