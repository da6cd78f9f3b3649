"""
JavaScript value semantics over JSON-shaped Python values.

JsonLogic was defined by its JavaScript implementation, so its operators coerce the way
JavaScript does. These helpers give those coercions to Python, for values as `json.loads`
makes them:

| JavaScript | Python |
|---|---|
| number | `int` or `float` (never `bool`); ints are read as the double nearest to them |
| string | `str`, indexed by UTF-16 code units where JavaScript would |
| boolean | `bool` |
| null | `None` |
| undefined | `UNDEFINED` (private to the rules package) |
| array | `list` |
| object | `dict`; any other Python object is an opaque object |

Where JavaScript throws a `TypeError` (an object whose own `toString` is not a function) these
raise `RuleError`.

Work is metered: a helper whose time grows with the size of a value takes an optional *meter*
(the state of an evaluation: its `work` left and its `max_length`) and charges it, in the
units `max_work` counts, before or while it does the work. Strings and arrays of up to
`FREE_SIZE` characters or items cost nothing to read (that much costs no more than one
operation); longer strings cost a unit per `CHARACTERS_PER_UNIT` characters, longer arrays a
unit per item; turning an array into a string costs a unit per item, whatever its length.
Building a string or array longer than the meter's `max_length` (without a meter,
`MAX_LENGTH`) raises `RuleLimitError`, as does running out of work.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from omnikit.errors import RuleError
from omnikit.rules._lang.meter import (
    CHARACTERS_PER_UNIT,
    FREE_SIZE,
    KEYS_PER_UNIT,
    MAX_LENGTH,
    WORK_EXCEEDED,
    Meter,
    _max_length,
    _too_long,
    items_cost,
    path_cost,
    spend,
    text_cost,
)
from omnikit.rules._lang.utf16 import (
    _from_utf16,
    _string_less,
    _utf16,
    code_units,
    join_surrogates,
    string_includes,
    utf16_length,
)

__all__ = [
    "CHARACTERS_PER_UNIT",
    "FREE_SIZE",
    "KEYS_PER_UNIT",
    "MAX_EXACT_INTEGER",
    "MAX_LENGTH",
    "UNDEFINED",
    "WORK_EXCEEDED",
    "Meter",
    "add",
    "canonical_number",
    "code_units",
    "costs_to_read",
    "divide",
    "format_number",
    "greater_than",
    "greater_than_or_equal",
    "items_cost",
    "join_surrogates",
    "less_than",
    "less_than_or_equal",
    "loose_equals",
    "parse_float",
    "path_cost",
    "property_of",
    "remainder",
    "spend",
    "strict_equals",
    "string_includes",
    "substr",
    "text_cost",
    "to_boolean",
    "to_integer_or_infinity",
    "to_number",
    "to_primitive",
    "to_string",
    "truthy",
    "utf16_length",
]

MAX_EXACT_INTEGER: Final = 2**53
"""Every integer up to this size is a double; larger ints are rounded to one before use."""

_INF: Final = math.inf
_NAN: Final = math.nan

# StrWhiteSpaceChar: WhiteSpace (TAB, VT, FF, ZWNBSP, every Zs) and LineTerminator.
_WHITESPACE: Final = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)", re.ASCII
)
_NON_DECIMAL: Final = re.compile(r"0(?:[xX]([0-9a-fA-F]+)|[oO]([0-7]+)|[bB]([01]+))", re.ASCII)


class _Undefined:
    """JavaScript's `undefined`: a missing argument, or what an empty `and` returns."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()
"""The one `undefined`; compare with `is`."""

# Kinds of value, as JavaScript's Type() sees them.
_NUMBER: Final = 0
_STRING: Final = 1
_BOOLEAN: Final = 2
_NULL: Final = 3
_UNDEFINED_KIND: Final = 4
_OBJECT: Final = 5

_DOUBLES: Final = frozenset({int, float})
"""The exact types of JavaScript numbers: `float(value)` is their double, unless it overflows."""

