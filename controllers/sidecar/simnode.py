"""One simulated node sidecar: the task engine of seictl as the controller sees it, with knobs.

The semantics are those of the real sidecar (spec 7.3, notes/sidecar.md, checked against
seictl v0.0.68 by the contract tests):
- ``POST /v0/tasks`` is idempotent by id: an id stored as running or completed answers the same
  id without running again; an id stored as failed runs again with ``run`` incremented; no id
  gets a random UUID. Validation order and messages are seictl's (``invalid request body``,
  ``type is required``, ``unknown task type: <t>``, ``task ID must be a valid UUID: "<id>"``).
- The task store outlives restarts (seictl keeps it in SQLite on the data volume); readiness
  does not: a restarted sidecar is ``Initializing`` until a ``mark-ready`` runs in it again, and
  tasks it left running are run again (same ``run``), as seictl rehydrates them.
- ``mark-ready`` and ``config-validate`` complete at once; ``await-condition`` waits for the
  simulated chain height (none by default, like a local seictl with no seid), then runs its
  action (``SIGTERM_SEID`` stops the simulated seid: the height stays where it halted);
  ``snapshot-upload``
  and ``result-export`` run until :meth:`SimulatedNode.finish` (the real ones loop, or end on an
  app-hash divergence); everything else completes after ``latency`` seconds (0: at once).

Counters (``posts``, ``executions``, ``faults_served``) record every submission received, every
run started and every injected fault answered, so tests can assert that no sidecar task ran
twice and that the faults they injected were really met.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from controllers.sidecar.simceremony import CEREMONY_EFFECTS, GenesisBucket
from controllers.sidecar.simchain import ChainSimulation

__all__ = [
    "ENDLESS_TASK_TYPES",
    "IMMEDIATE_TASK_TYPES",
    "SPEC_TASK_TYPES",
    "Execution",
    "Fault",
    "Post",
    "SimulatedNode",
    "StoredTask",
]

# Spec 7.2: every type the reference's sidecar understands.
SPEC_TASK_TYPES = frozenset(
    {
        "snapshot-restore",
        "discover-peers",
        "config-patch",
        "config-apply",
        "config-validate",
        "config-reload",
        "mark-ready",
        "configure-genesis",
        "configure-state-sync",
        "snapshot-upload",
        "result-export",
        "await-condition",
        "generate-identity",
        "generate-gentx",
        "upload-genesis-artifacts",
        "assemble-and-upload-genesis",
        "set-genesis-peers",
        "assemble-genesis-fork",
        "export-state",
    }
)
IMMEDIATE_TASK_TYPES = frozenset({"mark-ready", "config-validate"})
ENDLESS_TASK_TYPES = frozenset({"snapshot-upload", "result-export"})


# Orders the posts of every simulated node in one process (a test asserts cross-node order).
_SEQUENCE = itertools.count(1)


class Fault(StrEnum):
    """A malformed or missing answer, injected with :meth:`SimulatedNode.inject`."""

    BAD_JSON = "bad-json"  # the success status, with a body that is not JSON
    WRONG_TYPES = "wrong-types"  # the success status, JSON whose fields have the wrong types
    SERVER_ERROR = "server-error"  # 500 {"error": ...}
    HANG = "hang"  # no answer at all (until the simulator closes)
    SLOW_DRIP = "slow-drip"  # the success status at once, then one byte per drip_interval
    HUGE = "huge"  # 200 with a chunked body of several MiB
    DISCONNECT = "disconnect"  # the connection is closed without an answer


@dataclass(frozen=True, slots=True)
class Post:
    """One ``POST /v0/tasks`` received: the id as sent (None if none), the type, the answer."""

    id: str | None
    type: str | None
    status: int
    answered_id: str | None
    params: dict[str, Any] | None = None
    seq: int = field(default_factory=lambda: next(_SEQUENCE), compare=False)


@dataclass(frozen=True, slots=True)
class Execution:
    """One run of a task actually started (a submission, a re-run, or a rehydration)."""

    id: str
    type: str
    run: int


@dataclass
class StoredTask:
    id: str
    type: str
    params: dict[str, Any] | None
    run: int
    submitted_at: datetime
    status: str = "running"
    error: str = ""
    completed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The TaskResult as seictl writes it (Go omits empty params/error/completedAt)."""
        out: dict[str, Any] = {"id": self.id, "type": self.type, "status": self.status}
        out["run"] = self.run
        if self.params:
            out["params"] = self.params
        if self.error:
            out["error"] = self.error
        out["submittedAt"] = _timestamp(self.submitted_at)
        if self.completed_at is not None:
            out["completedAt"] = _timestamp(self.completed_at)
        return out


@dataclass
class _Failure:
    error: str
    remaining: int | None  # None: every run fails


@dataclass
class _FaultRule:
    fault: Fault
    endpoints: frozenset[str] | None
    remaining: int | None


