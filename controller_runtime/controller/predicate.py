"""Predicates filter events before they reach a handler; a watch's predicates are ANDed in
order and evaluation stops at the first False (controller-runtime semantics)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from controller_runtime import labels
from controller_runtime.controller.event import (
    CreateEvent,
    DeleteEvent,
    Event,
    GenericEvent,
    Object,
    UpdateEvent,
    meta,
)


class Predicate(Protocol):
    def create(self, event: CreateEvent) -> bool: ...

    def update(self, event: UpdateEvent) -> bool: ...

    def delete(self, event: DeleteEvent) -> bool: ...

    def generic(self, event: GenericEvent) -> bool: ...


@dataclass(frozen=True)
class Funcs:
    """A predicate from optional functions; an unset function lets the event through."""

    create_fn: Callable[[CreateEvent], bool] | None = None
    update_fn: Callable[[UpdateEvent], bool] | None = None
    delete_fn: Callable[[DeleteEvent], bool] | None = None
    generic_fn: Callable[[GenericEvent], bool] | None = None

    def create(self, event: CreateEvent) -> bool:
        return self.create_fn(event) if self.create_fn else True

    def update(self, event: UpdateEvent) -> bool:
        return self.update_fn(event) if self.update_fn else True

    def delete(self, event: DeleteEvent) -> bool:
        return self.delete_fn(event) if self.delete_fn else True

    def generic(self, event: GenericEvent) -> bool:
        return self.generic_fn(event) if self.generic_fn else True


class _UpdateOnly:
    """Base of the *Changed predicates: only updates are judged."""

    def create(self, event: CreateEvent) -> bool:
        return True

    def delete(self, event: DeleteEvent) -> bool:
        return True

    def generic(self, event: GenericEvent) -> bool:
        return True

    def update(self, event: UpdateEvent) -> bool:
        return self.changed(meta(event.object_old), meta(event.object_new))

    def changed(self, old: dict[str, object], new: dict[str, object]) -> bool:
        raise NotImplementedError


class ResourceVersionChanged(_UpdateOnly):
    """Drops resyncs and relist echoes (same resourceVersion)."""

    def changed(self, old: dict[str, object], new: dict[str, object]) -> bool:
        return old.get("resourceVersion") != new.get("resourceVersion")


class GenerationChanged(_UpdateOnly):
    """Drops status-only and metadata-only writes of kinds with a status subresource. Built-in
    kinds differ (e.g. a Deployment's annotations bump its generation)."""

    def changed(self, old: dict[str, object], new: dict[str, object]) -> bool:
        return old.get("generation") != new.get("generation")


class LabelChanged(_UpdateOnly):
    def changed(self, old: dict[str, object], new: dict[str, object]) -> bool:
        return (old.get("labels") or {}) != (new.get("labels") or {})


class AnnotationChanged(_UpdateOnly):
    def changed(self, old: dict[str, object], new: dict[str, object]) -> bool:
        return (old.get("annotations") or {}) != (new.get("annotations") or {})


class LabelSelectorPredicate:
    """Events of objects whose labels match (for updates: the new object)."""

    def __init__(self, selector: str | labels.Selector) -> None:
        self.selector = labels.parse(selector) if isinstance(selector, str) else selector

    def _match(self, obj: Object) -> bool:
        return self.selector.matches(meta(obj).get("labels"))

    def create(self, event: CreateEvent) -> bool:
        return self._match(event.object)

    def update(self, event: UpdateEvent) -> bool:
        return self._match(event.object_new)

    def delete(self, event: DeleteEvent) -> bool:
        return self._match(event.object)

    def generic(self, event: GenericEvent) -> bool:
        return self._match(event.object)


def new_predicate_funcs(fn: Callable[[Object], bool]) -> Funcs:
    """One function of the object for every event (for updates: the new object)."""
    return Funcs(
        create_fn=lambda e: fn(e.object),
        update_fn=lambda e: fn(e.object_new),
        delete_fn=lambda e: fn(e.object),
        generic_fn=lambda e: fn(e.object),
    )


def evaluate(predicate: Predicate, event: Event) -> bool:
    if isinstance(event, CreateEvent):
        return predicate.create(event)
    if isinstance(event, UpdateEvent):
        return predicate.update(event)
    if isinstance(event, DeleteEvent):
        return predicate.delete(event)
    return predicate.generic(event)


def all_pass(predicates: Sequence[Predicate], event: Event) -> bool:
    """In order, stopping at the first False."""
    return all(evaluate(p, event) for p in predicates)


class _Combined:
    def __init__(self, predicates: Sequence[Predicate], combine: Callable[..., bool]) -> None:
        self.predicates = list(predicates)
        self.combine = combine

    def _judge(self, event: Event) -> bool:
        return self.combine(evaluate(p, event) for p in self.predicates)

    def create(self, event: CreateEvent) -> bool:
        return self._judge(event)

    def update(self, event: UpdateEvent) -> bool:
        return self._judge(event)

    def delete(self, event: DeleteEvent) -> bool:
        return self._judge(event)

    def generic(self, event: GenericEvent) -> bool:
        return self._judge(event)


def and_(*predicates: Predicate) -> Predicate:
    return _Combined(predicates, all)


def or_(*predicates: Predicate) -> Predicate:
    return _Combined(predicates, any)


def not_(predicate: Predicate) -> Predicate:
    return _Combined([predicate], lambda results: not next(iter(results)))
