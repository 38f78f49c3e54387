"""Platform configuration from the SEI_* environment (spec 5.1)."""

from __future__ import annotations

import pydantic
import pytest

from controllers.platform import Platform, PlatformConfigError
from tests.fixtures.platform import PLATFORM_TEST_ENV


def _env(**changes: str | None) -> dict[str, str]:
    """The test environment with variables replaced (None removes one)."""
    env = dict(PLATFORM_TEST_ENV)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _problems(**changes: str | None) -> tuple[str, ...]:
    with pytest.raises(PlatformConfigError) as caught:
        Platform.from_env(_env(**changes))
    return caught.value.problems


def test_every_variable_is_read_into_its_field() -> None:
    platform = Platform.from_env(PLATFORM_TEST_ENV)
    fields = {name: getattr(platform, name) for name in Platform.model_fields}
    expected = {k.removeprefix("SEI_").lower(): v for k, v in PLATFORM_TEST_ENV.items()}
    assert fields == {**expected, "gateway_public_domain": ""}


def test_public_gateway_domain_is_read_when_set() -> None:
    platform = Platform.from_env(_env(SEI_GATEWAY_PUBLIC_DOMAIN="test.sei.io"))
    assert platform.gateway_public_domain == "test.sei.io"


def test_missing_variable_is_reported_as_required() -> None:
    assert _problems(SEI_NODEPOOL_NAME=None) == ("SEI_NODEPOOL_NAME is required",)


def test_empty_variable_is_reported_as_required() -> None:
    assert _problems(SEI_SNAPSHOT_BUCKET="") == ("SEI_SNAPSHOT_BUCKET is required",)


def test_empty_public_gateway_domain_is_allowed() -> None:
    assert Platform.from_env(_env(SEI_GATEWAY_PUBLIC_DOMAIN="")).gateway_public_domain == ""


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(PlatformConfigError) as caught:
        Platform.from_env(_env(SEI_TOLERATION_KEY=None, SEI_GENESIS_REGION=""))
    assert str(caught.value) == "SEI_TOLERATION_KEY is required; SEI_GENESIS_REGION is required"


def test_an_empty_environment_names_all_twenty_two_required_variables() -> None:
    with pytest.raises(PlatformConfigError) as caught:
        Platform.from_env({})
    assert len(caught.value.problems) == 22


@pytest.mark.parametrize(
    "variable",
    [
        "SEI_STORAGE_SIZE_DEFAULT",
        "SEI_STORAGE_SIZE_ARCHIVE",
        "SEI_RESOURCE_CPU_ARCHIVE",
        "SEI_RESOURCE_MEM_ARCHIVE",
        "SEI_RESOURCE_CPU_DEFAULT",
        "SEI_RESOURCE_MEM_DEFAULT",
    ],
)
def test_malformed_quantity_names_the_variable_and_value(variable: str) -> None:
    assert _problems(**{variable: "2000GB"}) == (
        f"{variable} is not a Kubernetes quantity: '2000GB'",
    )


def test_negative_quantity_is_rejected() -> None:
    assert _problems(SEI_RESOURCE_CPU_DEFAULT="-4") == (
        "SEI_RESOURCE_CPU_DEFAULT is a negative quantity: '-4'",
    )


@pytest.mark.parametrize("quantity", ["500m", "1.5", "4", "32Gi", "1e3", "2T"])
def test_valid_quantity_forms_are_accepted(quantity: str) -> None:
    assert Platform.from_env(_env(SEI_RESOURCE_CPU_DEFAULT=quantity)).resource_cpu_default == (
        quantity
    )


def test_unrelated_variables_are_ignored() -> None:
    platform = Platform.from_env(_env(SEI_SOMETHING_ELSE="x", PATH="/bin"))
    assert platform == Platform.from_env(PLATFORM_TEST_ENV)


def test_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLATFORM_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SEI_NODEPOOL_NAME", "from-process")
    assert Platform.from_env().nodepool_name == "from-process"


def test_given_mapping_does_not_fall_back_to_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEI_NODEPOOL_NAME", "from-process")
    assert _problems(SEI_NODEPOOL_NAME=None) == ("SEI_NODEPOOL_NAME is required",)


def test_platform_is_immutable() -> None:
    platform = Platform.from_env(PLATFORM_TEST_ENV)
    with pytest.raises(pydantic.ValidationError):
        platform.nodepool_name = "other"
