"""
The work an evaluation has left, and what things cost: the meter helpers charge.

An evaluation (the interpreter's run, a compiled condition's state) is a `Meter`: the work
it has left and the longest value it may build. Whatever does work in proportion to the size
of a value charges it first (`spend`); strings and arrays up to `FREE_SIZE` characters or
items cost nothing to read, since that costs no more than one operation. While a custom
operation runs, its caller's meter is current (`current_meter`), so that omnikit's own
operations charge what they read to the rule that called them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, Final, Protocol

from omnikit.errors import OmnikitError, RuleError, RuleLimitError

__all__ = [
    "CHARACTERS_PER_UNIT",
    "FREE_SIZE",
    "KEYS_PER_UNIT",
    "MAX_LENGTH",
    "WORK_EXCEEDED",
    "Meter",
    "call_custom",
    "current_meter",
    "items_cost",
    "path_cost",
    "spend",
    "text_cost",
]

MAX_LENGTH: Final = 2**20
"""
The longest string (in characters) or array (in items) an operation builds, by default.

A bound on memory and time; V8 allows strings of 2**29 - 24 code units and throws
`RangeError: Invalid string length` past that.
"""

FREE_SIZE: Final = 64
"""Strings and arrays up to this many characters or items cost no work to read."""

CHARACTERS_PER_UNIT: Final = 16
"""How many characters of a longer string one unit of work pays for."""

WORK_EXCEEDED: Final = "rule evaluation exceeded its work limit (max_work)"


class Meter(Protocol):
    """What a metered helper charges: the work left, and the longest value it may build."""

    work: int
    max_length: int


def text_cost(length: int) -> int:
    """The work of reading or building a string of *length* characters."""
    return length >> 4 if length > FREE_SIZE else 0


def items_cost(count: int) -> int:
    """The work of reading *count* array items (or values of nested arrays)."""
    return count if count > FREE_SIZE else 0


def spend(meter: Meter | None, units: int) -> None:
    """Charge *units* of work to *meter*; `RuleLimitError` when none is left."""
    if meter is not None and units:
        meter.work -= units
        if meter.work < 0:
            raise RuleLimitError(WORK_EXCEEDED)


def _max_length(meter: Meter | None) -> int:
    return MAX_LENGTH if meter is None else meter.max_length


def _too_long(limit: int) -> RuleLimitError:
    return RuleLimitError(f"a string would be longer than {limit} characters (max_length)")


KEYS_PER_UNIT: Final = 8
"""How many keys of a path one unit of work pays for (a path of fewer is free to walk)."""


def path_cost(text: str, keys: int) -> int:
    """The work of splitting a `var` path of *text* into *keys* keys and walking them."""
    return text_cost(len(text)) + keys // KEYS_PER_UNIT


_METER: Final[contextvars.ContextVar[Meter | None]] = contextvars.ContextVar(
    "omnikit_rules_meter", default=None
)


def current_meter() -> Meter | None:
    """
    The meter of the evaluation that is calling a custom operation, if one is.

    omnikit's own operations (`count_events`, ...) charge the touchpoints they read to it.
    """
    return _METER.get()


def call_custom(name: str, function: Callable[..., Any], meter: Any, arguments: Any) -> Any:
    """Call a custom operation, *meter* current: foreign exceptions become `RuleError`."""
    token = _METER.set(meter)
    try:
        return function(*arguments)
    except OmnikitError:
        raise
    except Exception as exc:
        raise RuleError(f"operation {name!r} failed: {exc!r}") from exc
    finally:
        _METER.reset(token)
