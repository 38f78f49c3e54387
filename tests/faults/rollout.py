"""The fault suite's common story: a Ready 10-replica SeiNodeDeployment on simulated sidecars
(the local fleet: a rolled pod's sidecar comes up Initializing and must be released) is bumped to
a new image, InPlace; while the rollout is in flight a fault happens; the rollout must still land.

In flight, deterministically: before the bump, the old pods of some nodes are held by a
finalizer, so the StatefulSet controller cannot replace them and the rollout cannot finish (it
waits in await-spec-update) until the test lets them go, after or during its fault. The other
nodes roll meanwhile, so the fault also meets new pods, restarted sidecars and their release.

"Landed" is checked in full by :meth:`FaultRollout.landed`:
- the group: Ready, 10 ready replicas, RolloutInProgress False/RolloutComplete, no rollout and
  no plan left in its status, on the new template hash;
- no node lost: exactly the 10 children, each Running on the new image, no plan active, their
  pods Ready on the new image (all of them new pods);
- every sidecar released: the sidecar of each node's current pod is Ready, with no task left
  running;
- no duplicate sidecar task IDs: no task id on two nodes, no plan step of a node posted under two
  ids, no (id, run) executed twice (the simulator records every submission and every run).
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Any

from controller_runtime.client import Client
from controller_runtime.client.errors import ApiError
from controller_runtime.envtest import eventually
from controllers.sidecar.localfleet import LocalFleet
from controllers.sidecar.simulator import SidecarSimulator
from tests.fixtures.operator import OperatorHarness
from tests.integration.operator.test_group_inplace import NEW_IMAGE, OLD_IMAGE, group

GROUP = "wave"
REPLICAS = 10
NAMES = [f"{GROUP}-{i}" for i in range(REPLICAS)]
HOLD = "sei.io/fault-hold"
GROUP_LABEL = "sei.io/nodedeployment"
# Generous bounds on waiting on a loaded 2-core machine; they measure nothing.
READY_TIMEOUT = 120.0
LAND_TIMEOUT = 180.0

Object = dict[str, Any]


def _status(obj: Object | None) -> Object:
    return (obj or {}).get("status") or {}


def _reason(obj: Object, condition_type: str) -> str | None:
    found = next(
        (c for c in _status(obj).get("conditions") or () if c.get("type") == condition_type),
        None,
    )
    return None if found is None else str(found.get("reason"))


def _pod_ready(pod: Object) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in _status(pod).get("conditions") or ()
    )


def _seid_image(pod: Object) -> str:
    return str(next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "seid"))


class FaultRollout:
    """One group's InPlace rollout under a fault. ``kube`` is the test's direct client (never
    behind a fault), ``simulator`` the one behind the local fleet."""

    def __init__(
        self,
        kube: Client,
        namespace: str,
        simulator: SidecarSimulator,
        fleet: LocalFleet | None = None,
    ) -> None:
        self.kube, self.namespace, self.simulator, self.fleet = kube, namespace, simulator, fleet
        self.image = OLD_IMAGE
        self.generation = 1
        # The baseline of the rollout in flight: the template hash and the pods (name -> uid)
        # from before the bump.
        self.old_hash = ""
        self.old_pods: dict[str, str] = {}
        self._held: list[str] = []

    @classmethod
    def of(cls, op: OperatorHarness) -> FaultRollout:
        assert op.simulator is not None, "the fault suite runs simulated sidecars"
        return cls(op.kube, op.namespace, op.simulator, op.fleet)

    # --- observing ---------------------------------------------------------------------------

    async def group(self) -> Object:
        return await self.kube.get("sei.io/v1alpha1", "SeiNodeDeployment", GROUP, self.namespace)

    async def children(self) -> dict[str, Object]:
        listed = await self.kube.list(
            "sei.io/v1alpha1", "SeiNode", self.namespace, label_selector=f"{GROUP_LABEL}={GROUP}"
        )
        return {n["metadata"]["name"]: n for n in listed.get("items") or []}

    async def pods(self) -> dict[str, Object]:
        listed = await self.kube.list(
            "v1", "Pod", self.namespace, label_selector=f"{GROUP_LABEL}={GROUP}"
        )
        return {p["metadata"]["name"]: p for p in listed.get("items") or []}

    # --- the story ---------------------------------------------------------------------------

    async def ready(self) -> None:
        """Creates the group on the old image and waits until every replica is Ready."""
        await self.kube.create(group(GROUP, self.namespace, REPLICAS, self.image))
        ready = await eventually(
            self.group,
            lambda g: (
                _status(g).get("phase") == "Ready"
                and _status(g).get("readyReplicas") == REPLICAS
                and bool(_status(g).get("templateHash"))
            ),
            timeout=READY_TIMEOUT,
            message=f"{REPLICAS}-replica group Ready",
        )
        self.old_hash = ready["status"]["templateHash"]
        pods = await eventually(
            self.pods,
            lambda ps: len(ps) == REPLICAS and all(_pod_ready(p) for p in ps.values()),
            timeout=READY_TIMEOUT,
            message="every pod Ready",
        )
        self.old_pods = {name: pod["metadata"]["uid"] for name, pod in pods.items()}

    async def hold(self, ordinals: Iterable[int]) -> None:
        """Holds the current pods of these nodes: deleted, they stay Terminating, and their
        StatefulSets cannot replace them until :meth:`release`."""
        for i in ordinals:
            name = f"{GROUP}-{i}-0"
            await self.kube.patch(self._pod_ref(name), {"metadata": {"finalizers": [HOLD]}})
            self._held.append(name)

    async def release(self) -> None:
        for name in self._held:
            with contextlib.suppress(ApiError):  # already gone
                await self.kube.patch(self._pod_ref(name), {"metadata": {"finalizers": None}})
        self._held.clear()

    def _pod_ref(self, name: str) -> Object:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace},
        }

    @contextlib.asynccontextmanager
    async def held(self, ordinals: Iterable[int] = range(0, REPLICAS, 2)) -> AsyncIterator[None]:
        """:meth:`hold` for the block, released on the way out whatever happened (so a failed
        test leaves no pod stuck); the test may :meth:`release` earlier."""
        await self.hold(ordinals)
        try:
            yield
        finally:
            await self.release()

    async def bump(self, image: str = NEW_IMAGE) -> None:
        """Starts the rollout to ``image`` (after :meth:`ready` or the previous one landed)."""
        self.image = image
        self.generation += 1
        obj = {
            "apiVersion": "sei.io/v1alpha1",
            "kind": "SeiNodeDeployment",
            "metadata": {"name": GROUP, "namespace": self.namespace},
        }
        await self.kube.patch(obj, {"spec": {"template": {"spec": {"image": image}}}})

    async def in_flight(self) -> Object:
        """Waits until the rollout is recorded and every StatefulSet has acted on the new
        template (each old pod replaced, or deleted and held Terminating); returns the group."""
        found = await eventually(
            self.group,
            lambda g: (
                (_status(g).get("rollout") or {}).get("targetHash") not in (None, self.old_hash)
                and _reason(g, "RolloutInProgress") is not None
                and _reason(g, "RolloutInProgress") != "RolloutComplete"
            ),
            timeout=READY_TIMEOUT,
            message="rollout recorded",
        )

        def acted_on(pods: dict[str, Object]) -> bool:
            return all(
                name in pods
                and (
                    pods[name]["metadata"]["uid"] != uid
                    or "deletionTimestamp" in pods[name]["metadata"]
                )
                for name, uid in self.old_pods.items()
            )

        await eventually(
            self.pods, acted_on, timeout=READY_TIMEOUT, message="every old pod going or gone"
        )
        return found

    async def landed(self) -> Object:
        """Waits for the rollout to complete, then checks everything the suite promises."""
        done = await eventually(
            self.group,
            lambda g: (
                _status(g).get("observedGeneration") == self.generation
                and _status(g).get("phase") == "Ready"
                and _status(g).get("readyReplicas") == REPLICAS
                and _reason(g, "RolloutInProgress") == "RolloutComplete"
            ),
            timeout=LAND_TIMEOUT,
            message="rollout complete",
        )
        status = done["status"]
        assert status.get("rollout") is None
        assert status.get("plan") is None
        assert status["templateHash"] != self.old_hash
        assert [n["name"] for n in status.get("nodes") or ()] == NAMES
        pods = await self._no_node_lost()
        self._every_sidecar_released(pods)
        assert duplicate_task_ids(self.simulator, self.namespace) == []
        # The next rollout starts from here.
        self.old_hash = status["templateHash"]
        self.old_pods = {name: pod["metadata"]["uid"] for name, pod in pods.items()}
        return done

    async def _no_node_lost(self) -> dict[str, Object]:
        def on_new_image(children: dict[str, Object]) -> bool:
            return sorted(children) == sorted(NAMES) and all(
                _status(n).get("phase") == "Running"
                and n["spec"]["image"] == self.image
                and _status(n).get("currentImage") == self.image
                and (_status(n).get("plan") or {}).get("phase") != "Active"
                for n in children.values()
            )

        await eventually(
            self.children, on_new_image, timeout=60, message="10 children Running, new image"
        )
        pods = await eventually(
            self.pods,
            lambda ps: (
                sorted(ps) == sorted(self.old_pods)
                and all(_pod_ready(p) and _seid_image(p) == self.image for p in ps.values())
            ),
            timeout=60,
            message="10 pods Ready on the new image",
        )
        for name, pod in pods.items():
            assert pod["metadata"]["uid"] != self.old_pods[name], f"{name} was never replaced"
        return pods

    def _every_sidecar_released(self, pods: dict[str, Object]) -> None:
        for name in NAMES:
            sidecar = self.simulator.node(self.namespace, name)
            assert sidecar.ready, f"the sidecar of {name} was never released"
            running = [t.type for t in sidecar.tasks.values() if t.status == "running"]
            assert running == [], f"tasks left running on {name}: {running}"
            # A new pod's sidecar starts Initializing: Ready means released since the roll.
            assert sidecar.restarts >= 1, f"the sidecar of {name} never followed its new pod"
            if self.fleet is not None:
                serving = self.fleet.sidecar(self.namespace, name)
                assert serving is not None, f"no sidecar runs for {name}"
                assert serving.pod_uid == pods[f"{name}-0"]["metadata"]["uid"], (
                    f"the sidecar of {name} serves another pod than its current one"
                )


def duplicate_task_ids(simulator: SidecarSimulator, namespace: str) -> list[str]:
    """What would show a sidecar task submitted twice: an id on two nodes, a plan step of a
    node posted under two ids, or one (id, run) executed twice. Empty when none."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for (ns, name), node in sorted(simulator.nodes.items()):
        if ns != namespace:
            continue
        ids_by_type: dict[str | None, set[str]] = defaultdict(set)
        for post in node.posts:
            if post.id is None:
                continue  # the rollout's release: mark-ready without an id, by design
            ids_by_type[post.type].add(post.id)
            if owner.setdefault(post.id, name) != name:
                problems.append(f"task {post.id} posted to {owner[post.id]} and {name}")
        for task_type, ids in ids_by_type.items():
            if len(ids) > 1:
                problems.append(f"{name}: {task_type} posted under {len(ids)} ids")
        runs = Counter((e.id, e.run) for e in node.executions)
        problems += [
            f"{name}: task {task_id} run {run} executed {count} times"
            for (task_id, run), count in runs.items()
            if count > 1
        ]
    return problems
