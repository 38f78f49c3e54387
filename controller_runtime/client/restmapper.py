"""Kind -> resource mapping through discovery, for any group/version/kind the server serves.

Discovery documents are fetched per group-version on first use and cached. A kind missing from
a cached document triggers one refetch (a CRD may have been installed since), at most once per
REFRESH_INTERVAL per group-version, so a reconcile loop asking for an absent kind cannot storm
the server; after that the answer is NoKindMatchError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from controller_runtime.client.errors import NoKindMatchError, NotFoundError
from controller_runtime.client.rest import RestClient
from controller_runtime.clock import REAL_CLOCK, Clock

REFRESH_INTERVAL = 1.0


def split_api_version(api_version: str) -> tuple[str, str]:
    """("apps/v1") -> ("apps", "v1"); ("v1") -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class ResourceInfo:
    """How to address one kind on the server."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base


class RestMapper:
    def __init__(self, rest: RestClient, clock: Clock | None = None) -> None:
        self._rest = rest
        self._clock: Clock = REAL_CLOCK if clock is None else clock
        self._by_gv: dict[str, dict[str, ResourceInfo]] = {}
        self._fetched_at: dict[str, float] = {}

    async def _fetch(self, api_version: str) -> dict[str, ResourceInfo]:
        group, version = split_api_version(api_version)
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc: dict[str, Any] = await self._rest.request("GET", path)
        except NotFoundError:
            doc = {"resources": []}
        kinds: dict[str, ResourceInfo] = {}
        for res in doc.get("resources") or []:
            if "/" in res["name"]:  # subresources such as pods/status
                continue
            kinds[res["kind"]] = ResourceInfo(
                group, version, res["kind"], res["name"], bool(res.get("namespaced"))
            )
        self._by_gv[api_version] = kinds
        self._fetched_at[api_version] = self._clock.monotonic()
        return kinds

    async def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        kinds = self._by_gv.get(api_version)
        stale = self._clock.monotonic() - self._fetched_at.get(api_version, 0.0) >= REFRESH_INTERVAL
        if kinds is None or (kind not in kinds and stale):
            kinds = await self._fetch(api_version)
        info = kinds.get(kind)
        if info is None:
            raise NoKindMatchError(api_version, kind)
        return info

    def invalidate(self) -> None:
        self._by_gv.clear()
        self._fetched_at.clear()
