"""The client: every verb on any kind the server serves, objects as plain JSON dicts.

Objects identify themselves (`apiVersion`, `kind`, `metadata.name`, `metadata.namespace`); reads
take the kind explicitly. Writes go straight to the API server; cached reads live in
controller_runtime.cache and are combined with these writes by the manager's client.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from controller_runtime.client.rest import Params, RestClient
from controller_runtime.client.restmapper import ResourceInfo, RestMapper

Object = dict[str, Any]


class PatchType(StrEnum):
    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class PropagationPolicy(StrEnum):
    ORPHAN = "Orphan"
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"


@dataclass(frozen=True)
class Preconditions:
    """Delete only if the object still has this uid / resourceVersion (else 409 Conflict)."""

    uid: str | None = None
    resource_version: str | None = None


def _meta(obj: Object) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ValueError("object needs metadata.name")
    return meta


def _kind_of(obj: Object) -> tuple[str, str]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version or not kind:
        raise ValueError("object needs apiVersion and kind")
    return str(api_version), str(kind)


def merge_patch(original: Any, modified: Any) -> Any:
    """The RFC 7386 JSON merge patch that turns original into modified (None: no change
    needed at this level is represented by an empty dict at the top)."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return copy.deepcopy(modified)
    patch: dict[str, Any] = {}
    for key in original.keys() - modified.keys():
        patch[key] = None
    for key, value in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(value)
        elif original[key] != value:
            if isinstance(original[key], dict) and isinstance(value, dict):
                patch[key] = merge_patch(original[key], value)
            else:
                patch[key] = copy.deepcopy(value)
    return patch


def merge_from(original: Object, modified: Object, optimistic_lock: bool = False) -> Object:
    """Like controller-runtime's MergeFrom: the merge patch from original to modified; with
    optimistic_lock it carries original's resourceVersion, so the server answers 409 Conflict
    when the object changed in between."""
    patch: Object = merge_patch(original, modified)
    if optimistic_lock:
        rv = (original.get("metadata") or {}).get("resourceVersion")
        if rv:
            patch.setdefault("metadata", {})["resourceVersion"] = rv
    return patch


def _delete_options(
    propagation_policy: PropagationPolicy | None, grace_period_seconds: int | None, dry_run: bool
) -> Object:
    options: Object = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy is not None:
        options["propagationPolicy"] = propagation_policy.value
    if grace_period_seconds is not None:
        options["gracePeriodSeconds"] = grace_period_seconds
    if dry_run:
        options["dryRun"] = ["All"]
    return options


