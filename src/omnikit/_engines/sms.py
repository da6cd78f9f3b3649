r"""
What a text costs as SMS: GSM-7 or UCS-2, and how many segments.

A single SMS carries 140 bytes: 160 GSM-7 septets or 70 UCS-2 code units. A longer text is
sent in parts, each losing 6 bytes to the header that joins them: 153 septets or 67 units a
part. A GSM-7 extension character (`^ { } \ [ ~ ] | €`, form feed) is an escape and a
septet, two in all; a character outside the Basic Multilingual Plane (most emoji) is two
UTF-16 units. Neither is ever split between two parts. One character outside the GSM 03.38
alphabet makes the whole text UCS-2.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from omnikit._models.message import SmsInfo

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "first_non_gsm7", "sms_segments", "transliterate"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet: one septet each (the escape, 0x1B, is not a character)."""

GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The GSM 03.38 extension table: an escape and a septet, two septets each."""

_GSM7 = GSM7_BASIC | GSM7_EXTENSION

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PART = {"GSM-7": 153, "UCS-2": 67}

_PLAIN = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008", " "),
    **dict.fromkeys("\u2009\u200a\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u200b\u2060\ufeff", ""),
    "\u2026": "...",
}
_PLAIN_TABLE = str.maketrans(_PLAIN)


def _encoding(text: str) -> str:
    return "GSM-7" if all(char in _GSM7 for char in text) else "UCS-2"


def _units(text: str, encoding: str) -> Iterable[int]:
    if encoding == "GSM-7":
        return (2 if char in GSM7_EXTENSION else 1 for char in text)
    return (2 if ord(char) > 0xFFFF else 1 for char in text)


def _parts(sizes: list[int], capacity: int) -> int:
    parts, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            parts += 1
            used = 0
        used += size
    return parts


def sms_segments(text: str) -> SmsInfo:
    """
    Count what *text* costs as SMS: its encoding, segments, characters and units.

    ```python
    omnikit.sms_segments("Your order shipped")  # GSM-7, 1 segment
    omnikit.sms_segments("Shipped 📦")  # the emoji makes it UCS-2: 70 a segment
    ```

    An empty text is no segment at all. Providers bill by segment, so this is the cost of a
    message before it is sent; `omnikit.Brand.transliterate` makes more texts GSM-7.

    Added in version 0.1.0.
    """
    encoding = _encoding(text)
    sizes = list(_units(text, encoding))
    units = sum(sizes)
    if not units:
        segments = 0
    elif units <= _SINGLE[encoding]:
        segments = 1
    else:
        segments = _parts(sizes, _PART[encoding])
    return SmsInfo(
        encoding="GSM-7" if encoding == "GSM-7" else "UCS-2",
        segments=segments,
        characters=len(text),
        units=units,
    )


def first_non_gsm7(text: str) -> str | None:
    """The first character of *text* outside the GSM 03.38 alphabet, if there is one."""
    return next((char for char in text if char not in _GSM7), None)


def transliterate(text: str) -> str:
    """
    *text* with curly quotes, long dashes, ellipses and odd spaces made plain, if that helps.

    Accents written as a letter and a combining mark are composed first (`e` + U+0301 is
    `é`, which GSM-7 has). The plain text is returned only when it is all GSM-7; otherwise
    the text stays UCS-2 anyway, and is returned unchanged.
    """
    if _encoding(text) == "GSM-7":
        return text
    plain = unicodedata.normalize("NFC", text).translate(_PLAIN_TABLE)
    return plain if _encoding(plain) == "GSM-7" else text
