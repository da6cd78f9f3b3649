"""
The JSON values a message may hold: what every store keeps and every reader reads back.

- Strings, keys included, hold no NUL character (PostgreSQL's text and jsonb refuse it) and no
  lone surrogate (UTF-8 cannot encode one, so SQLite and PostgreSQL refuse it).
- Numbers are finite (JSON has no NaN or Infinity, PostgreSQL's jsonb refuses them), and
  integers are below 2**64 in magnitude: every 64-bit identifier fits, and no integer is too
  long to print (Python refuses to turn one of more than 4,300 digits into text).
- A message nests at most `MAX_DEPTH` levels of objects and lists (the message is the first),
  so that reading, storing and exporting it never runs out of stack.

JSON text is decoded under these rules (its numbers by the decoder's hooks), and Python values
are held to them too, those that are not JSON data (datetimes, decimals) converted. A quick
look at a message's text (`suspect`) spares the common message a walk over its values. The
common text (no long run of digits, shallow, valid) is decoded by msgspec's C decoder, which
gives the same values; anything else takes the standard decoder, which words the errors. Pure.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from omnikit.errors import ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_INT",
    "check",
    "decode",
    "encode",
    "kind_of",
    "standard_decode",
    "suspect",
]

MAX_DEPTH: Final = 32
"""The most levels of objects and lists a message nests, itself included."""
MAX_INT: Final = 2**64
"""Integers are accepted when their magnitude is below this."""
_MAX_ERRORS: Final = 20
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_DIGITS_TO_ZEROS: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_RUN_OF_20: Final = b"0" * 20


class _Unstorable:
    """A number read from JSON text that no store keeps, standing in for it until reported."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _RefusedNumberError(Exception):
    """Raised by the strict decoder's hooks; never leaves this module."""


def _abbreviated(text: str) -> str:
    return text if len(text) <= 30 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"


def _int_problem(text: str) -> str | None:
    if len(text) <= 21 and -MAX_INT < int(text) < MAX_INT:  # 2**64 has 20 digits, and a sign
        return None
    return f"integer {_abbreviated(text)} is out of range (integers are kept below 2**64)"


def _float_problem(text: str) -> str | None:
    value = float(text)
    if value - value == 0:
        return None
    return f"expected a finite number, got {_abbreviated(text)}"


def _strict_int(text: str) -> int:
    if _int_problem(text) is not None:
        raise _RefusedNumberError
    return int(text)


def _strict_float(text: str) -> float:
    if _float_problem(text) is not None:
        raise _RefusedNumberError
    return float(text)


def _strict_constant(_: str) -> Any:
    raise _RefusedNumberError


def _marked_int(text: str) -> int | _Unstorable:
    problem = _int_problem(text)
    return int(text) if problem is None else _Unstorable(problem)


def _marked_float(text: str) -> float | _Unstorable:
    problem = _float_problem(text)
    return float(text) if problem is None else _Unstorable(problem)


def _marked_constant(text: str) -> _Unstorable:
    return _Unstorable(f"expected a finite number, got {text} (not a JSON number)")


_STRICT: Final = json.JSONDecoder(
    parse_int=_strict_int, parse_float=_strict_float, parse_constant=_strict_constant
)
_MARKING: Final = json.JSONDecoder(
    parse_int=_marked_int, parse_float=_marked_float, parse_constant=_marked_constant
)
_FAST: Final = msgspec.json.Decoder()
_UNDECIDED: Final = object()


def _fast(text: str) -> Any:
    """
    The JSON value of *text* by msgspec's decoder, or `_UNDECIDED` for the standard decoder.

    Left to the standard decoder: text that is not UTF-8 (a lone surrogate), may hold an
    integer of 2**64 or more (a run of 20 digits, which msgspec would read), nests more
    than `MAX_DEPTH` levels (where the standard decoder's depth depends on the stack), or
    that msgspec refuses (not JSON, a number out of range): all of them get the standard
    decoder's values and words. Everything else decodes to the same values either way.
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return _UNDECIDED
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH or _RUN_OF_20 in data.translate(
        _DIGITS_TO_ZEROS
    ):
        return _UNDECIDED
    try:
        return _FAST.decode(data)
    except msgspec.MsgspecError:
        return _UNDECIDED


def decode(text: str, where: str) -> tuple[Any, bool]:
    """
    The JSON value *text* holds, and whether its numbers are all ones a store keeps.

    When some are not (NaN, Infinity, `1e999`, integers of 2**64 or more), they come back as
    stand-ins that `encode` and `check` report with their path, and the flag is `False`.

    Raises:
        ValidationError: If *text* is not JSON, or nests deeper than the decoder goes; the
            error names *where* (`payload`, `line 3`).
    """
    value = _fast(text)
    if value is not _UNDECIDED:
        return value, True
    return standard_decode(text, where)


def standard_decode(text: str, where: str) -> tuple[Any, bool]:
    """`decode` by the standard library's decoder alone, which `decode` gives the same as."""
    try:
        try:
            return _STRICT.decode(text), True
        except _RefusedNumberError:
            return _MARKING.decode(text), False
    except RecursionError:
        raise ValidationError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise ValidationError(f"{where}: not valid JSON ({exc})") from None