@dataclass(eq=False)
class SimulatedNode(ChainSimulation):
    """A node's sidecar state. Mutate the knobs directly or through the methods."""

    namespace: str
    name: str
    task_types: frozenset[str] = SPEC_TASK_TYPES
    latency: float = 0.0
    """Seconds a task of an ordinary type runs before it completes."""
    latencies: dict[str, float] = field(default_factory=dict)
    """Per-type latency overriding ``latency``; ``math.inf`` runs until :meth:`finish`."""
    response_delay: float = 0.0
    """Seconds every HTTP answer is held back (a slow, not hung, sidecar)."""
    drip_interval: float = 0.1
    """Seconds between the bytes of a :attr:`Fault.SLOW_DRIP` answer."""
    submit_status: int = 201
    unreachable: bool = False
    """Connections are closed without an answer (a pod that is gone, on a shared port)."""
    height: int | None = None
    """The simulated chain height ``await-condition`` watches; None: no seid running."""
    halted_at: int | None = None
    """The height at which a ``SIGTERM_SEID`` action stopped the simulated seid (None: not)."""

    ready: bool = False
    node_id: str | None = None
    posts: list[Post] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    restarts: int = 0
    faults_served: list[tuple[str, Fault]] = field(default_factory=list)
    """(endpoint, fault) of every request answered with an injected fault."""
    tasks: dict[str, StoredTask] = field(default_factory=dict)
    # Genesis ceremonies (controllers.sidecar.simceremony): the node's chain (its
    # SEI_CHAIN_ID), the genesis bucket it shares with the other nodes, what its tasks left in
    # its home directory (gentx, genesis; kept across restarts like the data volume), and the
    # persistent peers set-genesis-peers wrote.
    chain_id: str | None = None
    moniker: str | None = None
    bucket: GenesisBucket = field(default_factory=GenesisBucket)
    home: dict[str, Any] = field(default_factory=dict)
    persistent_peers: list[str] | None = None

    _failures: dict[str, _Failure] = field(default_factory=dict, init=False, repr=False)
    _faults: list[_FaultRule] = field(default_factory=list, init=False, repr=False)
    # Invariant: every task stored as running has exactly one runner here, and no other does.
    _runners: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False, repr=False)
    _height_changed: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _producer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    # --- knobs --------------------------------------------------------------------------------

    def fail(self, task_type: str, error: str = "simulated failure", times: int | None = 1) -> None:
        """The next ``times`` runs of ``task_type`` fail with ``error`` (None: every run)."""
        self._failures[task_type] = _Failure(error, times)

    def inject(
        self, fault: Fault, *, times: int | None = None, endpoints: set[str] | None = None
    ) -> None:
        """Answer the next ``times`` requests (None: all) with ``fault``. ``endpoints`` limits
        it to some of ``healthz livez status node-id submit task tasks delete``."""
        self._faults.append(_FaultRule(fault, frozenset(endpoints) if endpoints else None, times))

    def clear_faults(self) -> None:
        self._faults.clear()
        self.response_delay = 0.0
        self.unreachable = False

    def take_fault(self, endpoint: str) -> Fault | None:
        for rule in self._faults:
            if rule.endpoints is None or endpoint in rule.endpoints:
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._faults.remove(rule)
                self.faults_served.append((endpoint, rule.fault))
                return rule.fault
        return None

    def restart(self) -> None:
        """The sidecar process restarts with the same data volume: readiness is lost, the task
        store is kept, and tasks it left running are run again."""
        self.restarts += 1
        self.ready = False
        self._cancel_runners()
        for task in self.tasks.values():
            if task.status == "running":
                self._start(task)

    def lose_tasks(self) -> None:
        """The task store is wiped (fresh volume, unreadable store): every id answers 404."""
        self._cancel_runners()
        self.tasks.clear()

    def finish(self, task_id: str, error: str | None = None) -> None:
        """Ends a running task now: completed, or failed with ``error``."""
        task = self.tasks.get(task_id)
        if task is None or task.status != "running":
            raise ValueError(f"task {task_id} is not running on {self.namespace}/{self.name}")
        runner = self._runners.pop(task_id, None)
        if runner is not None:
            runner.cancel()
        self._complete(task, error)

    # --- observations ---------------------------------------------------------------------------

    def executions_of(self, task_id: str) -> list[Execution]:
        return [e for e in self.executions if e.id == task_id]

    def posts_of(self, task_type: str) -> list[Post]:
        return [p for p in self.posts if p.type == task_type]

    # --- the API --------------------------------------------------------------------------------

    def submit(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /v0/tasks`` with the decoded JSON body (or ``...`` if it did not decode)."""
        status, answer = self._submit(body)
        sent_id = body.get("id") if isinstance(body, dict) else None
        sent_type = body.get("type") if isinstance(body, dict) else None
        sent_params = body.get("params") if isinstance(body, dict) else None
        self.posts.append(
            Post(
                sent_id if isinstance(sent_id, str) else None,
                sent_type if isinstance(sent_type, str) else None,
                status,
                answer.get("id"),
                dict(sent_params) if isinstance(sent_params, dict) else None,
            )
        )
        return status, answer

    def _submit(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not _valid_request(body):
            return 400, {"error": "invalid request body"}
        task_type, task_id = body.get("type") or "", body.get("id") or ""
        if not task_type:
            return 400, {"error": "type is required"}
        if task_type not in self.task_types:
            return 400, {"error": f"unknown task type: {task_type}"}
        if task_id:
            try:
                uuid.UUID(task_id)
            except ValueError:
                return 400, {"error": f'task ID must be a valid UUID: "{task_id}"'}
        else:
            task_id = str(uuid.uuid4())
        run = 1
        existing = self.tasks.get(task_id)
        if existing is not None:
            if existing.status != "failed":
                return self.submit_status, {"id": task_id}
            run = existing.run + 1
        task = StoredTask(task_id, task_type, body.get("params") or None, run, _now())
        self.tasks[task_id] = task
        self._start(task)
        return self.submit_status, {"id": task_id}

    def get_task(self, task_id: str) -> tuple[int, dict[str, Any]]:
        task = self.tasks.get(task_id)
        if task is None:
            return 404, {"error": "task not found"}
        return 200, task.to_json()

    def delete_task(self, task_id: str) -> int:
        if task_id not in self.tasks:
            return 404
        runner = self._runners.pop(task_id, None)
        if runner is not None:
            runner.cancel()
        del self.tasks[task_id]
        return 204

    def list_tasks(self) -> list[dict[str, Any]]:
        recent = sorted(self.tasks.values(), key=lambda t: t.submitted_at, reverse=True)
        return [t.to_json() for t in recent[:100]]

    async def close(self) -> None:
        self.stop_blocks()
        runners = list(self._runners.values())
        self._cancel_runners()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    # --- execution ------------------------------------------------------------------------------

    def _start(self, task: StoredTask) -> None:
        self.executions.append(Execution(task.id, task.type, task.run))
        failure = self._failures.get(task.type)
        if failure is not None:
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[task.type]
            self._complete(task, failure.error)
            return
        error = self._invalid_params(task)
        if error is not None:
            self._complete(task, error)
            return
        delay = self._latency(task.type)
        if delay <= 0 and task.type != "await-condition":
            self._complete(task, None)
            return
        runner = asyncio.get_running_loop().create_task(
            self._run(task, delay), name=f"sim-task-{self.namespace}/{self.name}/{task.id}"
        )
        self._runners[task.id] = runner

    def _latency(self, task_type: str) -> float:
        if task_type in IMMEDIATE_TASK_TYPES:
            return 0.0
        if task_type in ENDLESS_TASK_TYPES:
            return self.latencies.get(task_type, math.inf)
        return self.latencies.get(task_type, self.latency)

    async def _run(self, task: StoredTask, delay: float) -> None:
        if task.type == "await-condition":
            error = await self._await_condition(task.params or {})
            if error is not None:
                self._runners.pop(task.id, None)
                self._complete(task, error)
                return
        if math.isinf(delay):
            await asyncio.Event().wait()  # until finish(), restart() or close()
        elif delay > 0:
            await asyncio.sleep(delay)
        self._runners.pop(task.id, None)
        self._complete(task, None)

    def _complete(self, task: StoredTask, error: str | None) -> None:
        if self.tasks.get(task.id) is not task:  # wiped or deleted while running
            return
        if not error:
            error = self._effect(task)
        task.status = "failed" if error else "completed"
        task.error = error or ""
        task.completed_at = _now()

    def _effect(self, task: StoredTask) -> str | None:
        """What a task that ran without an injected failure does; an error fails it."""
        if task.type == "mark-ready":
            self.ready = True
        elif task.type == "generate-identity" and self.node_id is None:
            self.node_id = secrets.token_hex(20)
            params = task.params or {}
            self.chain_id = self.chain_id or str(params.get("chainId") or "") or None
            self.moniker = str(params.get("moniker") or "") or None
        effect = CEREMONY_EFFECTS.get(task.type)
        return effect(self, task.params or {}) if effect is not None else None

    def _invalid_params(self, task: StoredTask) -> str | None:
        """The parameter checks of the seictl handlers the controller's plans exercise."""
        params = task.params or {}
        if task.type == "generate-identity" and self.node_id is None:
            for key in ("chainId", "moniker"):
                if not isinstance(params.get(key), str) or not params[key]:
                    return f"generate-identity: missing required param '{key}'"
        if task.type == "await-condition":
            condition, target = params.get("condition"), params.get("targetHeight")
            if not condition:
                return "condition is required"
            if condition not in ("height", "catchingUp"):
                return f'unknown condition "{condition}"'
            if condition == "height" and (not isinstance(target, int) or target <= 0):
                return f"targetHeight must be > 0, got {target}"
        return None

    def _cancel_runners(self) -> None:
        for runner in self._runners.values():
            runner.cancel()
        self._runners.clear()


def _valid_request(body: Any) -> bool:
    """What Go's json.Decode into ``{id string, type string, params map}`` accepts."""
    if not isinstance(body, dict):
        return False
    return (
        isinstance(body.get("id", ""), str | type(None))
        and isinstance(body.get("type", ""), str | type(None))
        and isinstance(body.get("params"), dict | type(None))
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")
