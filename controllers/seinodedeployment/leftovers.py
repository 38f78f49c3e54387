"""What BlueGreen/HardFork rollouts leave behind, and when it goes (decisions F12; see
generations.py for the serving set).

- A failed rollout deletes nothing: its nodes that do not serve are detached (their ordinal
  label removed), which takes them out of syncing, scaling and traffic but keeps them for
  inspection. The serving nodes are not touched.
- When a rollout starts, detached nodes and the non-serving nodes of the rollout it supersedes
  are deleted: nothing depends on them any more. This runs before the pass's status write, so
  a crash repeats it; deleting or detaching an absent node is a no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import structlog

from api.v1alpha1 import RolloutStatus, SeiNodeDeployment
from controller_runtime.client import Object, PatchType
from controller_runtime.client.errors import NotFoundError
from controller_runtime.manager import CachedClient
from controllers.seinodedeployment import generations as gen
from controllers.seinodedeployment.children import ORDINAL_LABEL
from controllers.seinodedeployment.rollout import Event

log = structlog.get_logger("seinodedeployment")


class Leftovers:
    def __init__(
        self, client: CachedClient, emit: Callable[[SeiNodeDeployment, Event], None]
    ) -> None:
        self.client = client
        self.emit = emit

    async def prune(
        self,
        group: SeiNodeDeployment,
        children: list[Object],
        previous: RolloutStatus | None,
        serving_names: list[str],
        written: dict[str, Object | None],
    ) -> None:
        """A rollout starts (``previous``: the rollout it supersedes, if any). Deleted nodes
        are recorded in ``written`` as None (the cache may show them a while longer)."""
        superseded = {
            c["metadata"]["name"] for c in gen.rollout_leftovers(previous, children, serving_names)
        }
        for child in children:
            name = child["metadata"]["name"]
            if not (gen.is_detached(child) or name in superseded):
                continue
            with contextlib.suppress(NotFoundError):
                await self.client.delete(child)
            written[name] = None
            message = f"Deleted SeiNode {name} left by an earlier rollout"
            self.emit(group, Event("Normal", "SeiNodeDeleted", message))

    async def detach(
        self, group: SeiNodeDeployment, children: list[Object], written: dict[str, Object | None]
    ) -> None:
        """The group's BlueGreen/HardFork plan failed (the rollout is still recorded). The
        detached nodes as written go to ``written``: the pass must not take them for serving
        nodes from a cache that has not seen the patch yet."""
        rollout = group.status.rollout
        if not gen.swaps(rollout):
            return
        serving_names = [c["metadata"]["name"] for c in gen.serving(group, children)]
        for child in gen.rollout_leftovers(rollout, children, serving_names):
            if gen.is_detached(child):
                continue
            body = {"metadata": {"labels": {ORDINAL_LABEL: None}}}
            with contextlib.suppress(NotFoundError):
                written[child["metadata"]["name"]] = await self.client.patch(
                    child, body, PatchType.MERGE
                )
            log.info("detached a node of a failed rollout", node=child["metadata"]["name"])
