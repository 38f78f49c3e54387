"""The controller: sources fill a rate-limited queue, N workers reconcile what it hands out.

Invariants:
- One request is never reconciled by two workers at once (the queue's processing set), and
  every request handed out is marked done, whatever the reconcile did.
- What happens after a reconcile is decided in one place, `_apply_result`, by the table of
  controller-runtime (C.2): terminal error, error, requeue_after, requeue, success.
- Errors are exceptions. Expected operational failures (API errors, network errors, timeouts,
  ReconcileError) count as errors; any other exception is a bug in the reconciler: it is
  recovered (unless recover_panic=False), logged with its traceback, counted in
  controller_runtime_reconcile_panics_total, and then treated as an error.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.client import ApiError, NoKindMatchError
from controller_runtime.controller.metrics import (
    RESULT_ERROR,
    RESULT_REQUEUE,
    RESULT_REQUEUE_AFTER,
    RESULT_SUCCESS,
    controller_metrics,
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
    Clock,
    MetricsProvider,
    PriorityQueue,
    RateLimiter,
    RateLimitingQueue,
)

log = structlog.get_logger("controller")


class ReconcileError(Exception):
    """An expected, retryable failure a reconciler reports (Go's `return err`)."""


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    ReconcileError,
    ApiError,
    NoKindMatchError,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)

_names: weakref.WeakKeyDictionary[CollectorRegistry, set[str]] = weakref.WeakKeyDictionary()


@dataclass
class ControllerOptions:
    max_concurrent_reconciles: int = 1
    cache_sync_timeout: float = 120.0
    recover_panic: bool = True
    need_leader_election: bool = True
    use_priority_queue: bool = True
    rate_limiter: RateLimiter[Request] | None = None
    reconciliation_timeout: float | None = None
    skip_name_validation: bool = False
    expected_errors: tuple[type[BaseException], ...] = EXPECTED_ERRORS


class Controller:
    def __init__(
        self,
        name: str,
        reconciler: Reconciler | ReconcileFunc,
        options: ControllerOptions | None = None,
        *,
        group_kind: tuple[str, str] = ("", ""),
        registry: CollectorRegistry = REGISTRY,
        clock: Clock | None = None,
    ) -> None:
        self.options = options or ControllerOptions()
        if self.options.max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        names = _names.setdefault(registry, set())
        if not self.options.skip_name_validation:
            if name in names:
                raise ValueError(f'controller with name "{name}" already exists')
            names.add(name)
        self.name = name
        self.reconciler = as_reconciler(reconciler)
        self.group, self.kind = group_kind
        self.registry = registry
        self.metrics = controller_metrics(registry)
        self._clock = clock
        self._sources: list[Source] = []
        self._started = False
        self.queue: PriorityQueue[Request] | RateLimitingQueue[Request] | None = None

    @property
    def need_leader_election(self) -> bool:
        return self.options.need_leader_election

    def _new_queue(self) -> PriorityQueue[Request] | RateLimitingQueue[Request]:
        provider = MetricsProvider(self.registry)
        if self.options.use_priority_queue:
            return PriorityQueue(
                name=self.name,
                rate_limiter=self.options.rate_limiter,
                metrics_provider=provider,
                clock=self._clock,
            )
        return RateLimitingQueue(
            name=self.name,
            rate_limiter=self.options.rate_limiter,
            metrics_provider=provider,
            clock=self._clock,
        )

    def watch(self, source: Source) -> None:
        """Adds a source (before start)."""
        if self._started:
            raise RuntimeError("cannot add a source to a started controller")
        self._sources.append(source)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Runs until cancelled. Sources must start and sync within cache_sync_timeout."""
        if self._started:
            raise RuntimeError("controller was started more than once")
        self._started = True
        queue = self.queue = self._new_queue()
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._start_sources(queue, self._sources)
            workers = self.options.max_concurrent_reconciles
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
            # second cancellation (the manager's grace period ran out) cancels them.
            queue.shut_down()
            pending = [t for t in tasks if not t.done()]
            try:
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
        self, queue: RateLimitingQueue[Request] | PriorityQueue[Request], sources: Sequence[Source]
    ) -> None:
        timeout = self.options.cache_sync_timeout

        async def start_one(source: Source) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await source.start(queue)
            except TimeoutError:
                raise TimeoutError(f"timed out waiting for source {source!r} to Start") from None
            try:
                async with asyncio.timeout(timeout):
                    await source.wait_for_sync()
            except TimeoutError:
                raise TimeoutError(
                    f"failed to wait for {self.name} caches to sync {source!r}: timed out"
                ) from None

        await asyncio.gather(*(start_one(s) for s in sources))

    async def _worker(self, queue: PriorityQueue[Request] | RateLimitingQueue[Request]) -> None:
        active = self.metrics.active_workers.labels(self.name)
        while True:
            priority: int | None = None
            if isinstance(queue, PriorityQueue):
                request, priority, shutdown = await queue.get_with_priority()
            else:
                request, shutdown = await queue.get()
            if shutdown or request is None:
                return
            active.inc()
            try:
                await self._reconcile_handler(queue, request, priority)
            finally:
                active.dec()
                queue.done(request)
            # get() returns at once while items are ready: yield so that a reconcile that
            # never awaits cannot starve the other workers and the event handlers.
            await asyncio.sleep(0)

    # --- one reconcile ---------------------------------------------------------------------

    async def _reconcile_handler(
        self,
        queue: PriorityQueue[Request] | RateLimitingQueue[Request],
        request: Request,
        priority: int | None,
    ) -> None:
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(
            controller=self.name,
            controllerGroup=self.group,
            controllerKind=self.kind,
            namespace=request.namespace,
            name=request.name,
            reconcile_id=str(uuid.uuid4()),
        ):
            result, error = await self._call(request)
            self._apply_result(queue, request, priority, result, error)
        self.metrics.reconcile_time.labels(self.name).observe(time.monotonic() - started)

    async def _call(self, request: Request) -> tuple[Result | None, BaseException | None]:
        timeout = self.options.reconciliation_timeout
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
            if not self.options.recover_panic:
                raise
            log.exception("observed a panic in reconciler")
            return None, RuntimeError(f"panic: {exc!r} [recovered]")

    def _apply_result(
        self,
        queue: PriorityQueue[Request] | RateLimitingQueue[Request],
        request: Request,
        priority: int | None,
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
            self._requeue(queue, request, priority, rate_limited=True)
            total.labels(self.name, RESULT_ERROR).inc()
            self.metrics.reconcile_errors.labels(self.name).inc()
            log.error("reconciler error", error=str(error) or repr(error))
        else:
            assert result is not None
            retry_priority = result.priority if result.priority is not None else priority
            if result.requeue_after > 0:
                queue.forget(request)
                self._requeue(queue, request, retry_priority, after=result.requeue_after)
                total.labels(self.name, RESULT_REQUEUE_AFTER).inc()
            elif result.requeue:
                self._requeue(queue, request, retry_priority, rate_limited=True)
                total.labels(self.name, RESULT_REQUEUE).inc()
            else:
                queue.forget(request)
                total.labels(self.name, RESULT_SUCCESS).inc()

    @staticmethod
    def _requeue(
        queue: PriorityQueue[Request] | RateLimitingQueue[Request],
        request: Request,
        priority: int | None,
        *,
        rate_limited: bool = False,
        after: float = 0.0,
    ) -> None:
        if isinstance(queue, PriorityQueue):
            queue.add_with_opts(request, after=after, rate_limited=rate_limited, priority=priority)
        elif rate_limited:
            queue.add_rate_limited(request)
        else:
            queue.add_after(request, after)
