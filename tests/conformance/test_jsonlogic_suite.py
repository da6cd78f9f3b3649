"""
The official JsonLogic test suite (jsonlogic.com/tests.json), read from ../shared.

The suite lives beside the repository, in shared/conformance/jsonlogic/tests.json, and is
never copied in. Each `[rule, data, expected]` entry is a case; the strings between them are
section comments. Results compare as strict JSON: booleans are not numbers, 1 equals 1.0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnikit.rules import jsonlogic

# tests/conformance/<this file> → the repository → the folder that holds it and shared/.
SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "jsonlogic" / "tests.json"
EXPECTED_CASES = 277


def _load_cases() -> list[Any]:
    if not SUITE.is_file():
        return [pytest.param(None, None, None, id="suite-not-found")]
    entries = json.loads(SUITE.read_text(encoding="utf-8"))
    return [
        pytest.param(*entry, id=f"case-{index:03d}")
        for index, entry in enumerate(entries)
        if not isinstance(entry, str)
    ]


CASES = _load_cases()


def strict_json(value: Any) -> Any:
    """
    A form of *value* in which `==` is strict JSON equality.
    """
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, list):
        return [strict_json(item) for item in value]
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    return value


def test_suite_is_complete() -> None:
    """
    The suite is where we expect it and holds all of its 277 cases.
    """
    if not SUITE.is_file():
        pytest.fail(f"the JsonLogic conformance suite is missing: expected it at {SUITE}")

    assert EXPECTED_CASES == len(CASES)


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_case(rule: Any, data: Any, expected: Any) -> None:
    """
    Each rule of the suite, applied to its data, gives the suite's expected result.
    """
    if not SUITE.is_file():
        pytest.fail(f"the JsonLogic conformance suite is missing: expected it at {SUITE}")

    assert strict_json(expected) == strict_json(jsonlogic.apply(rule, data))