_KINDS: Final[dict[type, int]] = {
    int: _NUMBER,
    float: _NUMBER,
    str: _STRING,
    bool: _BOOLEAN,
    type(None): _NULL,
    _Undefined: _UNDEFINED_KIND,
    list: _OBJECT,
    dict: _OBJECT,
}


def _kind(value: Any) -> int:
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, (int, float)):  # subclasses such as IntEnum; bool is final
        return _NUMBER
    if isinstance(value, str):
        return _STRING
    return _OBJECT


# --- truthiness ---------------------------------------------------------------------------


def to_boolean(value: Any) -> bool:
    """
    JavaScript's ToBoolean (`!!value`): `[]` and `{}` are true, `NaN` and `""` are false.

    ECMAScript ToBoolean; `truthy` is what JsonLogic operators use.
    """
    kind = _kind(value)
    if kind == _NUMBER:
        return bool(value == value and value != 0)  # noqa: PLR0124 (NaN test)
    if kind == _STRING:
        return len(value) > 0
    if kind == _BOOLEAN:
        return bool(value)
    return kind == _OBJECT


def truthy(value: Any) -> bool:
    """
    JsonLogic truthiness: as JavaScript's, except that an empty array is false.

    This is json-logic-js's `truthy`, which `if`, `and`, `or`, `!`, `!!` and the
    iterating operations use.
    """
    cls = type(value)
    if cls is bool:
        return value  # type: ignore[no-any-return]
    if cls is str or cls is int or cls is list:
        return bool(value)
    if value is None or value is UNDEFINED:
        return False
    if cls is dict:
        return True
    kind = _kind(value)
    if kind == _NUMBER:
        return bool(value == value and value != 0)  # noqa: PLR0124 (NaN test)
    if kind == _STRING:
        return len(value) > 0
    if kind == _BOOLEAN:
        return bool(value)
    if kind == _OBJECT:
        return not isinstance(value, list) or len(value) > 0
    return False


# --- numbers ------------------------------------------------------------------------------


