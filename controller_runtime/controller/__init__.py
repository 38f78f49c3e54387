"""Controllers: workers applying reconcile results, sources, handlers, predicates, builder."""

from controller_runtime.controller.controller import (
    EXPECTED_ERRORS,
    Controller,
    ControllerOptions,
    ReconcileError,
)
from controller_runtime.controller.event import (
    CreateEvent,
    DeleteEvent,
    Event,
    GenericEvent,
    UpdateEvent,
)
from controller_runtime.controller.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventHandler,
)
from controller_runtime.controller.predicate import (
    AnnotationChanged,
    Funcs,
    GenerationChanged,
    LabelChanged,
    LabelSelectorPredicate,
    Predicate,
    ResourceVersionChanged,
    and_,
    new_predicate_funcs,
    not_,
    or_,
)
from controller_runtime.controller.reconcile import (
    Reconciler,
    Request,
    Result,
    TerminalError,
    as_reconciler,
)
from controller_runtime.controller.source import Channel, Kind, Source

__all__ = [
    "EXPECTED_ERRORS",
    "AnnotationChanged",
    "Channel",
    "Controller",
    "ControllerOptions",
    "CreateEvent",
    "DeleteEvent",
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc",
    "Event",
    "EventHandler",
    "Funcs",
    "GenerationChanged",
    "GenericEvent",
    "Kind",
    "LabelChanged",
    "LabelSelectorPredicate",
    "Predicate",
    "ReconcileError",
    "Reconciler",
    "Request",
    "ResourceVersionChanged",
    "Result",
    "Source",
    "TerminalError",
    "UpdateEvent",
    "and_",
    "as_reconciler",
    "new_predicate_funcs",
    "not_",
    "or_",
]
