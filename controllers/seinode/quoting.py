"""Go ``strconv.Quote`` (the ``%q`` verb) in Python, byte for byte.

The reference operator folds ``spec.entrypoint`` into the seid wrapper script with ``%q``; any
difference in quoting changes the pod template, so taking over a node from the Go operator
would restart its pod. This is Go's algorithm (``strconv.quoteWith`` with ``ASCIIonly`` and
``graphicOnly`` false) on the UTF-8 bytes of the text:

* ``"`` and ``\\`` are backslash-escaped;
* printable runes (Go ``strconv.IsPrint``: letters, marks, numbers, punctuation, symbols and
  the ASCII space) are kept as they are;
* ``\\a \\b \\f \\n \\r \\t \\v`` use their short escapes;
* other runes below U+0020, and U+007F, become ``\\xHH``; other non-printable runes
  ``\\uHHHH`` (below U+10000) or ``\\UHHHHHHHH``;
* every byte that does not start a valid UTF-8 sequence becomes ``\\xHH`` (lowercase hex).

Go's Unicode tables are version 15.0.0 (Go 1.21 and later); Python 3.11 ships 14.0.0. The runes
assigned in 15.0 are all printable and are listed below so both agree on every code point (a
unit test compares the predicate with Go's own table).
"""

from __future__ import annotations

import bisect
from typing import Final

__all__ = ["go_quote", "is_go_printable"]

# Code point ranges (inclusive) that Unicode 15.0 assigned and Go's strconv.IsPrint accepts,
# but that Python 3.11's Unicode 14.0 database does not know (so str.isprintable() is False).
_UNICODE_15_PRINTABLE: Final[tuple[tuple[int, int], ...]] = (
    (0x0CF3, 0x0CF3),
    (0x0ECE, 0x0ECE),
    (0x10EFD, 0x10EFF),
    (0x1123F, 0x11241),
    (0x11B00, 0x11B09),
    (0x11F00, 0x11F10),
    (0x11F12, 0x11F3A),
    (0x11F3E, 0x11F59),
    (0x1342F, 0x1342F),
    (0x13440, 0x13455),
    (0x1B132, 0x1B132),
    (0x1B155, 0x1B155),
    (0x1D2C0, 0x1D2D3),
    (0x1DF25, 0x1DF2A),
    (0x1E030, 0x1E06D),
    (0x1E08F, 0x1E08F),
    (0x1E4D0, 0x1E4F9),
    (0x1F6DC, 0x1F6DC),
    (0x1F774, 0x1F776),
    (0x1F77B, 0x1F77F),
    (0x1F7D9, 0x1F7D9),
    (0x1FA75, 0x1FA77),
    (0x1FA87, 0x1FA88),
    (0x1FAAD, 0x1FAAF),
    (0x1FABB, 0x1FABD),
    (0x1FABF, 0x1FABF),
    (0x1FACE, 0x1FACF),
    (0x1FADA, 0x1FADB),
    (0x1FAE8, 0x1FAE8),
    (0x1FAF7, 0x1FAF8),
    (0x2B739, 0x2B739),
    (0x31350, 0x323AF),
)
_UNICODE_15_STARTS: Final = tuple(start for start, _ in _UNICODE_15_PRINTABLE)

_SHORT_ESCAPES: Final = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
}


def is_go_printable(rune: int) -> bool:
    """Go's ``strconv.IsPrint`` (Unicode 15.0.0)."""
    if 0xD800 <= rune <= 0xDFFF or rune > 0x10FFFF:
        return False
    if chr(rune).isprintable():
        return True
    index = bisect.bisect_right(_UNICODE_15_STARTS, rune) - 1
    return index >= 0 and rune <= _UNICODE_15_PRINTABLE[index][1]


def _sequence_length(lead: int) -> int:
    # Length a UTF-8 lead byte announces; 0 for bytes that can never start a sequence.
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _decode_rune(data: bytes, start: int) -> tuple[int, int] | None:
    """(rune, width) of the valid UTF-8 sequence at ``start``, else None (Go: RuneError, 1).

    Python's strict decoder rejects exactly what Go's utf8.DecodeRune rejects: truncated
    sequences, overlong forms, surrogates and anything above U+10FFFF.
    """
    width = _sequence_length(data[start])
    if width == 0 or start + width > len(data):
        return None
    try:
        text = data[start : start + width].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return ord(text), width


def _escape_rune(rune: int) -> str:
    if rune in (0x22, 0x5C):  # '"' and '\\'
        return "\\" + chr(rune)
    if is_go_printable(rune):
        return chr(rune)
    short = _SHORT_ESCAPES.get(rune)
    if short is not None:
        return short
    if rune < 0x20 or rune == 0x7F:
        return f"\\x{rune:02x}"
    if rune < 0x10000:
        return f"\\u{rune:04x}"
    return f"\\U{rune:08x}"


def go_quote(text: str | bytes) -> str:
    """``strconv.Quote(text)``; a str is quoted as its UTF-8 bytes.

    A str holding lone surrogates (possible only from ``\\ud800``-style JSON escapes) is
    encoded with ``surrogatepass``, i.e. as the bytes Go would see, which it escapes as \\x.
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    out = ['"']
    position = 0
    while position < len(data):
        decoded = _decode_rune(data, position)
        if decoded is None:
            out.append(f"\\x{data[position]:02x}")
            position += 1
            continue
        rune, width = decoded
        out.append(_escape_rune(rune))
        position += width
    out.append('"')
    return "".join(out)