def encode(message: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """
    Compact JSON text of *message* (to measure and screen it), and the message to read.

    The message is *message* itself when it holds only JSON data; otherwise its Python
    values are converted (datetimes to ISO strings, decimals to numbers).

    Raises:
        ValidationError: Listing each value that is not JSON data or that no store keeps
            (the strings and nesting `suspect` looks for are left to `check`).
    """
    try:
        text = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        errors: list[str] = []
        clean = _walk(message, "", 1, errors)
        if errors:
            raise ValidationError(_bounded(errors)) from None
        return json.dumps(clean, separators=(",", ":"), ensure_ascii=False), clean
    # An integer of 2**64 or more is a run of at least 20 digits in the text.
    if _RUN_OF_20 in text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZEROS):
        check(message)
    return text, message


def suspect(text: str) -> bool:
    """
    Whether the JSON text of a message may hold a string or a nesting no store keeps.

    A quick look that `check` confirms: most messages pass it without a walk over their values.
    """
    if "\\u" in text and ("\\u0000" in text or "\\ud" in text or "\\uD" in text):
        return True  # an escaped NUL, or an escaped surrogate (lone or paired: `check` tells)
    if text.count("{") + text.count("[") > MAX_DEPTH:
        return True
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a surrogate (faster found so than by a regex)
            return True
    return False


def check(message: object) -> None:
    """
    Raise if *message* holds a value no store keeps.

    Raises:
        ValidationError: Listing each such value's path and why.
    """
    errors: list[str] = []
    _walk(message, "", 1, errors)
    if errors:
        raise ValidationError(_bounded(errors))


def _bounded(errors: list[str]) -> list[str]:
    if len(errors) <= _MAX_ERRORS:
        return errors
    return [*errors[:_MAX_ERRORS], f"message: {len(errors) - _MAX_ERRORS} more problems"]


def _shown(path: str) -> str:
    if not path:
        return "message"
    return path if len(path) <= 80 else f"{path[:77]}..."


def _text_problem(text: str) -> str | None:
    """Why no store keeps the string *text*, or `None` when they all do."""
    if "\x00" in text:
        return "contains a NUL character (\\x00), which PostgreSQL cannot store"
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found is not None:
            return (
                f"contains a lone surrogate ({ascii(found.group())[1:-1]}), which is not "
                "Unicode text and cannot be stored as UTF-8"
            )
    return None


def _walk(value: Any, path: str, depth: int, errors: list[str]) -> Any:
    """A JSON-ready copy of *value*, appending to *errors* each value no store keeps."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem is not None:
            errors.append(f"{_shown(path)}: {problem}")
        return value
    if isinstance(value, int):
        if not -MAX_INT < value < MAX_INT:
            # Python prints no integer of more than 4,300 digits (about 14,000 bits).
            shown = (
                f"integer {_abbreviated(str(int(value)))}"
                if value.bit_length() < 14_000
                else "an integer of more than 4,000 digits"
            )
            errors.append(
                f"{_shown(path)}: {shown} is out of range (integers are kept below 2**64)"
            )
        return value
    if isinstance(value, float):
        if value - value != 0:
            errors.append(f"{_shown(path)}: expected a finite number, got {value!r}")
        return value
    if isinstance(value, _Unstorable):
        errors.append(f"{_shown(path)}: {value.reason}")
        return None
    if isinstance(value, Mapping | list | tuple) and depth > MAX_DEPTH:
        errors.append(f"{_shown(path)}: nested more than {MAX_DEPTH} levels deep")
        return None
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, v in value.items():
            k = _key(key, path, errors)
            if k is None:
                continue
            problem = _text_problem(k)
            if problem is not None:
                errors.append(f"{_shown(path)}: the key {k!a} {problem}")
                k = ascii(k)  # the path must not carry what the key holds
            where = f"{path}.{k}" if path else k
            out[k] = _walk(v, where, depth + 1, errors)
        return out
    if isinstance(value, list | tuple):
        return [_walk(v, f"{path}[{i}]", depth + 1, errors) for i, v in enumerate(value)]
    return _python(value, path, errors)


def _key(key: object, path: str, errors: list[str]) -> str | None:
    """*key* as `json.dumps` writes it (`1`, `true`, `null` are keys too), or `None`."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, int) and -MAX_INT < key < MAX_INT:
        return str(int(key))
    if isinstance(key, float) and key - key == 0:
        return float.__repr__(key)
    errors.append(f"{_shown(path)}: keys must be strings, got {_kind(key)}")
    return None


def _kind(value: object) -> str:
    if isinstance(value, int):
        return "an integer of 2**64 or more"
    if isinstance(value, float):
        return repr(value)
    return type(value).__name__


def _python(value: object, path: str, errors: list[str]) -> Any:
    """The JSON value of a Python value that is not JSON data: a datetime, a decimal."""
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            errors.append(f"{_shown(path)}: datetime has no UTC offset")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            errors.append(f"{_shown(path)}: expected a finite number, got {value!r}")
            return None
        if value == value.to_integral_value() and "E" not in str(value):
            number: int | float = int(value)
            if not -MAX_INT < number < MAX_INT:
                errors.append(f"{_shown(path)}: {value} is out of range")
            return number
        as_float = float(value)
        if as_float - as_float != 0:
            errors.append(f"{_shown(path)}: {value!r} is out of range for a JSON number")
        return as_float
    errors.append(f"{_shown(path)}: {type(value).__name__} is not JSON data")
    return None


def kind_of(value: object) -> str:
    """How an error message names the JSON type of *value* (`a string`, `null`, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
