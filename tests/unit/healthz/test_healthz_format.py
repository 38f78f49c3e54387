"""The aggregated health output, exactly as controller-runtime writes it (pure functions)."""

from __future__ import annotations

import pytest

from controller_runtime.healthz import CheckStatus, render_statuses
from controller_runtime.healthz.healthz import clean_subpath


def test_all_passing_is_a_bare_ok() -> None:
    assert render_statuses([CheckStatus("a", True), CheckStatus("b", True)], [], False) == (
        200,
        "ok",
    )


def test_verbose_success_lists_sorted_checks() -> None:
    statuses = [CheckStatus("zeta", True), CheckStatus("alpha", True)]
    assert render_statuses(statuses, [], True) == (
        200,
        "[+]alpha ok\n[+]zeta ok\nhealthz check passed\n",
    )


def test_any_failure_is_500_verbose_with_the_reason_withheld() -> None:
    statuses = [CheckStatus("informers", False), CheckStatus("ping", True)]
    assert render_statuses(statuses, [], False) == (
        500,
        "[-]informers failed: reason withheld\n[+]ping ok\nhealthz check failed\n",
    )


def test_excluded_checks_and_unknown_excludes() -> None:
    statuses = [
        CheckStatus("b", True, excluded=True),
        CheckStatus("a", False),
    ]
    assert render_statuses(statuses, ["zz", "yy", "zz"], True) == (
        500,
        "[-]a failed: reason withheld\n"
        "[+]b excluded: ok\n"
        'warn: some health checks cannot be excluded: no matches for "yy","zz"\n'
        "healthz check failed\n",
    )


def test_unknown_excludes_do_not_spoil_a_plain_ok() -> None:
    assert render_statuses([CheckStatus("a", True)], ["nope"], False) == (200, "ok")


def test_names_are_quoted_like_go() -> None:
    _, body = render_statuses([CheckStatus("a", True)], ['we"ird'], True)
    assert 'no matches for "we\\"ird"\n' in body


@pytest.mark.parametrize(
    ("tail", "name"),
    [
        ("", ""),
        ("/", ""),
        ("//", ""),
        ("ping", "ping"),
        ("ping/", "ping"),
        ("/ping", "ping"),
        ("a/../ping", "ping"),
        ("..", ""),
        ("./ping/.", "ping"),
        ("a/b", "a/b"),
    ],
)
def test_subpaths_are_cleaned_like_go_path_clean(tail: str, name: str) -> None:
    assert clean_subpath(tail) == name