class Client:
    """Direct (uncached) access to the API server."""

    def __init__(
        self, rest: RestClient, mapper: RestMapper | None = None, field_owner: str | None = None
    ) -> None:
        self.rest = rest
        self.mapper = mapper or RestMapper(rest)
        self.field_owner = field_owner

    async def resource(self, api_version: str, kind: str) -> ResourceInfo:
        return await self.mapper.resource_for(api_version, kind)

    async def _target(self, obj: Object, subresource: str | None = None) -> str:
        info = await self.resource(*_kind_of(obj))
        meta = _meta(obj)
        return info.path(meta.get("namespace"), meta["name"], subresource)

    def _write_params(
        self, dry_run: bool, field_manager: str | None, force: bool | None = None
    ) -> dict[str, str | bool | None]:
        return {
            "dryRun": "All" if dry_run else None,
            "fieldManager": field_manager or self.field_owner,
            "force": force,
        }

    # --- reads -----------------------------------------------------------------------------

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Object:
        info = await self.resource(api_version, kind)
        result: Object = await self.rest.request("GET", info.path(namespace, name))
        return result

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> Object:
        """One page of a list (the whole list without limit); `metadata.continue` pages on."""
        info = await self.resource(api_version, kind)
        params: Params = {
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "limit": limit,
            "continue": continue_token,
            "resourceVersion": resource_version,
        }
        result: Object = await self.rest.request("GET", info.path(namespace), params=params)
        return result

    @asynccontextmanager
    async def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        send_initial_events: bool | None = None,
        read_timeout: float | None = None,
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """A watch stream of `{"type", "object"}` events; see RestClient.stream.

        send_initial_events=True makes it a streaming list (WatchList): the current state as
        ADDED events, then a BOOKMARK annotated `k8s.io/initial-events-end`, then changes."""
        info = await self.resource(api_version, kind)
        params: Params = {
            "watch": True,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": allow_bookmarks,
            "sendInitialEvents": send_initial_events,
            "resourceVersionMatch": "NotOlderThan" if send_initial_events else None,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "timeoutSeconds": timeout_seconds,
        }
        async with self.rest.stream(
            info.path(namespace), params=params, read_timeout=read_timeout
        ) as events:
            yield events

    # --- writes ----------------------------------------------------------------------------

    async def create(
        self, obj: Object, *, dry_run: bool = False, field_manager: str | None = None
    ) -> Object:
        info = await self.resource(*_kind_of(obj))
        namespace = (obj.get("metadata") or {}).get("namespace")
        result: Object = await self.rest.request(
            "POST",
            info.path(namespace),
            params=self._write_params(dry_run, field_manager),
            body=obj,
        )
        return result

    async def update(
        self,
        obj: Object,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        subresource: str | None = None,
    ) -> Object:
        """PUT; the object's metadata.resourceVersion makes it fail with Conflict if stale."""
        result: Object = await self.rest.request(
            "PUT",
            await self._target(obj, subresource),
            params=self._write_params(dry_run, field_manager),
            body=obj,
        )
        return result

    async def patch(
        self,
        obj: Object,
        patch: Any,
        patch_type: PatchType = PatchType.MERGE,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        force: bool | None = None,
        subresource: str | None = None,
    ) -> Object:
        """Patches the object that obj identifies with a patch body of the given type."""
        result: Object = await self.rest.request(
            "PATCH",
            await self._target(obj, subresource),
            params=self._write_params(dry_run, field_manager, force),
            body=patch,
            content_type=patch_type.value,
        )
        return result

    async def apply(
        self,
        obj: Object,
        *,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> Object:
        """Server-side apply of obj (the fields this manager wants to own). Without force, a
        field owned by another manager with a different value fails with ConflictError."""
        manager = field_manager or self.field_owner
        if not manager:
            raise ValueError("server-side apply needs a field manager")
        return await self.patch(
            obj,
            obj,
            PatchType.APPLY,
            dry_run=dry_run,
            field_manager=manager,
            force=force,
            subresource=subresource,
        )

    async def delete(
        self,
        obj: Object,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> Object | None:
        """Deletes the object obj identifies; returns the server's answer (the object while
        finalizers or foreground deletion keep it, else a Status)."""
        options = _delete_options(propagation_policy, grace_period_seconds, dry_run)
        if preconditions is not None:
            options["preconditions"] = {
                k: v
                for k, v in (
                    ("uid", preconditions.uid),
                    ("resourceVersion", preconditions.resource_version),
                )
                if v is not None
            }
        result: Object | None = await self.rest.request(
            "DELETE", await self._target(obj), body=options
        )
        return result

    async def delete_all_of(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: PropagationPolicy | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> Object:
        """Deletes every object of the kind (in namespace, if given) that the selectors match,
        in one request (the deletecollection verb; controller-runtime's DeleteAllOf). Without
        selectors that is all of them. Returns the server's answer: a list of the objects as
        deleted (those kept by finalizers show their deletionTimestamp)."""
        info = await self.resource(api_version, kind)
        params: Params = {"labelSelector": label_selector, "fieldSelector": field_selector}
        result: Object = await self.rest.request(
            "DELETE",
            info.path(namespace),
            params=params,
            body=_delete_options(propagation_policy, grace_period_seconds, dry_run),
        )
        return result

    def status(self) -> SubResourceClient:
        return SubResourceClient(self, "status")

    def subresource(self, name: str) -> SubResourceClient:
        return SubResourceClient(self, name)


class SubResourceClient:
    """Writes to one subresource (e.g. status) of the objects it is given."""

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    async def get(self, obj: Object) -> Object:
        result: Object = await self._client.rest.request(
            "GET", await self._client._target(obj, self.name)
        )
        return result

    async def update(self, obj: Object, **kwargs: Any) -> Object:
        return await self._client.update(obj, subresource=self.name, **kwargs)

    async def patch(
        self, obj: Object, patch: Any, patch_type: PatchType = PatchType.MERGE, **kwargs: Any
    ) -> Object:
        return await self._client.patch(obj, patch, patch_type, subresource=self.name, **kwargs)

    async def apply(self, obj: Object, **kwargs: Any) -> Object:
        return await self._client.apply(obj, subresource=self.name, **kwargs)
