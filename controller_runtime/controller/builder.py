"""The builder: `Builder(mgr).for_(...).owns(...).watches(...).complete(reconciler)`.

Predicates of a watch are the global event filters followed by the watch's own, ANDed in order.
The controller's name defaults to the lower-cased kind of the For() type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller_runtime.controller.controller import Controller, ControllerOptions
from controller_runtime.controller.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EventHandler,
)
from controller_runtime.controller.predicate import Predicate
from controller_runtime.controller.reconcile import ReconcileFunc, Reconciler
from controller_runtime.controller.source import Kind, Source

if TYPE_CHECKING:
    from controller_runtime.manager import Manager


@dataclass
class _Watch:
    api_version: str
    kind: str
    handler: EventHandler | None  # None: enqueue the For() owner (an Owns() watch)
    predicates: list[Predicate] = field(default_factory=list)
    only_controller: bool = True


class BuilderError(ValueError):
    pass


class Builder:
    def __init__(self, manager: Manager) -> None:
        self._manager = manager
        self._for: _Watch | None = None
        self._owns: list[_Watch] = []
        self._watches: list[_Watch] = []
        self._raw_sources: list[Source] = []
        self._filters: list[Predicate] = []
        self._options: ControllerOptions | None = None
        self._name = ""

    def for_(self, api_version: str, kind: str, *, predicates: Sequence[Predicate] = ()) -> Builder:
        if self._for is not None:
            raise BuilderError(
                "For(...) should only be called once, "
                "could not assign multiple objects for reconciliation"
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
        self._watches.append(_Watch(api_version, kind, handler, list(predicates)))
        return self

    def watches_raw_source(self, source: Source) -> Builder:
        """A source used as is: global event filters do not apply to it."""
        self._raw_sources.append(source)
        return self

    def with_event_filter(self, predicate: Predicate) -> Builder:
        self._filters.append(predicate)
        return self

    def with_options(self, options: ControllerOptions) -> Builder:
        self._options = options
        return self

    def named(self, name: str) -> Builder:
        self._name = name
        return self

    def complete(self, reconciler: Reconciler | ReconcileFunc) -> Controller:
        """Builds the controller and adds it to the manager."""
        if self._for is None and not self._name:
            raise BuilderError("one of For() or Named() must be called")
        if self._owns and self._for is None:
            raise BuilderError("Owns() can only be used together with For()")
        if not (self._for or self._owns or self._watches or self._raw_sources):
            raise BuilderError(
                "there are no watches configured, controller will never get triggered. "
                "Use For(), Owns(), Watches() or WatchesRawSource() to set them up."
            )
        name = self._name or (self._for.kind.lower() if self._for else "")
        group_kind = ("", "")
        if self._for is not None:
            group_kind = (self._for.api_version.rpartition("/")[0], self._for.kind)
        controller = Controller(
            name,
            reconciler,
            self._options,
            group_kind=group_kind,
            registry=self._manager.registry,
        )
        cache = self._manager.cache
        for watch in self._all_watches():
            handler = watch.handler
            if handler is None:
                assert self._for is not None
                handler = EnqueueRequestForOwner(
                    self._for.api_version, self._for.kind, watch.only_controller
                )
            predicates = [*self._filters, *watch.predicates]
            controller.watch(Kind(cache, watch.api_version, watch.kind, handler, predicates))
        for source in self._raw_sources:
            controller.watch(source)
        self._manager.add(controller)
        return controller

    def _all_watches(self) -> list[_Watch]:
        return ([self._for] if self._for else []) + self._owns + self._watches
