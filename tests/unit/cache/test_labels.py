from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller_runtime import labels


@pytest.mark.parametrize(
    ("selector", "matching", "not_matching"),
    [
        ("", {}, None),
        ("a=b", {"a": "b"}, {"a": "c"}),
        ("a==b", {"a": "b"}, {}),
        ("a!=b", {}, {"a": "b"}),
        ("a", {"a": ""}, {"b": "x"}),
        ("!a", {"b": "x"}, {"a": "x"}),
        ("a in (x, y)", {"a": "y"}, {"a": "z"}),
        ("a notin (x,y)", {"a": "z"}, {"a": "x"}),
        ("n>3", {"n": "4"}, {"n": "3"}),
        ("n<3", {"n": "2"}, {"n": "x"}),
        ("a=b,c in (d),!e", {"a": "b", "c": "d"}, {"a": "b", "c": "d", "e": "1"}),
        ("app.kubernetes.io/name=sei", {"app.kubernetes.io/name": "sei"}, {}),
        # An empty value is a value, as in Kubernetes (a crash of label peer sources, #15).
        ("a=", {"a": ""}, {"a": "b"}),
        ("a==,b=c", {"a": "", "b": "c"}, {"b": "c"}),
        ("a!=", {"a": "b"}, {"a": ""}),
    ],
)
def test_parse_and_match(
    selector: str, matching: dict[str, str], not_matching: dict[str, str] | None
) -> None:
    sel = labels.parse(selector)
    assert sel.matches(matching)
    if not_matching is not None:
        assert not sel.matches(not_matching)


@pytest.mark.parametrize("bad", ["a in x", "a in (x", "=b", "a b", "a,,b=", "a=b c"])
def test_bad_syntax_is_rejected(bad: str) -> None:
    with pytest.raises(labels.SelectorError):
        labels.parse(bad)


def test_object_form_matches_like_the_string_form() -> None:
    sel = labels.from_label_selector(
        {
            "matchLabels": {"app": "sei"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert str(sel) == "app=sei,!legacy,tier in (a,b)"
    assert sel.matches({"app": "sei", "tier": "a"})
    assert not sel.matches({"app": "sei", "tier": "a", "legacy": "1"})
    assert labels.parse(str(sel)) == labels.parse("app=sei,!legacy,tier in (a,b)")
    with pytest.raises(labels.SelectorError):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt"}]})


names = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
values = st.from_regex(r"([a-z][a-z0-9]{0,5})?", fullmatch=True)


@given(st.dictionaries(names, values, max_size=4), st.dictionaries(names, values, max_size=4))
def test_equality_selector_round_trips(wanted: dict[str, str], have: dict[str, str]) -> None:
    sel = labels.from_labels(wanted)
    assert labels.parse(str(sel)).matches(have) == sel.matches(have)
    assert sel.matches(have) == all(have.get(k) == v for k, v in wanted.items())
