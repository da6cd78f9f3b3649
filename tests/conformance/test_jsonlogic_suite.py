"""
The official JsonLogic test suite (jsonlogic.com/tests.json), read from where it is shared.

The suite lives outside the repository (see `tests/conftest.py`: `OMNIKIT_CONFORMANCE_DIR`,
by default `../shared/conformance`) and is never copied in. Each `[rule, data, expected]`
entry is a case; the strings between them are section comments. Results compare as strict
JSON: booleans are not numbers, 1 equals 1.0. Without the suite these tests skip, saying
how to get it; `.ci/run` makes that a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omnikit.rules import jsonlogic

EXPECTED_CASES = 277


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


def test_suite_is_complete(jsonlogic_suite: Path) -> None:
    """
    The suite is where we expect it and holds all of its 277 cases.
    """
    entries = json.loads(jsonlogic_suite.read_text(encoding="utf-8"))

    assert EXPECTED_CASES == sum(1 for entry in entries if not isinstance(entry, str))


def test_case(jsonlogic_suite: Path, jsonlogic_case: tuple[Any, Any, Any]) -> None:
    """
    Each rule of the suite, applied to its data, gives the suite's expected result.
    """
    rule, data, expected = jsonlogic_case

    assert strict_json(expected) == strict_json(jsonlogic.apply(rule, data))
