"""What a text costs as SMS: GSM-7 or UCS-2, segments of 160/153 or 70/67, nothing split."""

from __future__ import annotations

import pytest

import omnikit
from omnikit._engines.sms import GSM7_BASIC, GSM7_EXTENSION, transliterate

CASES = [
    # text, encoding, segments, characters, units
    ("", "GSM-7", 0, 0, 0),
    ("Your order shipped", "GSM-7", 1, 18, 18),
    ("a" * 160, "GSM-7", 1, 160, 160),
    ("a" * 161, "GSM-7", 2, 161, 161),
    ("a" * 306, "GSM-7", 2, 306, 306),
    ("a" * 307, "GSM-7", 3, 307, 307),
    ("€" * 80, "GSM-7", 1, 80, 160),  # extension characters count double
    ("€" * 81, "GSM-7", 2, 81, 162),
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 305, 306),  # the escape is never split
    ("a\r\nb", "GSM-7", 1, 4, 4),  # CRLF counts as two
    ("Già più è Ñoño", "GSM-7", 1, 14, 14),  # these precomposed accents are GSM-7
    ("Olá", "UCS-2", 1, 3, 3),  # but not á
    ("ç" * 70, "UCS-2", 1, 70, 70),  # GSM-7 has Ç, not ç
    ("ç" * 71, "UCS-2", 2, 71, 71),
    ("ç" * 134, "UCS-2", 2, 134, 134),
    ("ç" * 135, "UCS-2", 3, 135, 135),
    ("It\u2019s here", "UCS-2", 1, 9, 9),  # one curly quote
    ("e\u0301", "UCS-2", 1, 2, 2),  # a decomposed accent
    ("€ç", "UCS-2", 1, 2, 2),  # in UCS-2 the euro counts once
    ("😀" * 35, "UCS-2", 1, 35, 70),  # an emoji is two UTF-16 units
    ("😀" * 36, "UCS-2", 2, 36, 72),
    ("a" * 66 + "😀" + "a" * 66, "UCS-2", 3, 133, 134),  # a surrogate pair is never split
]


@pytest.mark.parametrize(("text", "encoding", "segments", "characters", "units"), CASES)
def test_segments_encoding_and_units(
    text: str, encoding: str, segments: int, characters: int, units: int
) -> None:
    """Each case, counted by hand from the GSM 03.38 tables and the segment sizes."""
    assert omnikit.SmsInfo(
        encoding=encoding,  # type: ignore[arg-type]
        segments=segments,
        characters=characters,
        units=units,
    ) == omnikit.sms_segments(text)


def test_the_gsm7_tables_have_their_sizes() -> None:
    """128 codes less the escape in the basic table; ten characters in the extension."""
    assert 127 == len(GSM7_BASIC)
    assert 10 == len(GSM7_EXTENSION)
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_transliteration_makes_curly_quotes_and_dashes_plain() -> None:
    """Curly quotes, long dashes, an ellipsis, a no-break space: GSM-7 forms, one segment."""
    text = "It\u2019s \u201cready\u201d \u2014 in 2\u00a0days\u2026"

    plain = transliterate(text)

    assert 'It\'s "ready" - in 2 days...' == plain
    assert "GSM-7" == omnikit.sms_segments(plain).encoding


def test_transliteration_composes_decomposed_accents() -> None:
    """`e` and a combining acute become `é`, which GSM-7 has."""
    assert "é" == transliterate("e\u0301")


def test_transliteration_leaves_a_text_that_stays_ucs2() -> None:
    """An emoji keeps the text UCS-2 anyway: its quotes are left as they were written."""
    text = "It\u2019s here 📦"

    assert text == transliterate(text)
