"""The leader elector: client-go's algorithm around one step, try_acquire_or_renew().

run() goes through three phases:
1. acquire: try every retry_period * (1 + random * 1.2) until the Lease is ours; between tries,
   a watch of the Lease wakes the candidate at once when it is released, and the candidate
   also wakes exactly when the observed record expires (both improve on client-go's polling,
   whose takeover can lag leaseDuration by up to two jittered retry periods).
2. lead: gauge 1, event "became leader", on_started_leading() runs as a task; renew every
   retry_period. Each renewal may retry (every retry_period) until renew_deadline has passed
   since it began; if it has not succeeded by then, leadership is lost.
3. stop: gauge 0, the on_started_leading task is cancelled and awaited, the Lease is released
   (release_on_cancel), event "stopped leading"; finally on_stopped_leading() - always, even if
   this process never led.

run() returns when leadership is lost. When its task is cancelled (graceful stop) it runs the
same stop phase and then raises CancelledError, as a cancelled task must. If on_started_leading
raises, leadership is given up the same way and run() raises that error.

Expiry is judged on this process's monotonic clock, from the moment it last saw the record
change (`_observed_time`); the record's timestamps, written by another machine, are never
compared with our clock. A challenger therefore watches an unchanged record for a full
leaseDurationSeconds before it takes over.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from controller_runtime.client import AlreadyExistsError, Client, ConflictError, NotFoundError
from controller_runtime.clock import REAL_CLOCK, Clock
from controller_runtime.events.recorder import EventRecorder
from controller_runtime.leaderelection.config import JITTER_FACTOR, LeaderElectionConfig
from controller_runtime.leaderelection.lock import LeaseLock, ResourceLock
from controller_runtime.leaderelection.metrics import master_status_gauge
from controller_runtime.leaderelection.record import LeaderElectionRecord
from controller_runtime.metrics import REGISTRY

__all__ = ["LeaderCallback", "LeaderElector", "NewLeaderCallback"]

log = structlog.get_logger("leaderelection")

# Wake this long after the observed record's local expiry, so the attempt sees it expired.
EXPIRY_MARGIN = 0.01

LeaderCallback = Callable[[], Awaitable[None] | None]
NewLeaderCallback = Callable[[str], Awaitable[None] | None]


class _End(enum.Enum):
    LOST = "renew deadline passed"
    WORK_FAILED = "on_started_leading failed"


class LeaderElector:
    """Campaigns for one Lease; see the module docstring for the lifecycle of run().

    on_started_leading: called when leadership is acquired; a coroutine function runs as a task
      that is cancelled (and awaited, up to renew_deadline) when leadership ends.
    on_stopped_leading: called at the end of every run() (sync, or awaited if a coroutine).
    on_new_leader: called with the holder's identity whenever the observed holder changes
      ("" after a release). Sync callbacks must not block; coroutines run as tasks.
    recorder: receives the LeaderElection events on the Lease; optional.
    client may be None when a lock is given (tests use an in-memory lock).
    """

    def __init__(
        self,
        client: Client | None,
        config: LeaderElectionConfig,
        on_started_leading: LeaderCallback,
        on_stopped_leading: LeaderCallback,
        on_new_leader: NewLeaderCallback | None = None,
        recorder: EventRecorder | None = None,
        registry: CollectorRegistry = REGISTRY,
        *,
        clock: Clock | None = None,
        lock: ResourceLock | None = None,
    ) -> None:
        if lock is None:
            if client is None:
                raise ValueError("LeaderElector needs a client or a lock")
            lock = LeaseLock(
                client,
                config.lease_namespace,
                config.lease_name,
                config.identity,
                labels=config.labels,
                recorder=recorder,
                request_timeout=config.request_timeout,
            )
        self.config = config
        self._lock = lock
        self._on_started_leading = on_started_leading
        self._on_stopped_leading = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._gauge = master_status_gauge(registry).labels(config.lease_name)
        # The record as last read or written by us, and when (monotonic) it last changed.
        self._observed = LeaderElectionRecord()
        self._observed_time: float | None = None
        # The record as last read from the server; a read that differs restarts expiry.
        self._observed_raw: LeaderElectionRecord | None = None
        self._reported_leader = ""
        self._leading = False
        self._ran = False
        self._callback_tasks: set[asyncio.Task[None]] = set()
        # Set by the Lease watch when the observed record changes; _watching while it runs.
        self._changed = asyncio.Event()
        self._watching = False

    # --- state -----------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return self.config.identity

    def is_leader(self) -> bool:
        """True from acquiring the Lease until leadership ends (lost, cancelled, failed)."""
        return self._leading

    def leader(self) -> str:
        """The holder last observed in the Lease ("" if none yet, or after a release)."""
        return self._observed.holder_identity

    def _holds_observed(self) -> bool:
        return self._observed.holder_identity == self.config.identity

    def _lease_valid(self) -> bool:
        """The observed record has not expired, judged on our clock from when it changed."""
        if self._observed_time is None:
            return False
        expires = self._observed_time + self._observed.lease_duration_seconds
        return expires > self._clock.monotonic()

    def _set_observed(self, record: LeaderElectionRecord) -> None:
        self._observed = record
        self._observed_time = self._clock.monotonic()

    # --- the step ----------------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to acquire or renew the Lease; True if we hold it afterwards."""
        now = self._clock.wall()
        desired = LeaderElectionRecord(
            holder_identity=self.config.identity,
            lease_duration_seconds=self.config.lease_duration_seconds,
            acquire_time=now,
            renew_time=now,
        )

        # 1. Fast path: we lead and our view is fresh, so write on top of what we last wrote.
        if self._holds_observed() and self._lease_valid():
            renewed = replace(
                desired,
                acquire_time=self._observed.acquire_time,
                leader_transitions=self._observed.leader_transitions,
            )
            try:
                await self._lock.update(renewed)
            except Exception as err:
                log.info("optimistic lease renewal failed, taking the slow path", **self._ctx(err))
            else:
                self._set_observed(renewed)
                return True

        # 2. Read the record, or create it if there is none.
        try:
            current = await self._lock.get()
        except NotFoundError:
            try:
                await self._lock.create(desired)
            except AlreadyExistsError:
                log.info("another candidate created the lease first", lease=self._lock.describe())
                return False
            except Exception as err:
                log.warning("failed to create the lease", **self._ctx(err))
                return False
            self._set_observed(desired)
            return True
        except Exception as err:
            log.warning("failed to read the lease", **self._ctx(err))
            return False

        # 3. A record different from the last one read restarts the expiry clock.
        if current != self._observed_raw:
            self._observed_raw = current
            self._set_observed(current)
        if current.holder_identity and self._lease_valid() and not self._holds_observed():
            log.debug("lease is held and has not expired", holder=current.holder_identity)
            return False

        # 4. Take over (one more transition) or renew (keep acquireTime and transitions).
        if self._holds_observed():
            desired = replace(
                desired,
                acquire_time=current.acquire_time,
                leader_transitions=current.leader_transitions,
            )
        else:
            desired = replace(desired, leader_transitions=current.leader_transitions + 1)
        try:
            await self._lock.update(desired)
        except ConflictError as err:  # another candidate wrote first: an ordinary race
            log.info("lease changed while updating it", **self._ctx(err))
            return False
        except Exception as err:
            log.warning("failed to update the lease", **self._ctx(err))
            return False
        self._set_observed(desired)
        return True

    # --- run -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Campaigns, leads until leadership ends, and cleans up; callable once."""
        if self._ran:
            raise RuntimeError("LeaderElector.run() can only be called once")
        self._ran = True
        self._gauge.set(0)
        try:
            await self._acquire()
            await self._lead()
        finally:
            await self._call("on_stopped_leading", self._on_stopped_leading)

    async def _acquire(self) -> None:
        log.info("attempting to acquire leader lease", lease=self._lock.describe())
        watcher = asyncio.create_task(self._watch_lease(), name="lease-watch")
        try:
            while True:
                acquired = await self._attempt(None)
                self._maybe_report_transition()
                if acquired:
                    return
                await self._wait_for_chance()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _wait_for_chance(self) -> None:
        """Waits until the next attempt is worth making: the jittered retry period (client-go's
        only trigger), or sooner when the watched Lease is released, or when the observed
        record expires on our clock. Acting at expiry rather than at the next poll keeps the
        takeover after a dead leader close to leaseDuration from its last renewal."""
        retry_at = self._clock.monotonic() + self.config.retry_period * (
            1 + random.random() * JITTER_FACTOR
        )
        while True:
            if self._watching and not self._observed.holder_identity:
                return  # released (or never held): try now
            wake_at = retry_at
            if self._observed_time is not None and self._observed.holder_identity:
                expires = self._observed_time + self._observed.lease_duration_seconds
                wake_at = min(wake_at, expires + EXPIRY_MARGIN)
            timeout = wake_at - self._clock.monotonic()
            if timeout <= 0:
                return
            self._changed.clear()
            sleeper = asyncio.ensure_future(self._clock.sleep(timeout))
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                changed.cancel()
            if sleeper.done() and not sleeper.cancelled():
                return

    async def _watch_lease(self) -> None:
        """While campaigning: observe every change of the Lease as it happens (the same
        observation rule as a read: a different record restarts the expiry clock)."""
        changes = getattr(self._lock, "changes", None)
        if changes is None:
            return
        while True:
            try:
                async for record in changes():
                    self._watching = True
                    if record != self._observed_raw:
                        self._observed_raw = record
                        self._set_observed(record)
                        self._maybe_report_transition()
                        self._changed.set()
            except Exception as err:
                log.debug("lease watch interrupted", **self._ctx(err))
            finally:
                self._watching = False
            await self._clock.sleep(self.config.retry_period)

    async def _lead(self) -> None:
        self._leading = True
        self._gauge.set(1)
        self._lock.record_event("became leader")
        log.info("acquired leader lease", lease=self._lock.describe(), identity=self.identity)
        work = asyncio.create_task(
            self._call("on_started_leading", self._on_started_leading, reraise=True),
            name=f"leader:{self.config.lease_name}",
        )
        end: _End | None = None
        try:
            end = await self._renew(work)
        finally:
            self._leading = False
            self._gauge.set(0)
            log.info(
                "stopped leading",
                lease=self._lock.describe(),
                reason=end.value if end else "cancelled",
            )
            try:
                # Release only once the leader's work has stopped: never two leaders at once.
                if await self._stop_work(work) and self.config.release_on_cancel:
                    await self._release()
            finally:
                self._lock.record_event("stopped leading")
        if end is _End.WORK_FAILED:
            error = work.exception()
            assert error is not None
            raise error

    async def _renew(self, work: asyncio.Task[None]) -> _End:
        while True:
            deadline = self._clock.monotonic() + self.config.renew_deadline
            while True:
                remaining = deadline - self._clock.monotonic()
                renewed = remaining > 0 and await self._attempt(remaining)
                self._maybe_report_transition()
                if renewed:
                    break
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    log.warning("failed to renew lease", lease=self._lock.describe())
                    return _End.LOST
                if await self._pause(min(self.config.retry_period, remaining), work):
                    return _End.WORK_FAILED
            if await self._pause(self.config.retry_period, work):
                return _End.WORK_FAILED

    async def _attempt(self, timeout: float | None) -> bool:
        """try_acquire_or_renew, bounded by timeout (the rest of the renew deadline)."""
        try:
            async with asyncio.timeout(timeout):
                return await self.try_acquire_or_renew()
        except TimeoutError:
            log.warning("lease attempt timed out", lease=self._lock.describe())
            return False

    async def _pause(self, seconds: float, work: asyncio.Task[None]) -> bool:
        """Sleeps; returns True early if the leader's work failed."""
        if _failed(work):
            return True
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            if not work.done():
                await asyncio.wait({sleeper, work}, return_when=asyncio.FIRST_COMPLETED)
                if _failed(work):
                    return True
            await sleeper
            return False
        finally:
            sleeper.cancel()

    async def _stop_work(self, work: asyncio.Task[None]) -> bool:
        """Cancels on_started_leading's task; True once it has finished."""
        work.cancel()
        await asyncio.wait({work}, timeout=self.config.renew_deadline)
        if not work.done():
            log.error(
                "on_started_leading did not stop within renew_deadline; lease not released",
                lease=self._lock.describe(),
            )
            return False
        if not work.cancelled():
            work.exception()  # retrieved (it was logged when raised)
        return True

    async def _release(self) -> bool:
        """Clears the holder (duration 1 s, transitions kept) so a candidate can take over at
        once; retries on conflict until renew_deadline. False if it could not."""
        deadline = self._clock.monotonic() + self.config.renew_deadline
        while self._holds_observed():
            now = self._clock.wall()
            released = LeaderElectionRecord(
                holder_identity="",
                lease_duration_seconds=1,
                acquire_time=now,
                renew_time=now,
                leader_transitions=self._observed.leader_transitions,
            )
            remaining = deadline - self._clock.monotonic()
            try:
                async with asyncio.timeout(max(remaining, 0.001)):
                    try:
                        await self._lock.update(released)
                    except ConflictError:
                        # Someone wrote the Lease since we did: read it, and release only if
                        # it is still ours (the read also refreshes the resourceVersion).
                        current = await self._lock.get()
                        self._observed_raw = current
                        self._set_observed(current)
                        continue
            except Exception as err:
                log.warning("failed to release lease", **self._ctx(err))
            else:
                self._set_observed(released)
                log.info("released leader lease", lease=self._lock.describe())
                return True
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                log.error("gave up releasing lease", lease=self._lock.describe())
                return False
            await self._clock.sleep(min(self.config.retry_period, remaining))
        return True

    # --- callbacks ---------------------------------------------------------------------------

    def _maybe_report_transition(self) -> None:
        holder = self._observed.holder_identity
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        log.info("new leader observed", lease=self._lock.describe(), leader=holder)
        on_new_leader = self._on_new_leader
        if on_new_leader is None:
            return
        task = asyncio.create_task(self._call("on_new_leader", lambda: on_new_leader(holder)))
        self._callback_tasks.add(task)
        task.add_done_callback(self._callback_tasks.discard)

    async def _call(
        self, name: str, callback: Callable[[], Awaitable[Any] | Any], reraise: bool = False
    ) -> None:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception(f"{name} callback failed", lease=self._lock.describe())
            if reraise:
                raise

    def _ctx(self, err: BaseException) -> dict[str, str]:
        return {"lease": self._lock.describe(), "error": f"{type(err).__name__}: {err}"}


def _failed(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None
