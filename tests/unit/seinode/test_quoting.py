"""Go strconv.Quote (%q) semantics of go_quote, pinned against vectors produced by Go itself.

testdata/goquote/main.go regenerates the vector and IsPrint files with a Go toolchain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controllers.seinode.quoting import go_quote, is_go_printable

TESTDATA = Path(__file__).parent / "testdata"
GO_VECTORS = json.loads((TESTDATA / "go_quote_vectors.json").read_text())


def _go_printable_code_points() -> set[int]:
    lines = (TESTDATA / "go_isprint_ranges.txt").read_text().splitlines()
    assert lines[0] == "15.0.0"  # Go's unicode.Version the table was made with
    points: set[int] = set()
    for line in lines[1:]:
        first, last = map(int, line.split())
        points.update(range(first, last + 1))
    return points


@pytest.mark.parametrize("vector", GO_VECTORS, ids=lambda v: v["input_hex"] or "empty")
def test_go_quote_matches_go_strconv_quote(vector: dict[str, str]) -> None:
    assert go_quote(bytes.fromhex(vector["input_hex"])) == vector["quoted"]


def test_is_go_printable_matches_go_on_every_code_point() -> None:
    go_printable = _go_printable_code_points()
    differing = [cp for cp in range(0x110000) if is_go_printable(cp) != (cp in go_printable)]
    assert differing == []


def test_plain_ascii_is_only_wrapped_in_double_quotes() -> None:
    assert go_quote("--home") == '"--home"'


def test_empty_string_is_two_double_quotes() -> None:
    assert go_quote("") == '""'


def test_double_quote_is_backslash_escaped() -> None:
    assert go_quote('say "hi"') == '"say \\"hi\\""'


def test_backslash_is_doubled() -> None:
    assert go_quote("a\\b") == '"a\\\\b"'


def test_single_quote_and_shell_metacharacters_are_kept() -> None:
    assert go_quote("it's $HOME `id` ; | &") == '"it\'s $HOME `id` ; | &"'


@pytest.mark.parametrize(
    ("char", "escape"),
    [
        ("\a", "\\a"),
        ("\b", "\\b"),
        ("\f", "\\f"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\v", "\\v"),
    ],
)
def test_control_characters_with_short_escapes_use_them(char: str, escape: str) -> None:
    assert go_quote(char) == f'"{escape}"'


def test_other_ascii_controls_are_hex_escaped() -> None:
    assert go_quote("\x00\x1f\x7f") == '"\\x00\\x1f\\x7f"'


def test_printable_unicode_is_kept_as_is() -> None:
    assert go_quote("café 日本語 😀 e\u0301") == '"café 日本語 😀 e\u0301"'


def test_non_ascii_spaces_are_escaped_as_u() -> None:
    # Go's IsPrint allows only the ASCII space among the separators.
    assert go_quote("\u00a0\u2028\u3000") == '"\\u00a0\\u2028\\u3000"'


def test_c1_control_is_escaped_as_u_not_x() -> None:
    assert go_quote("\u0085") == '"\\u0085"'


def test_format_characters_are_escaped() -> None:
    assert go_quote("\u200d\ufeff\u00ad") == '"\\u200d\\ufeff\\u00ad"'


def test_non_printable_above_the_bmp_is_escaped_as_big_u() -> None:
    assert go_quote("\U000e0001") == '"\\U000e0001"'


def test_unassigned_and_private_use_code_points_are_escaped() -> None:
    assert go_quote("\u0378\ue000") == '"\\u0378\\ue000"'


def test_unicode_15_additions_are_printable_like_in_go() -> None:
    # Assigned in Unicode 15.0 (Go), unknown to Python 3.11's Unicode 14 database.
    assert go_quote("\U0001fadb\u0cf3") == '"\U0001fadb\u0cf3"'


def test_replacement_character_itself_is_kept() -> None:
    assert go_quote("\ufffd") == '"\ufffd"'


def test_invalid_utf8_bytes_are_hex_escaped_one_by_one() -> None:
    assert go_quote(b"ok\xfe\xffok") == '"ok\\xfe\\xffok"'


def test_truncated_sequence_escapes_its_bytes_and_keeps_what_follows() -> None:
    assert go_quote(b"\xe2\x82(") == '"\\xe2\\x82("'


def test_overlong_encoding_is_invalid() -> None:
    assert go_quote(b"\xc0\xaf") == '"\\xc0\\xaf"'


def test_encoded_surrogate_is_invalid() -> None:
    assert go_quote(b"\xed\xa0\x80") == '"\\xed\\xa0\\x80"'


def test_lone_surrogate_in_a_str_is_quoted_as_its_bytes() -> None:
    assert go_quote("\ud800") == '"\\xed\\xa0\\x80"'


def test_code_point_above_unicode_range_is_invalid() -> None:
    assert go_quote(b"\xf4\x90\x80\x80") == '"\\xf4\\x90\\x80\\x80"'
