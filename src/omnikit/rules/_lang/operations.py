"""
The plain JsonLogic operations (`==`, `+`, `var`, `missing`, ...) and custom operations.

Each gets its arguments evaluated, the data and the run (`evaluator._Run`), and computes as
json-logic-js does; `_operation_table()` adds a host's custom operations to them.
"""

from __future__ import annotations

import logging
import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from omnikit.errors import RuleError, RuleLimitError
from omnikit.rules._lang import js
from omnikit.rules._lang.evaluator import (
    _FORMS,
    _argument,
    _evaluate_found,
    _out_of_work,
    _pair,
    _Run,
    _Step,
    _too_many,
)
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.meter import call_custom

_logger: Final = logging.getLogger("omnikit.rules.jsonlogic")
"""Where `log` writes: named after the public module, where users look for it."""


def _op_loose_equals(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return js.loose_equals(left, right, run)


def _op_strict_equals(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    left, right = _pair(arguments)
    return js.strict_equals(left, right)


def _op_loose_differs(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return not js.loose_equals(left, right, run)


def _op_strict_differs(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    left, right = _pair(arguments)
    return not js.strict_equals(left, right)


def _op_greater_than(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return js.greater_than(left, right, run)


def _op_greater_than_or_equal(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return js.greater_than_or_equal(left, right, run)


def _op_less_than(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, middle = _pair(arguments)
    right = _argument(arguments, 2)
    if right is UNDEFINED:
        return js.less_than(left, middle, run)
    return js.less_than(left, middle, run) and js.less_than(middle, right, run)


def _op_less_than_or_equal(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, middle = _pair(arguments)
    right = _argument(arguments, 2)
    if right is UNDEFINED:
        return js.less_than_or_equal(left, middle, run)
    return js.less_than_or_equal(left, middle, run) and js.less_than_or_equal(middle, right, run)


def _op_truthy(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    return js.truthy(_argument(arguments, 0))


def _op_not(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    return not js.truthy(_argument(arguments, 0))


def _op_remainder(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return js.canonical_number(js.remainder(left, right, run))


_PREVIEW: Final = reprlib.Repr()
"""How `log` shows a value: shortened, so that a huge or self-sharing value logs quickly."""
_PREVIEW.maxstring = _PREVIEW.maxother = 200
_PREVIEW.maxlist = _PREVIEW.maxdict = 20


def _op_log(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    value = _argument(arguments, 0)
    if value is UNDEFINED and run is not None:
        run.undefined_seen = True
    if _logger.isEnabledFor(logging.INFO):
        _logger.info("%s", _PREVIEW.repr(value))
    return value


def _in_list(needle: Any, haystack: list[Any], meter: js.Meter | None = None) -> bool:
    """
    Whether *haystack* holds an item `===` to *needle*.

    Searching for a string is quick: it costs nothing up to 64 items, then a unit an item;
    for anything else, a unit an item.
    """
    count = len(haystack)
    js.spend(meter, js.items_cost(count) if type(needle) is str else count)
    if type(needle) is str and needle not in haystack:
        return False  # quickly: an item `===` to a string is `==` to it in Python too
    strict_equals = js.strict_equals
    return any(strict_equals(needle, item) for item in haystack)


def _op_in(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    needle, haystack = _pair(arguments)
    if not js.to_boolean(haystack):
        return False
    if isinstance(haystack, str):
        return js.string_includes(haystack, js.to_string(needle, run), run)
    if isinstance(haystack, list):
        return _in_list(needle, haystack, run)
    if isinstance(haystack, dict) and "indexOf" in haystack:
        raise RuleError("'in': the object's own 'indexOf' is not a function")
    return False


def _op_cat(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    parts = [
        "" if argument is None or argument is UNDEFINED else js.to_string(argument, run)
        for argument in arguments
    ]
    length = sum(map(len, parts))
    limit = js.MAX_LENGTH if run is None else run.max_length
    if length > limit:
        raise RuleLimitError(f"'cat' would make a string over {limit} characters (max_length)")
    js.spend(run, js.text_cost(length))
    return js.join_surrogates("".join(parts))


def _op_substr(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    source, start = _pair(arguments)
    end = _argument(arguments, 2)
    if js.less_than(end, 0, run):
        # json-logic-js emulates PHP here: a negative end drops that many characters.
        head = js.substr(js.to_string(source, run), start, meter=run)
        length = js.add(js.utf16_length(head, run), end, run)
        return js.substr(head, 0, length, meter=run)
    return js.substr(js.to_string(source, run), start, end, meter=run)


def _op_add(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    total = 0.0
    for argument in arguments:
        total += js.parse_float(argument, run)
    return js.canonical_number(total)


def _op_multiply(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    if not arguments:
        raise RuleError("'*' needs at least one argument")
    product = arguments[0]
    for argument in arguments[1:]:
        product = js.parse_float(product, run) * js.parse_float(argument, run)
    if len(arguments) == 1:
        return product
    return js.canonical_number(product)


def _op_subtract(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    left, right = _pair(arguments)
    if right is UNDEFINED:
        return js.canonical_number(-js.to_number(left, run))
    return js.canonical_number(js.to_number(left, run) - js.to_number(right, run))


def _op_divide(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    left, right = _pair(arguments)
    return js.canonical_number(js.divide(left, right, run))


def _op_min(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    numbers = [js.to_number(argument, run) for argument in arguments]
    lowest = math.inf
    for number in numbers:
        if number != number:  # noqa: PLR0124 (NaN test)
            return math.nan
        if number < lowest or (number == lowest == 0 and math.copysign(1.0, number) < 0):
            lowest = number
    return js.canonical_number(lowest)


def _op_max(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    numbers = [js.to_number(argument, run) for argument in arguments]
    highest = -math.inf
    for number in numbers:
        if number != number:  # noqa: PLR0124 (NaN test)
            return math.nan
        if number > highest or (number == highest == 0 and math.copysign(1.0, number) > 0):
            highest = number
    return js.canonical_number(highest)


def _op_merge(arguments: list[Any], _data: Any, run: _Run) -> Any:
    length = sum(len(argument) if isinstance(argument, list) else 1 for argument in arguments)
    if length > run.max_length:
        _too_many(run.max_length)
    run.work -= length
    if run.work < 0:
        _out_of_work()
    merged: list[Any] = []
    for argument in arguments:
        if isinstance(argument, list):
            merged.extend(argument)
        else:
            merged.append(argument)
    return merged


def _op_var(arguments: list[Any], data: Any, run: _Run | None) -> Any:
    path, default = _pair(arguments)
    if default is UNDEFINED:
        default = None
    if type(path) is str and type(data) is dict and path and "." not in path:
        value = data.get(path, UNDEFINED)
        return default if value is UNDEFINED else value
    if path is UNDEFINED or path is None or (isinstance(path, str) and not path):
        return data
    text = path if isinstance(path, str) else js.to_string(path, run)
    keys = text.split(".")
    js.spend(run, js.path_cost(text, len(keys)))
    for key in keys:
        if data is None or data is UNDEFINED:
            return default
        data = js.property_of(data, key, run)
        if data is UNDEFINED:
            return default
    return data


def _op_missing(arguments: list[Any], data: Any, run: _Run) -> Any:
    keys = arguments[0] if arguments and isinstance(arguments[0], list) else arguments
    run.work -= len(keys)
    if run.work < 0:
        _out_of_work()
    if len(keys) > run.max_length:
        _too_many(run.max_length)
    var = run.operations["var"]
    missing = []
    for key in keys:
        # json-logic-js evaluates {"var": key}, so a key that looks like logic runs as logic.
        if isinstance(key, list):
            value = var(_evaluate_found(key, data, run), data, run)
        else:
            value = var([_evaluate_found(key, data, run)], data, run)
        if value is None or (isinstance(value, str) and not value):
            missing.append(key)
    return missing


def _length(value: Any, run: _Run) -> Any:
    """`value.length`, as JavaScript reads it from a JSON value."""
    if value is None or value is UNDEFINED:
        raise RuleError(f"cannot read 'length' of {js.to_string(value)}")
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str):
        return js.utf16_length(value, run)
    if isinstance(value, dict):
        return value.get("length", UNDEFINED)
    return UNDEFINED


def _op_missing_some(arguments: list[Any], data: Any, run: _Run) -> Any:
    need, options = _pair(arguments)
    run.work -= 1
    if run.work < 0:
        _out_of_work()
    # json-logic-js evaluates {"missing": options}: the options run as logic once more.
    if isinstance(options, list):
        keys = _evaluate_found(options, data, run)
    else:
        keys = [_evaluate_found(options, data, run)]
    missing = run.operations["missing"](keys, data, run)
    present = js.to_number(_length(options, run), run) - js.to_number(_length(missing, run), run)
    if js.greater_than_or_equal(present, need):
        return []
    return missing


_OPERATIONS: Final[dict[Any, _Step]] = {
    "==": _op_loose_equals,
    "===": _op_strict_equals,
    "!=": _op_loose_differs,
    "!==": _op_strict_differs,
    ">": _op_greater_than,
    ">=": _op_greater_than_or_equal,
    "<": _op_less_than,
    "<=": _op_less_than_or_equal,
    "!!": _op_truthy,
    "!": _op_not,
    "%": _op_remainder,
    "log": _op_log,
    "in": _op_in,
    "cat": _op_cat,
    "substr": _op_substr,
    "+": _op_add,
    "*": _op_multiply,
    "-": _op_subtract,
    "/": _op_divide,
    "min": _op_min,
    "max": _op_max,
    "merge": _op_merge,
    "var": _op_var,
    "missing": _op_missing,
    "missing_some": _op_missing_some,
}


# --- custom operations and the way out -----------------------------------------------------


def _exported(value: Any, seen: dict[int, Any], meter: js.Meter | None = None) -> Any:
    """
    *value* with `undefined` made `None` in arrays and left out of objects.

    Each array item and object value visited (once: shared parts are done once) is charged
    to *meter*.
    """
    if value is UNDEFINED:
        return None
    if isinstance(value, list):
        key = id(value)
        if key not in seen:
            seen[key] = value
            js.spend(meter, len(value))
            items = [_exported(item, seen, meter) for item in value]
            changed = any(new is not old for new, old in zip(items, value, strict=True))
            seen[key] = items if changed else value
        return seen[key]
    if isinstance(value, dict):
        key = id(value)
        if key not in seen:
            seen[key] = value
            js.spend(meter, len(value))
            entries = {k: _exported(v, seen, meter) for k, v in value.items() if v is not UNDEFINED}
            changed = len(entries) != len(value) or any(
                entries[k] is not v for k, v in value.items() if v is not UNDEFINED
            )
            seen[key] = entries if changed else value
        return seen[key]
    return value


def _custom(name: str, function: Callable[..., Any]) -> _Step:
    def operation(arguments: list[Any], _data: Any, run: _Run) -> Any:
        if run.undefined_seen:
            seen: dict[int, Any] = {}
            arguments = [_exported(argument, seen, run) for argument in arguments]
        return call_custom(name, function, run, arguments)

    return operation


def _operation_table(operations: Mapping[str, Callable[..., Any]] | None) -> dict[Any, _Step]:
    if not operations:
        return _OPERATIONS
    table = dict(_OPERATIONS)
    for name, function in operations.items():
        if name not in _FORMS:  # as in json-logic-js, where these are decided before
            table[name] = _custom(name, function)
    return table
