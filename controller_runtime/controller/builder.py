"""The builder: a controller and its watches in one chain, added to a manager.

    controller_managed_by(mgr).for_("apps/v1", "Deployment").owns("v1", "Pod").complete(r)

expands to

    c = Controller("deployment", r, options, group_kind=("apps", "Deployment"), ...)
    c.watch(Kind(mgr.cache, "apps/v1", "Deployment", EnqueueRequestForObject(), filters))
    c.watch(Kind(mgr.cache, "v1", "Pod", EnqueueRequestForOwner("apps/v1", "Deployment"), filters))
    mgr.add(c)

Every method but complete() returns the builder. Errors are raised by complete(), except
calling for_() twice, which is refused at once. The predicates of a watch are the global event
filters (with_event_filter) followed by the watch's own, ANDed in order; raw sources get none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from controller_runtime.controller.controller import Controller
from controller_runtime.controller.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EventHandler,
)
from controller_runtime.controller.options import ControllerOptions
from controller_runtime.controller.predicate import Predicate
from controller_runtime.controller.reconcile import ReconcileFunc, Reconciler
from controller_runtime.controller.source import Kind, Source

if TYPE_CHECKING:
    from controller_runtime.manager import Manager

__all__ = ["Builder", "BuilderError", "controller_managed_by"]


@dataclass
class _Watch:
    api_version: str
    kind: str
    handler: EventHandler | None  # None: enqueue the for_() owner (an owns() watch)
    predicates: list[Predicate] = field(default_factory=list)
    only_controller: bool = True


class BuilderError(ValueError):
    """The builder chain cannot make a controller; the message says what to change."""


def controller_managed_by(manager: Manager) -> Builder:
    """Starts a builder chain for a controller run by manager (controller-runtime's
    NewControllerManagedBy); the same as Builder(manager)."""
    return Builder(manager)


class Builder:
    """Collects a controller's watches and options; complete() builds and registers it."""

    def __init__(self, manager: Manager) -> None:
        self._manager = manager
        self._for: _Watch | None = None
        self._owns: list[_Watch] = []
        self._watches: list[_Watch] = []
        self._raw_sources: list[Source] = []
        self._filters: list[Predicate] = []
        self._options: ControllerOptions | None = None
        self._name = ""
        self._built: Controller | None = None

    def for_(self, api_version: str, kind: str, *, predicates: Sequence[Predicate] = ()) -> Builder:
        """The kind this controller reconciles. Expands to a watch
        `Kind(mgr.cache, api_version, kind, EnqueueRequestForObject(), filters + predicates)`:
        every event of an object enqueues that object's own namespace/name. Also names the
        controller after the lower-cased kind (unless named()), keys the manager's per-kind
        concurrency, and is the owner kind owns() looks for. Callable once."""
        if self._for is not None:
            raise BuilderError(
                f"for_() should only be called once, could not assign multiple objects for "
                f"reconciliation (already for_({self._for.api_version!r}, {self._for.kind!r})). "
                "Use owns() or watches() for the other kinds"
            )
        self._for = _Watch(api_version, kind, EnqueueRequestForObject(), list(predicates))
        return self

    def owns(
        self,
        api_version: str,
        kind: str,
        *,
        predicates: Sequence[Predicate] = (),
        match_every_owner: bool = False,
    ) -> Builder:
        """A kind this controller creates and owns. Expands to a watch
        `Kind(mgr.cache, api_version, kind, EnqueueRequestForOwner(<for_ kind>), ...)`: an
        event of an owned object enqueues its controller owner of the for_() kind (every owner
        reference of that kind with match_every_owner=True). Needs for_()."""
        self._owns.append(_Watch(api_version, kind, None, list(predicates), not match_every_owner))
        return self

    def watches(
        self,
        api_version: str,
        kind: str,
        handler: EventHandler,
        *,
        predicates: Sequence[Predicate] = (),
    ) -> Builder:
        """Any other kind, with your own handler. Expands to a watch
        `Kind(mgr.cache, api_version, kind, handler, filters + predicates)`; e.g.
        EnqueueRequestsFromMapFunc(fn) maps an event to the requests fn returns."""
        self._watches.append(_Watch(api_version, kind, handler, list(predicates)))
        return self

    def watches_raw_source(self, source: Source) -> Builder:
        """A source used as is (e.g. a Channel fed by code): `controller.watch(source)`.
        The global event filters do not apply to it."""
        self._raw_sources.append(source)
        return self

    def with_event_filter(self, predicate: Predicate) -> Builder:
        """A predicate every event of the for_(), owns() and watches() watches must pass,
        checked before each watch's own predicates."""
        self._filters.append(predicate)
        return self

    def with_options(self, options: ControllerOptions) -> Builder:
        """The controller's options. Fields left None take the manager's defaults
        (ManagerOptions.controller): the per-kind concurrency of the for_() kind, else
        max_concurrent_reconciles, cache_sync_timeout, and so on."""
        self._options = options
        return self

    def named(self, name: str) -> Builder:
        """The controller's name, used in metrics labels and logs; it must be unique per
        manager. Default: the lower-cased for_() kind."""
        self._name = name
        return self

    def complete(self, reconciler: Reconciler | ReconcileFunc) -> Controller:
        """Builds the controller with its watches and adds it to the manager (leader-gated
        unless need_leader_election=False); returns it. Callable once per builder."""
        if self._built is not None:
            raise BuilderError(
                f"complete() was already called and built controller {self._built.name!r}; a "
                "builder makes one controller. Start a new controller_managed_by(mgr) chain "
                "for another one"
            )
        self._validate()
        manager = self._manager
        name = self._name or (self._for.kind.lower() if self._for else "")
        options = self._options or ControllerOptions()
        group_kind = ("", "")
        if self._for is not None:
            group_kind = (self._for.api_version.rpartition("/")[0], self._for.kind)
        defaults = manager.options.controller
        if options.max_concurrent_reconciles is None and self._for is not None:
            per_kind = defaults.concurrency_for(*group_kind)
            if per_kind is not None and per_kind > 0:
                options = replace(options, max_concurrent_reconciles=per_kind)
        controller = Controller(
            name,
            reconciler,
            options,
            group_kind=group_kind,
            registry=manager.registry,
            defaults=defaults,
        )
        for watch in self._all_watches():
            handler = watch.handler
            if handler is None:
                assert self._for is not None
                handler = EnqueueRequestForOwner(
                    self._for.api_version, self._for.kind, watch.only_controller
                )
            predicates = [*self._filters, *watch.predicates]
            controller.watch(
                Kind(manager.cache, watch.api_version, watch.kind, handler, predicates)
            )
        for source in self._raw_sources:
            controller.watch(source)
        manager.add(controller)
        self._built = controller
        return controller

    def _validate(self) -> None:
        if self._for is None and not self._name:
            raise BuilderError(
                "one of for_() or named() must be called: the controller is named after the "
                "for_() kind, so a controller without for_() needs named()"
            )
        if self._owns and self._for is None:
            owned = ", ".join(f"owns({w.api_version!r}, {w.kind!r})" for w in self._owns)
            raise BuilderError(
                f"{owned} can only be used together with for_(): owned objects enqueue their "
                "owner of the for_() kind. Call for_(), or use watches() with your own handler"
            )
        if not (self._for or self._owns or self._watches or self._raw_sources):
            raise BuilderError(
                "there are no watches configured, controller will never get triggered. "
                "Use for_(), owns(), watches() or watches_raw_source() to set them up"
            )

    def _all_watches(self) -> list[_Watch]:
        return ([self._for] if self._for else []) + self._owns + self._watches
