"""Platform configuration: the manager's ``SEI_*`` environment (spec 5.1).

Read once at start-up. Every variable is required except ``SEI_GATEWAY_PUBLIC_DOMAIN``; a
missing, empty or malformed variable stops start-up with one :class:`PlatformConfigError` that
names every offending variable, so an operator fixes the manifest in one round.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from api.v1alpha1.scalars import QUANTITY_PATTERN

__all__ = ["ENV_PREFIX", "Platform", "PlatformConfigError", "env_var_name"]

ENV_PREFIX = "SEI_"

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
_NOT_A_QUANTITY = "not a Kubernetes quantity"
_NEGATIVE_QUANTITY = "a negative quantity"


def _check_quantity(value: str) -> str:
    # Same grammar as core/v1 resource.Quantity; requests and sizes are never negative.
    if not _QUANTITY_RE.match(value):
        raise ValueError(_NOT_A_QUANTITY)
    if value.startswith("-"):
        raise ValueError(_NEGATIVE_QUANTITY)
    return value


# Go's platform config rejects "" as missing; so do we (min_length), with the same message.
Required = Annotated[str, Field(min_length=1)]
KubeQuantity = Annotated[str, Field(min_length=1), AfterValidator(_check_quantity)]


class PlatformConfigError(ValueError):
    """The platform environment is incomplete or malformed; ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


def env_var_name(field: str) -> str:
    """``nodepool_name`` -> ``SEI_NODEPOOL_NAME``."""
    return ENV_PREFIX + field.upper()


class _MappingEnvSource(EnvSettingsSource):
    """The standard environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Case-insensitive like the standard source on this model (keys compared lowercased).
        return {key.lower(): value for key, value in self._environ.items()}


class Platform(BaseSettings):
    """Cluster-wide settings every rendered child object depends on (spec 5.1)."""

    # case_sensitive=False: field names are lowercase, the variables uppercase.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, frozen=True, extra="ignore"
    )

    nodepool_name: Required
    toleration_key: Required
    toleration_value: Required
    service_account: Required
    storage_class_perf: Required
    storage_class_default: Required
    storage_size_default: KubeQuantity
    storage_size_archive: KubeQuantity
    resource_cpu_archive: KubeQuantity
    resource_mem_archive: KubeQuantity
    resource_cpu_default: KubeQuantity
    resource_mem_default: KubeQuantity
    snapshot_bucket: Required
    snapshot_region: Required
    result_export_bucket: Required
    result_export_region: Required
    result_export_prefix: Required
    genesis_bucket: Required
    genesis_region: Required
    gateway_name: Required
    gateway_namespace: Required
    gateway_domain: Required
    gateway_public_domain: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only from_env reads an environment, and only the one it is given: a test's mapping
        # never silently picks up a variable of the process.
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Platform:
        """Platform of ``environ`` (default: the process environment).

        Raises PlatformConfigError naming every missing, empty or malformed variable.
        """
        source = _MappingEnvSource(cls, os.environ if environ is None else environ)
        values: dict[str, Any] = source()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise PlatformConfigError(_problems(exc)) from None


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        variable = env_var_name(str(error["loc"][0]))
        kind = error["type"]
        if kind in ("missing", "string_too_short"):
            problems.append(f"{variable} is required")
        elif kind == "value_error":
            # Our quantity check; the message says which rule, the input is quoted verbatim.
            reason = _NEGATIVE_QUANTITY if _NEGATIVE_QUANTITY in error["msg"] else _NOT_A_QUANTITY
            problems.append(f"{variable} is {reason}: {error['input']!r}")
        else:
            problems.append(f"{variable} is invalid: {error['msg']}")
    return problems
