"""JavaScript's UTF-16 string semantics, as JsonLogic's `in` sees them."""

from __future__ import annotations

from omnikit.rules import jsonlogic


def test_a_lone_surrogate_found_nowhere_is_not_in_the_string() -> None:
    """
    A needle holding a lone surrogate that the haystack does not contain is `false`, and the
    search ends (the half-unit skip must stop when nothing is found).
    """
    assert jsonlogic.apply({"in": ["\ud800", "abc\U0001f600"]}) is False
    assert jsonlogic.apply({"in": ["\ude00x", "\U0001f600"]}) is False


def test_a_lone_surrogate_matches_half_of_a_character() -> None:
    """As in JavaScript, the low half of an emoji is found inside it."""
    assert jsonlogic.apply({"in": ["\ude00", "x\U0001f600"]}) is True
    assert jsonlogic.apply({"in": ["\ud83d", "a\ud83d"]}) is True


def test_a_huge_index_into_a_short_string_costs_what_is_read() -> None:
    """`var` 2**31 into a one-character string is undefined, as in JavaScript, not over budget."""
    assert jsonlogic.apply({"==": [{"var": [2147483648]}]}, "😀") is True
    assert jsonlogic.apply({"var": [1]}, "😀") == "\ude00"  # its low surrogate, as in JavaScript
    assert jsonlogic.apply({"var": [2]}, "😀") is None
