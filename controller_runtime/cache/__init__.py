"""Informers and the cache: list+watch reflectors, indexed stores, shared informers, reads."""

from controller_runtime.cache.cache import (
    ALL_NAMESPACES,
    ByObject,
    Cache,
    CacheNotStartedError,
    ResourceNotCachedError,
    field_index_name,
)
from controller_runtime.cache.informer import (
    DeletedFinalStateUnknown,
    EventHandler,
    HandlerRegistration,
    SharedIndexInformer,
    strip_managed_fields,
)
from controller_runtime.cache.reflector import Backoff, Reflector
from controller_runtime.cache.store import (
    NAMESPACE_INDEX,
    IndexFunc,
    Store,
    copy_object,
    object_key,
)

__all__ = [
    "ALL_NAMESPACES",
    "NAMESPACE_INDEX",
    "Backoff",
    "ByObject",
    "Cache",
    "CacheNotStartedError",
    "DeletedFinalStateUnknown",
    "EventHandler",
    "HandlerRegistration",
    "IndexFunc",
    "Reflector",
    "ResourceNotCachedError",
    "SharedIndexInformer",
    "Store",
    "copy_object",
    "field_index_name",
    "object_key",
    "strip_managed_fields",
]
