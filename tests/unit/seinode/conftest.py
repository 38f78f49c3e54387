"""Fixtures of the SeiNode rendering unit tests."""

from __future__ import annotations

import pytest

from controllers.platform import Platform
from tests.fixtures.platform import platform_for_tests


@pytest.fixture
def platform() -> Platform:
    return platform_for_tests()
