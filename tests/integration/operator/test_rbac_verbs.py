"""config/rbac's manager-role against what the operator really asks of the API server: every
request of every operator manager in this directory's e2e tests is recorded (the
``e2e_requests`` log: group, resource, verb as the authorizer sees them), and this check runs
after all of them (conftest orders it last, and keeps it when -k/-m deselect it).

* Always: every verb used is granted.
* When the whole e2e suite ran and passed: every granted verb was used, except the ones named
  in NOT_EXERCISED with the reason the suite cannot take their path. On a subset of the tests
  the log is partial, so only the first direction is checked, and a warning says so.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from .request_log import TEST_OUTCOMES, Access, RequestLog, granted

HERE = Path(__file__).parent
ROLE = HERE.parents[2] / "config" / "rbac" / "role.yaml"

# Granted, needed, and on paths no e2e test takes. An entry the suite starts using fails the
# check: remove it then.
NOT_EXERCISED: dict[Access, str] = {
    # The reflector lists only when the API server does not serve streaming lists (WatchList);
    # the session's control plane serves them, so the caches load by watch alone.
    **{
        (group, resource, "list"): "the reflector's list+watch fallback (no streaming lists)"
        for group, resource in [
            ("", "persistentvolumeclaims"),
            ("", "services"),
            ("apps", "statefulsets"),
            ("batch", "jobs"),
            ("sei.io", "seinodes"),
            ("sei.io", "seinodedeployments"),
        ]
    },
    # An apply that creates is authorized as create but sent (and logged) as a patch; the
    # per-node Services are also created by plain POSTs (bootstrap), so only this one is left.
    ("apps", "statefulsets", "create"): "the first server-side apply of a StatefulSet",
    # The suite's bootstrap Jobs show up in the cache before the controller looks again.
    ("batch", "jobs", "get"): "a bootstrap Job the cache does not show yet is read directly",
    # The e2e cluster has no Gateway API or Prometheus Operator CRDs: the group reconciler's
    # own tests (tests/integration/seinodedeployment/test_group_networking_with_crds.py) apply,
    # list and delete both kinds on a control plane of their own with the real CRDs.
    **{
        (group, resource, verb): "group networking and monitoring (spec.networking/.monitoring)"
        for group, resource in [
            ("gateway.networking.k8s.io", "httproutes"),
            ("monitoring.coreos.com", "servicemonitors"),
        ]
        for verb in ("list", "create", "patch", "delete")
    },
    # Not a request: the OwnerReferencesPermissionEnforcement admission plugin checks it when a
    # child's owner reference sets blockOwnerDeletion (envtest does not enable the plugin).
    ("sei.io", "seinodes/finalizers", "update"): "OwnerReferencesPermissionEnforcement",
    ("sei.io", "seinodedeployments/finalizers", "update"): "OwnerReferencesPermissionEnforcement",
}


def e2e_tests() -> set[tuple[str, str]]:
    """(file, test function) of every e2e test in this directory, read from the sources, so a
    selection that left some out is told apart from the whole suite."""
    found = set()
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        for node in ast.parse(path.read_text(), str(path)).body:
            name = getattr(node, "name", "")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and name.startswith("test"):
                found.add((path.name, name))
    return found


def test_config_rbac_grants_exactly_the_verbs_the_e2e_suite_used(
    e2e_requests: RequestLog, request: pytest.FixtureRequest
) -> None:
    ran = [i for i in request.session.items if i.path.parent == HERE and i is not request.node]
    used, role = e2e_requests.accesses, granted(ROLE)
    assert sorted(used - role) == [], "the operator used verbs config/rbac does not grant"

    selected = {(i.path.name, getattr(i, "originalname", i.name)) for i in ran}
    left_out = e2e_tests() - selected
    if left_out:
        unused = len(role - used - NOT_EXERCISED.keys())
        warnings.warn(
            f"RBAC check on {len(selected)} of {len(selected | left_out)} e2e tests: checked "
            f"only that every verb used is granted ({unused} granted verbs are not used by "
            "these tests); run all of tests/integration/operator to also check that "
            "config/rbac grants nothing unused",
            stacklevel=1,
        )
        return
    problems = {
        "granted, never used": sorted(role - used - NOT_EXERCISED.keys()),
        "used, so remove it from NOT_EXERCISED": sorted(used & NOT_EXERCISED.keys()),
        "in NOT_EXERCISED, not granted": sorted(NOT_EXERCISED.keys() - role),
    }
    outcomes = request.config.stash.get(TEST_OUTCOMES, {})
    not_passed = sorted(i.nodeid for i in ran if outcomes.get(i.nodeid) != "passed")
    assert not_passed == [], (
        f"the request log is incomplete: these e2e tests did not pass (on what they logged: "
        f"{problems})"
    )
    assert problems == {key: [] for key in problems}, "\n".join(
        f"{key}: {value}" for key, value in problems.items() if value
    )
