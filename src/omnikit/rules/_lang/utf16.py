"""
JavaScript strings are UTF-16: their lengths, indices and order are in code units.

Python strings hold code points, so a character above U+FFFF is one there and two (a
surrogate pair) in JavaScript. These helpers work on UTF-16 code units through Python's
codecs, at C speed, and charge reading long strings to the evaluation's meter.
"""

from __future__ import annotations

import re
from typing import Final

from omnikit.rules._lang.meter import Meter, spend, text_cost

__all__ = ["code_units", "join_surrogates", "string_includes", "utf16_length"]

_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _utf16(text: str) -> bytes:
    """*text* as UTF-16 code units (little-endian), lone surrogates kept."""
    return text.encode("utf-16-le", "surrogatepass")


def _from_utf16(units: bytes) -> str:
    """Code units back to a string: a high-low surrogate pair becomes its one character."""
    return units.decode("utf-16-le", "surrogatepass")


def _has_astral(text: str) -> bool:
    return not text.isascii() and max(text) > "\uffff"


def _split_astral(match: re.Match[str]) -> str:
    point = ord(match.group()) - 0x10000
    return chr(0xD800 + (point >> 10)) + chr(0xDC00 + (point & 0x3FF))


def code_units(text: str) -> str:
    """
    *text* with every character above U+FFFF written as its two surrogates, as UTF-16 has it.

    Indexing, slicing and comparing the result then works as JavaScript does on *text*.
    """
    if _has_astral(text):
        return _ASTRAL.sub(_split_astral, text)
    return text


def join_surrogates(units: str) -> str:
    """
    *units* with each high-low surrogate pair joined into the one character it encodes.

    JavaScript strings are UTF-16, so a pair is that character there; in Python it would be
    two lone surrogates, unequal to the character.
    """
    if units.isascii():
        return units
    return _from_utf16(_utf16(units))


def utf16_length(text: str, meter: Meter | None = None) -> int:
    """
    JavaScript's `text.length`: characters above U+FFFF count twice.

    Strings are UTF-16 in JavaScript, so `"\U0001f600"` has length 2 there.
    """
    if text.isascii():
        return len(text)
    spend(meter, text_cost(len(text)))
    return len(_utf16(text)) >> 1


def string_includes(haystack: str, needle: str, meter: Meter | None = None) -> bool:
    """
    `haystack.indexOf(needle) !== -1`, matching UTF-16 code units as JavaScript does.

    A lone surrogate in *needle* can match half of a character of *haystack*.
    """
    spend(meter, text_cost(len(haystack) + len(needle)))
    if not needle.isascii() and _SURROGATE.search(needle):
        units = _utf16(haystack)
        wanted = _utf16(needle)
        found = units.find(wanted)
        while found > 0 and found % 2:  # half a code unit: not a match
            found = units.find(wanted, found + 1)
        return found >= 0
    return needle in haystack


def _string_less(left: str, right: str, meter: Meter | None) -> bool:
    spend(meter, text_cost(len(left) + len(right)))
    if left.isascii() or right.isascii():
        # Code points and UTF-16 code units order the same unless both sides hold
        # characters beyond ASCII (an astral character sorts below U+E000 in UTF-16).
        return left < right
    # Big-endian code units compare byte by byte as the units themselves do.
    return left.encode("utf-16-be", "surrogatepass") < right.encode("utf-16-be", "surrogatepass")