def _int_to_double(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return _INF if value > 0 else -_INF


def _number_to_double(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, int):
        return _int_to_double(int(value))
    return float(value)


def _string_to_number(text: str, meter: Meter | None = None) -> float:
    spend(meter, text_cost(len(text)))
    text = text.strip(_WHITESPACE)
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    match = _NON_DECIMAL.fullmatch(text)
    if match is None:
        return _NAN
    hexadecimal, octal, binary = match.groups()
    if hexadecimal is not None:
        return _int_to_double(int(hexadecimal, 16))
    if octal is not None:
        return _int_to_double(int(octal, 8))
    return _int_to_double(int(binary, 2))


def to_number(value: Any, meter: Meter | None = None) -> float:
    """
    JavaScript's ToNumber (unary `+`): `"0x10"` is 16, `" 2 "` is 2, `""` and `null` are 0.

    Also: `"1e3"` is 1000, `"1_000"` and `"1,5"` are NaN, arrays go through their string.
    """
    kind = _kind(value)
    if kind == _NUMBER:
        return _number_to_double(value)
    if kind == _STRING:
        return _string_to_number(value, meter)
    if kind == _BOOLEAN:
        return 1.0 if value else 0.0
    if kind == _NULL:
        return 0.0
    if kind == _UNDEFINED_KIND:
        return _NAN
    return _string_to_number(_object_to_string(value, meter), meter)


def parse_float(value: Any, meter: Meter | None = None) -> float:
    """
    JavaScript's global `parseFloat`: the longest decimal prefix after leading whitespace.

    `"1e3x"` is 1000, `"0x10"` is 0, `"abc"`, `true` and `null` are NaN; `-0` becomes 0 as it
    goes through its string form.
    """
    kind = _kind(value)
    if kind == _NUMBER:
        return _number_to_double(value) + 0.0
    text = to_string(value, meter)
    spend(meter, text_cost(len(text)))
    match = _DECIMAL.match(text.lstrip(_WHITESPACE))
    return float(match.group()) if match is not None else _NAN


def to_integer_or_infinity(value: Any, meter: Meter | None = None) -> float:
    """
    JavaScript's ToIntegerOrInfinity: NaN is 0, infinities stay, the rest is truncated.

    `String.prototype.substr` reads its arguments this way.
    """
    number = to_number(value, meter)
    if number != number or number == 0:  # noqa: PLR0124 (NaN test)
        return 0.0
    if number in (_INF, -_INF):
        return number
    return float(math.trunc(number))


def canonical_number(number: float) -> int | float:
    """
    The Python form of a computed JavaScript number: an `int` when it is a safe integer.

    `-0.0`, NaN, infinities and fractions stay floats, so that they keep behaving as they do
    in JavaScript when they are used again.
    """
    if (
        number.is_integer()
        and -MAX_EXACT_INTEGER <= number <= MAX_EXACT_INTEGER
        and (number or math.copysign(1.0, number) > 0)
    ):
        return int(number)
    return number


def divide(left: Any, right: Any, meter: Meter | None = None) -> float:
    """
    JavaScript's `/`: dividing by zero gives an infinity or NaN, never an error.

    Both sides go through ToNumber first.
    """
    dividend = to_number(left, meter)
    divisor = to_number(right, meter)
    if divisor == 0:
        if dividend == 0 or dividend != dividend:  # noqa: PLR0124 (NaN test)
            return _NAN
        return math.copysign(_INF, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def remainder(left: Any, right: Any, meter: Meter | None = None) -> float:
    """
    JavaScript's `%`: the sign of the dividend, NaN for a zero divisor or an infinite dividend.

    Both sides go through ToNumber first; the remainder is exact, as `math.fmod`'s.
    """
    dividend = to_number(left, meter)
    divisor = to_number(right, meter)
    if divisor == 0 or dividend in (_INF, -_INF) or divisor != divisor:  # noqa: PLR0124
        return _NAN
    if divisor in (_INF, -_INF):
        return dividend
    return math.fmod(dividend, divisor)


def add(left: Any, right: Any, meter: Meter | None = None) -> Any:
    """
    JavaScript's binary `+`: string concatenation if either primitive is a string, else a sum.

    json-logic-js's `substr` uses it, to add a negative end to a length.
    """
    left = to_primitive(left, meter)
    right = to_primitive(right, meter)
    if isinstance(left, str) or isinstance(right, str):
        left, right = to_string(left, meter), to_string(right, meter)
        length = len(left) + len(right)
        if length > _max_length(meter):
            raise _too_long(_max_length(meter))
        spend(meter, text_cost(length))
        return left + right
    return to_number(left) + to_number(right)


# --- strings ------------------------------------------------------------------------------


def format_number(number: float) -> str:
    """
    JavaScript's Number::toString: `1.0` is `"1"`, `1e21` is `"1e+21"`, `1e-7` is `"1e-7"`.

    Integers below 1e21 print in full, everything else with the shortest digits that
    round-trip, as ECMAScript's Number::toString asks.
    """
    if number != number:  # noqa: PLR0124 (NaN test)
        return "NaN"
    if number == 0:
        return "0"
    if number in (_INF, -_INF):
        return "Infinity" if number > 0 else "-Infinity"
    if number.is_integer() and -MAX_EXACT_INTEGER <= number <= MAX_EXACT_INTEGER:
        return str(int(number))
    # repr() gives the shortest digits that round-trip, as ECMAScript asks for.
    text = repr(number)
    if "e" not in text and not number.is_integer():
        # A fraction Python writes without an exponent (from 1e-4 up to 1e16): as JavaScript.
        return text
    sign = ""
    if text[0] == "-":
        sign = "-"
        text = text[1:]
    mantissa, _, exponent = text.partition("e")
    point = mantissa.find(".")
    if point < 0:
        digits = mantissa
        position = len(mantissa)
    else:
        digits = mantissa[:point] + mantissa[point + 1 :]
        position = point
    if exponent:
        position += int(exponent)
    significant = digits.lstrip("0")
    position -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= position <= 21:
        return sign + digits + "0" * (position - count)
    if 0 < position <= 21:
        return sign + digits[:position] + "." + digits[position:]
    if -6 < position <= 0:
        return sign + "0." + "0" * -position + digits
    power = position - 1
    suffix = f"e+{power}" if power >= 0 else f"e-{-power}"
    if count == 1:
        return sign + digits + suffix
    return sign + digits[0] + "." + digits[1:] + suffix


def _int_to_string(value: int) -> str:
    if -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
        return str(int(value))
    return format_number(_int_to_double(int(value)))


def to_string(value: Any, meter: Meter | None = None) -> str:
    """
    JavaScript's `String(value)`: `null` is `"null"`, `[1, [2, null]]` is `"1,2,"`.

    Objects are `"[object Object]"`; an array is its items joined with commas, where
    `null` and `undefined` items are empty.
    """
    kind = _kind(value)
    if kind == _STRING:
        return value  # type: ignore[no-any-return]
    if kind == _NUMBER:
        if type(value) is float:
            return format_number(value)
        if isinstance(value, int):
            return _int_to_string(value)
        return format_number(float(value))
    if kind == _BOOLEAN:
        return "true" if value else "false"
    if kind == _NULL:
        return "null"
    if kind == _UNDEFINED_KIND:
        return "undefined"
    return _object_to_string(value, meter)


def to_primitive(value: Any, meter: Meter | None = None) -> Any:
    """
    JavaScript's ToPrimitive: arrays and objects become strings, primitives stay as they are.

    An object with its own `toString` cannot be converted: that raises `RuleError`.
    """
    if _kind(value) == _OBJECT:
        return _object_to_string(value, meter)
    return value


def _object_to_string(value: Any, meter: Meter | None = None) -> str:
    if isinstance(value, list):
        return _array_to_string(value, meter)
    if isinstance(value, dict) and "toString" in value:
        # An own `toString` that JSON made is never a function: OrdinaryToPrimitive gives up.
        raise RuleError("cannot convert an object with its own 'toString' to a primitive value")
    return "[object Object]"


def _element_to_string(item: Any) -> str:
    if item is None or item is UNDEFINED:
        return ""
    return to_string(item)


def _array_to_string(array: list[Any], meter: Meter | None = None) -> str:
    """
    `Array.prototype.join(",")`, as V8 runs it: an array met again inside itself gives "".

    Writes every piece into one list, with its own stack, so that deep nesting needs no
    recursion and costs time in proportion to the result. An array met a second time (data
    can share them) is joined once and its string reused. Each item visited and the length
    of the result are charged to *meter* (an item costs a unit: numbers take time to
    write); the result may not exceed its `max_length`.
    """
    limit = _max_length(meter)
    if not any(isinstance(item, list) for item in array):
        spend(meter, len(array))
        if len(array) > limit + 1:
            raise _too_long(limit)
        pieces = [_element_to_string(item) for item in array]
        length = sum(map(len, pieces)) + len(pieces) - 1
        if length > limit:
            raise _too_long(limit)
        spend(meter, text_cost(length))
        return ",".join(pieces)
    # Items visited are paid for as they are visited: nesting may be deep, not long.
    budget = limit + 1 if meter is None else meter.work + 1
    visits = 0
    parts: list[str] = []
    length = 0
    done: dict[int, tuple[int, int] | str] = {}
    active = {id(array)}
    # Each frame: the array, its remaining items, where its pieces start, items seen so far.
    stack: list[list[Any]] = [[array, iter(array), 0, 0]]
    while stack:
        frame = stack[-1]
        for item in frame[1]:
            visits += 1
            if visits > budget:
                if meter is None:
                    raise _too_long(limit)
                spend(meter, visits)
            if frame[3]:
                parts.append(",")
                length += 1
            frame[3] += 1
            if isinstance(item, list):
                key = id(item)
                seen = done.get(key)
                if seen is None:
                    if key not in active:
                        active.add(key)
                        stack.append([item, iter(item), len(parts), 0])
                        break
                    continue  # a cycle: V8 joins it as ""
                if isinstance(seen, tuple):
                    seen = done[key] = "".join(parts[seen[0] : seen[1]])
                text = seen
            else:
                text = _element_to_string(item)
            parts.append(text)
            length += len(text)
            if length > limit:
                raise _too_long(limit)
        else:
            stack.pop()
            active.discard(id(frame[0]))
            done[id(frame[0])] = (frame[2], len(parts))
    spend(meter, visits + text_cost(length))
    return "".join(parts)


def substr(text: str, start: Any, length: Any = UNDEFINED, meter: Meter | None = None) -> str:
    """
    `String.prototype.substr(start, length)`, on UTF-16 code units.

    A negative *start* counts from the end; a missing *length* runs to the end.
    """
    spend(meter, text_cost(len(text)))
    ascii_only = text.isascii()
    units = b"" if ascii_only else _utf16(text)
    size = len(text) if ascii_only else len(units) >> 1
    begin = to_integer_or_infinity(start, meter)
    if begin == -_INF:
        begin = 0.0
    elif begin < 0:
        begin = max(size + begin, 0.0)
    else:
        begin = min(begin, size)
    count = size if length is UNDEFINED else to_integer_or_infinity(length, meter)
    count = min(max(count, 0), size)
    end = min(begin + count, size)
    if begin >= end:
        return ""
    if end - begin > _max_length(meter):
        raise _too_long(_max_length(meter))
    if ascii_only:
        return text[int(begin) : int(end)]
    return _from_utf16(units[2 * int(begin) : 2 * int(end)])


def _array_index(key: str) -> int:
    """The index a canonical array-index string names, or -1 when *key* names none."""
    if key == "0":
        return 0
    if 0 < len(key) <= 10 and key[0] != "0" and key.isascii() and key.isdigit():
        return int(key)
    return -1


def costs_to_read(key: str) -> bool:
    """
    Whether reading *key* of a value can cost work.

    It can for the `length` of a string, or a character far into one; reading a
    dictionary's key or an array's item never does.
    """
    return key == "length" or _array_index(key) > FREE_SIZE


def property_of(value: Any, key: str, meter: Meter | None = None) -> Any:
    """
    `value[key]` for a JSON value, or `UNDEFINED`: own keys, array indices, `length`.

    The properties every JavaScript value inherits (`constructor`, `toString`, ...) are
    functions, which JSON cannot hold, so they are not found here. Only the keys
    `costs_to_read()` names can charge *meter*.
    """
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    if isinstance(value, list):
        if key == "length":
            return len(value)
        index = _array_index(key)
        if 0 <= index < len(value):
            return value[index]
        return UNDEFINED
    if isinstance(value, str):
        if key == "length":
            return utf16_length(value, meter)
        index = _array_index(key)
        if index < 0:
            return UNDEFINED
        if value.isascii():
            return value[index] if index < len(value) else UNDEFINED
        if index >= 2 * len(value):  # past the last code unit the string could have
            return UNDEFINED
        # The code unit at *index* lies within the first index + 1 characters: charged by
        # what is read, never by the size of the index.
        spend(meter, text_cost(min(index + 1, len(value))))
        units = _utf16(value[: index + 1])
        if len(units) >> 1 <= index:
            return UNDEFINED
        return _from_utf16(units[2 * index : 2 * index + 2])
    return UNDEFINED


# --- equality and comparison --------------------------------------------------------------


def _numbers_equal(left: Any, right: Any, meter: Meter | None) -> bool:
    if type(left) in _DOUBLES and type(right) in _DOUBLES:
        try:
            return float(left) == float(right)
        except OverflowError:
            pass
    return to_number(left, meter) == to_number(right, meter)


def _same_kind_equals(kind: int, left: Any, right: Any, meter: Meter | None = None) -> bool:
    if kind == _NUMBER:
        return _numbers_equal(left, right, meter)
    if kind in (_STRING, _BOOLEAN):
        return bool(left == right)
    if kind == _OBJECT:
        return left is right
    return True  # null === null, undefined === undefined


def strict_equals(left: Any, right: Any) -> bool:
    """
    JavaScript's `===`: no coercion; `1` and `true` differ, `NaN` equals nothing.

    Arrays and objects are equal only to themselves. It costs no work: nothing is converted.
    """
    if type(left) is str and type(right) is str:
        return left == right
    kind = _kind(left)
    if kind != _kind(right):
        return False
    return _same_kind_equals(kind, left, right)


def loose_equals(left: Any, right: Any, meter: Meter | None = None) -> bool:
    """
    JavaScript's `==` (IsLooselyEqual): `null == undefined`, `"1" == 1`, `[1, 2] == "1,2"`.

    A boolean compares as a number, an array or object as its string (ToPrimitive).
    """
    if type(left) is str and type(right) is str:
        return left == right
    left_kind = _kind(left)
    right_kind = _kind(right)
    while True:
        if left_kind == right_kind:
            return _same_kind_equals(left_kind, left, right, meter)
        if left_kind in (_NULL, _UNDEFINED_KIND):
            return right_kind in (_NULL, _UNDEFINED_KIND)
        if right_kind in (_NULL, _UNDEFINED_KIND):
            return False
        if left_kind == _BOOLEAN:
            left, left_kind = (1 if left else 0), _NUMBER
        elif right_kind == _BOOLEAN:
            right, right_kind = (1 if right else 0), _NUMBER
        elif left_kind == _OBJECT:
            left, left_kind = _object_to_string(left, meter), _STRING
        elif right_kind == _OBJECT:
            right, right_kind = _object_to_string(right, meter), _STRING
        else:  # a number and a string
            return to_number(left, meter) == to_number(right, meter)


def _primitives(left: Any, right: Any, meter: Meter | None) -> tuple[Any, Any, bool]:
    """Both sides as primitives, and whether they compare as strings (else as numbers)."""
    left = to_primitive(left, meter)
    right = to_primitive(right, meter)
    return left, right, isinstance(left, str) and isinstance(right, str)


def less_than(left: Any, right: Any, meter: Meter | None = None) -> bool:
    """
    JavaScript's `<`: two strings compare by UTF-16 code units, anything else as numbers.

    Arrays and objects are first turned into strings (ToPrimitive).
    """
    if type(left) in _DOUBLES and type(right) in _DOUBLES:
        try:
            return float(left) < float(right)
        except OverflowError:
            pass
    left, right, strings = _primitives(left, right, meter)
    if strings:
        return _string_less(left, right, meter)
    return to_number(left, meter) < to_number(right, meter)


def less_than_or_equal(left: Any, right: Any, meter: Meter | None = None) -> bool:
    """
    JavaScript's `<=`: false whenever either side is NaN.

    Two strings compare by UTF-16 code units, anything else as numbers.
    """
    if type(left) in _DOUBLES and type(right) in _DOUBLES:
        try:
            return float(left) <= float(right)
        except OverflowError:
            pass
    left, right, strings = _primitives(left, right, meter)
    if strings:
        return not _string_less(right, left, meter)
    return to_number(left, meter) <= to_number(right, meter)


def greater_than(left: Any, right: Any, meter: Meter | None = None) -> bool:
    """
    JavaScript's `>`.

    Two strings compare by UTF-16 code units, anything else as numbers.
    """
    if type(left) in _DOUBLES and type(right) in _DOUBLES:
        try:
            return float(left) > float(right)
        except OverflowError:
            pass
    left, right, strings = _primitives(left, right, meter)
    if strings:
        return _string_less(right, left, meter)
    return to_number(left, meter) > to_number(right, meter)


def greater_than_or_equal(left: Any, right: Any, meter: Meter | None = None) -> bool:
    """
    JavaScript's `>=`: false whenever either side is NaN.

    Two strings compare by UTF-16 code units, anything else as numbers.
    """
    if type(left) in _DOUBLES and type(right) in _DOUBLES:
        try:
            return float(left) >= float(right)
        except OverflowError:
            pass
    left, right, strings = _primitives(left, right, meter)
    if strings:
        return not _string_less(left, right, meter)
    return to_number(left, meter) >= to_number(right, meter)
