"""Hypothesis settings of the bad-input suite, chosen by ``BADINPUT_PROFILE``.

- ``ci`` (default): few examples, derandomized, so a CI run is short and every run draws the
  same objects (a failure reproduces by rerunning the test);
- ``thorough``: many examples from a random seed; hypothesis prints the seed and the
  ``@reproduce_failure`` blob of any failure, and keeps failing examples in its database.

Applied per test (``@BADINPUT``), not loaded globally: other suites keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("BADINPUT_PROFILE", "ci")
PROFILES = {
    "ci": settings(max_examples=30, derandomize=True, database=None),
    "thorough": settings(max_examples=400, print_blob=True),
}

# Examples share the test's namespace (a function-scoped fixture) on purpose: every example
# creates objects under fresh names, so nothing one example leaves behind affects another.
BADINPUT = settings(
    PROFILES[PROFILE],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Operator runs (one per example, each a full batch): 2 in CI, 8 when thorough.
BATCHES = 8 if PROFILE == "thorough" else 2
