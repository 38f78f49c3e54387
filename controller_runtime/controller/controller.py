"""The controller: sources fill a rate-limited queue, N workers reconcile what it hands out.

Invariants:
- One request is never reconciled by two workers at once (the queue's processing set), and
  every request handed out is marked done, whatever the reconcile did.
- What happens after a reconcile is decided in one place, `_apply_result`, by the table of
  controller-runtime's reconcileHandler: terminal error, error, requeue_after, requeue, success.
- Errors are exceptions. Expected operational failures (API errors, network errors, timeouts,
  ReconcileError) count as errors; any other exception is a bug in the reconciler: it is
  recovered (unless recover_panic=False), logged with its traceback, counted in
  controller_runtime_reconcile_panics_total, and then treated as an error.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import weakref
from collections.abc import Sequence
from typing import TypeVar

import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.controller.metrics import (
    RESULT_ERROR,
    RESULT_REQUEUE,
    RESULT_REQUEUE_AFTER,
    RESULT_SUCCESS,
    controller_metrics,
)
from controller_runtime.controller.options import (
    EXPECTED_ERRORS,
    ControllerConfig,
    ControllerOptions,
    ReconcileError,
)
from controller_runtime.controller.reconcile import (
    ReconcileFunc,
    Reconciler,
    Request,
    Result,
    TerminalError,
    as_reconciler,
)
from controller_runtime.controller.source import Source
from controller_runtime.metrics import REGISTRY
from controller_runtime.workqueue import (
    MetricsProvider,
    PriorityInterface,
    PriorityQueue,
    PriorityQueueWrapper,
    RateLimitingQueue,
)

__all__ = [
    "EXPECTED_ERRORS",
    "Controller",
    "ControllerConfig",
    "ControllerOptions",
    "ReconcileError",
    "new_reconcile_id",
]

log = structlog.get_logger("controller")

T = TypeVar("T")

_names: weakref.WeakKeyDictionary[CollectorRegistry, set[str]] = weakref.WeakKeyDictionary()

# Reconcile IDs: a random per-process prefix and a counter. Unique across replicas (with
# overwhelming probability) like controller-runtime's UUIDs, at a fraction of uuid4's cost.
_ID_PREFIX = os.urandom(4).hex()
_id_counter = itertools.count(1)


def new_reconcile_id() -> str:
    """A fresh reconcile ID, e.g. "9f3a61c2-17"."""
    return f"{_ID_PREFIX}-{next(_id_counter)}"


class Controller:
    """Reconciles the requests its sources enqueue; a leader-gated runnable of the manager
    unless need_leader_election is False. Built by the Builder, or by hand with watch()."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler | ReconcileFunc,
        options: ControllerOptions | None = None,
        *,
        group_kind: tuple[str, str] = ("", ""),
        registry: CollectorRegistry = REGISTRY,
        clock: Clock | None = None,
        defaults: ControllerConfig | None = None,
    ) -> None:
        opts = self.options = options or ControllerOptions()
        config = defaults or ControllerConfig()
        # Resolved settings: the controller's own option, else the manager-wide default.
        self.max_concurrent_reconciles = _pick(
            opts.max_concurrent_reconciles, config.max_concurrent_reconciles
        )
        self.cache_sync_timeout = _pick(opts.cache_sync_timeout, config.cache_sync_timeout)
        self.recover_panic = _pick(opts.recover_panic, config.recover_panic)
        self.need_leader_election = _pick(opts.need_leader_election, config.need_leader_election)
        self.use_priority_queue = _pick(opts.use_priority_queue, config.use_priority_queue)
        self.reconciliation_timeout = (
            opts.reconciliation_timeout
            if opts.reconciliation_timeout is not None
            else config.reconciliation_timeout
        )
        if self.max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        names = _names.setdefault(registry, set())
        if not _pick(opts.skip_name_validation, config.skip_name_validation):
            if name in names:
                raise ValueError(
                    f'controller with name "{name}" already exists. Controller names must be '
                    "unique to avoid multiple controllers reporting the same metric. This "
                    "validation can be disabled via the skip_name_validation option"
                )
            names.add(name)
        self.name = name
        self.reconciler = as_reconciler(reconciler)
        self.group, self.kind = group_kind
        self.registry = registry
        self.metrics = controller_metrics(registry)
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._sources: list[Source] = []
        self._started = False
        self.queue: PriorityInterface[Request] | None = None

    def __repr__(self) -> str:
        return f"Controller({self.name!r})"

    def _new_queue(self) -> PriorityInterface[Request]:
        provider = MetricsProvider(self.registry)
        rate_limiter = self.options.rate_limiter
        if self.use_priority_queue:
            return PriorityQueue(
                name=self.name,
                rate_limiter=rate_limiter,
                metrics_provider=provider,
                clock=self._clock,
            )
        plain = RateLimitingQueue(
            name=self.name, rate_limiter=rate_limiter, metrics_provider=provider, clock=self._clock
        )
        return PriorityQueueWrapper(plain)

    def watch(self, source: Source) -> None:
        """Adds a source (before start)."""
        if self._started:
            raise RuntimeError("cannot add a source to a started controller")
        self._sources.append(source)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Runs until cancelled. Sources must start and sync within cache_sync_timeout."""
        if self._started:
            raise RuntimeError(
                f"controller {self.name!r} was started more than once. This is likely to be "
                "caused by being added to a manager multiple times"
            )
        self._started = True
        queue = self.queue = self._new_queue()
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._start_sources(queue, self._sources)
            workers = self.max_concurrent_reconciles
            self.metrics.init(self.name, workers)
            log.info("starting workers", controller=self.name, worker_count=workers)
            tasks = [
                asyncio.create_task(self._worker(queue), name=f"{self.name}-worker-{i}")
                for i in range(workers)
            ]
            # asyncio.wait, not gather: cancelling this coroutine must not cancel the workers.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # a worker died (recover_panic=False): the controller fails
        finally:
            # On shutdown: no new items; workers finish the reconcile in hand and exit. A
            # second cancellation (the manager's grace period ran out, or leadership was lost
            # and both came at once) cancels them.
            queue.shut_down()
            pending = [t for t in tasks if not t.done()]
            this = asyncio.current_task()
            try:
                if pending and this is not None and this.cancelling() > 1:
                    raise asyncio.CancelledError
                if pending:
                    await asyncio.shield(asyncio.wait(pending))
            except asyncio.CancelledError:
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
                raise
            finally:
                for source in self._sources:
                    await source.stop()

    async def _start_sources(
        self, queue: PriorityInterface[Request], sources: Sequence[Source]
    ) -> None:
        timeout = self.cache_sync_timeout

        async def start_one(source: Source) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await source.start(queue)
            except TimeoutError:
                raise TimeoutError(
                    f"timed out waiting for source {source!r} to Start. Please ensure that its "
                    "start() method is non-blocking: it must return once delivery is set up"
                ) from None
            try:
                async with asyncio.timeout(timeout):
                    await source.wait_for_sync()
            except TimeoutError:
                raise TimeoutError(
                    f"failed to wait for {self.name} caches to sync {source!r}: timed out "
                    f"after {timeout:g}s (cache_sync_timeout)"
                ) from None

        await asyncio.gather(*(start_one(s) for s in sources))

    async def _worker(self, queue: PriorityInterface[Request]) -> None:
        active = self.metrics.active_workers.labels(self.name)
        # Log context: the controller's fields are bound once per worker task (a task's
        # context is its own), the request's fields per reconcile. Nothing is reset: the
        # next reconcile overwrites them, and nothing else logs in this task.
        bind = structlog.contextvars.bind_contextvars
        bind(controller=self.name, controllerGroup=self.group, controllerKind=self.kind)
        while True:
            request, priority, shutdown = await queue.get_with_priority()
            if shutdown or request is None:
                return
            active.inc()
            try:
                bind(
                    namespace=request.namespace,
                    name=request.name,
                    reconcile_id=new_reconcile_id(),
                )
                await self._reconcile_handler(queue, request, priority)
            finally:
                active.dec()
                queue.done(request)
            # get() returns at once while items are ready: yield so that a reconcile that
            # never awaits cannot starve the other workers and the event handlers.
            await asyncio.sleep(0)

    # --- one reconcile ---------------------------------------------------------------------

    async def _reconcile_handler(
        self, queue: PriorityInterface[Request], request: Request, priority: int
    ) -> None:
        started = self._clock.monotonic()
        result, error = await self._call(request)
        self._apply_result(queue, request, priority, result, error)
        self.metrics.reconcile_time.labels(self.name).observe(self._clock.monotonic() - started)

    async def _call(self, request: Request) -> tuple[Result | None, BaseException | None]:
        timeout = self.reconciliation_timeout
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                result = await self.reconciler.reconcile(request)
            if not isinstance(result, Result):
                raise TypeError(f"reconcile returned {type(result).__name__}, not Result")
            return result, None
        except TerminalError as exc:
            return None, exc
        except TimeoutError as exc:
            if timeout is not None and scope.expired():
                self.metrics.reconcile_timeouts.labels(self.name).inc()
            return None, exc
        except self.options.expected_errors as exc:
            return None, exc
        except Exception as exc:
            self.metrics.reconcile_panics.labels(self.name).inc()
            if not self.recover_panic:
                raise
            log.exception("observed a panic in reconciler")
            return None, RuntimeError(f"panic: {exc!r} [recovered]")

    def _apply_result(
        self,
        queue: PriorityInterface[Request],
        request: Request,
        priority: int,
        result: Result | None,
        error: BaseException | None,
    ) -> None:
        total = self.metrics.reconcile_total
        if isinstance(error, TerminalError):
            # No requeue and no forget: the failure count survives until something changes.
            total.labels(self.name, RESULT_ERROR).inc()
            self.metrics.reconcile_errors.labels(self.name).inc()
            self.metrics.terminal_reconcile_errors.labels(self.name).inc()
            log.error("terminal reconciler error", error=str(error))
        elif error is not None:
            queue.add_with_opts(request, rate_limited=True, priority=priority)
            total.labels(self.name, RESULT_ERROR).inc()
            self.metrics.reconcile_errors.labels(self.name).inc()
            log.error("reconciler error", error=str(error) or repr(error))
        else:
            assert result is not None
            retry_priority = result.priority if result.priority is not None else priority
            if result.requeue_after > 0:
                queue.forget(request)
                queue.add_with_opts(request, after=result.requeue_after, priority=retry_priority)
                total.labels(self.name, RESULT_REQUEUE_AFTER).inc()
            elif result.requeue:
                queue.add_with_opts(request, rate_limited=True, priority=retry_priority)
                total.labels(self.name, RESULT_REQUEUE).inc()
            else:
                queue.forget(request)
                total.labels(self.name, RESULT_SUCCESS).inc()


def _pick(option: T | None, default: T) -> T:
    return default if option is None else option
