"""
JsonLogic rules, evaluated exactly as the reference implementation evaluates them.

[JsonLogic](https://jsonlogic.com) writes a rule as JSON: `{"<": [{"var": "age"}, 18]}`.
`apply()` returns what `jsonLogic.apply()` of the npm package `json-logic-js` 2.x returns,
JavaScript's coercions included: `{"+": ["1", 1]}` is 2, `{"==": [1, "1"]}` is true,
`{"cat": [1.0, true]}` is `"1true"`, `{"/": [1, 0]}` is infinity.

How JavaScript values come out in Python:

- A number an operation computes is an `int` when it is an integer within ±2**53, and a
  `float` otherwise: `-0.0`, `nan`, `inf` and `-inf` appear where JavaScript has `-0`, `NaN`,
  `Infinity` and `-Infinity`. Numbers that a rule or its data pass through unchanged keep
  their Python type; operations read an `int` beyond ±2**53 as the nearest double, as
  `JSON.parse` would have.
- JavaScript's `undefined` (what an empty `{"and": []}` returns) comes out as `None` at the
  top and inside arrays, and is left out of objects, as `JSON.stringify` does.
- Strings are indexed, measured, sliced and compared by UTF-16 code units, as in JavaScript.
- Data is JSON-shaped: `dict` objects with `str` keys, `list` arrays, `str`, `int`, `float`,
  `bool` and `None`. Any other object is an opaque JavaScript object (`"[object Object]"`).
  Only a dict's own keys, an array's or string's indices and their `length` are properties:
  those every JavaScript object inherits (`constructor`, `toString`, ...) are functions,
  which JSON cannot carry.

Differences from the reference, all on purpose:

- `method` is not an operation (json-logic-js 2.x dropped it too): it would let a rule call
  any method of any value.
- Bounds: a rule is checked against *max_depth* and *max_size* before it runs; evaluation
  stops after *max_work* units of work, counted by size (see `apply()`), or before it
  builds a string or array longer than *max_length* (V8 allows strings of 2**29 - 24 code
  units); logic that `missing` finds in the data and runs counts towards *max_depth*. Each
  raises `RuleLimitError`.
- Errors: where json-logic-js throws (an unknown operation, `{"*": []}`, ...) `apply()`
  raises a `RuleError`. Nothing else leaves it: an exception from a custom operation comes
  out as a `RuleError` caused by it.
- Operation names are looked up as they are. json-logic-js reads a name with dots as a path
  into its table of operations, so that `var.prototype.constructor` is `var` there.
- `log` writes to the `omnikit.rules.jsonlogic` logger at INFO level, not to the console,
  and shortens what it writes (`reprlib`).
- Custom operations get plain Python arguments (`undefined` as `None`) and no `this`.
- Without *data*, a rule reads `null`, where json-logic-js reads `undefined`; the two differ
  only to `===` (`{"===": [{"var": ""}, null]}`).
"""

from __future__ import annotations

import logging
import math
import reprlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NoReturn

from omnikit.errors import RuleError, RuleLimitError

from . import _js
from ._js import UNDEFINED
from ._meter import call_custom
from ._walk import (
    _measure,
    _measure_sized,
    _unknown_operation,
    _UnknownOperationError,
    static_cost,
)

__all__ = ["apply", "is_logic", "uses_data"]

_logger: Final = logging.getLogger(__name__)

_Step = Callable[[list[Any], Any, "_Run"], Any]
"""An operation or special form: (its arguments or raw values, the data, the run) → result."""


class _Run:
    """
    The state of one `apply()`: its operations, what is left of its limits.

    It is the *meter* the helpers of `_js` charge (`work`, `max_length`); `costs` keeps the
    cost of each iteration's logic, by the identity of that logic, once worked out.
    """

    __slots__ = (
        "costs",
        "depth",
        "max_depth",
        "max_length",
        "max_size",
        "operations",
        "undefined_seen",
        "work",
    )

    def __init__(
        self,
        operations: dict[Any, _Step],
        *,
        depth: int,
        max_depth: int,
        max_size: int,
        max_work: int,
        max_length: int = _js.MAX_LENGTH,
    ) -> None:
        self.operations = operations
        self.depth = depth
        self.max_depth = max_depth
        self.max_size = max_size
        self.max_length = max_length
        self.work = max_work
        self.undefined_seen = False
        self.costs: dict[int, int] = {}


def _out_of_work() -> NoReturn:
    raise RuleLimitError(_js.WORK_EXCEEDED)


def _too_many(limit: int) -> NoReturn:
    raise RuleLimitError(f"an array would be longer than {limit} items (max_length)")


def _body_cost(logic: Any, run: _Run) -> int:
    """The static cost of *logic*, applied to each item of an array: worked out once a run."""
    if not isinstance(logic, (dict, list)):
        return 0
    key = id(logic)
    cost = run.costs.get(key)
    if cost is None:
        cost = run.costs[key] = static_cost(logic)
    return cost


# --- the evaluator ------------------------------------------------------------------------


def _evaluate(logic: Any, data: Any, run: _Run) -> Any:
    if isinstance(logic, dict):
        if len(logic) != 1:
            return logic
        ((operator, values),) = logic.items()
        if not isinstance(values, list):
            values = [values]
        operation = run.operations.get(operator)
        if operation is None:
            form = _FORMS.get(operator)
            if form is not None:
                return form(values, data, run)
        # Arguments first, as json-logic-js: an error inside them wins over an unknown name.
        # (One or two arguments are the common case: spelled out, they skip a frame.)
        count = len(values)
        if count == 2:
            first, second = values
            arguments = [
                _evaluate(first, data, run) if isinstance(first, (dict, list)) else first,
                _evaluate(second, data, run) if isinstance(second, (dict, list)) else second,
            ]
        elif count == 1:
            first = values[0]
            arguments = [_evaluate(first, data, run) if isinstance(first, (dict, list)) else first]
        else:
            arguments = [
                _evaluate(value, data, run) if isinstance(value, (dict, list)) else value
                for value in values
            ]
        if operation is None:
            raise _UnknownOperationError(operator, logic)
        return operation(arguments, data, run)
    if isinstance(logic, list):
        return [
            _evaluate(item, data, run) if isinstance(item, (dict, list)) else item for item in logic
        ]
    return logic


def _evaluate_found(logic: Any, data: Any, run: _Run) -> Any:
    """
    Evaluate *logic* that came out of data, as `missing` does, within the run's limits.

    json-logic-js runs a `missing` key that looks like logic, so data can hold logic too.
    Reading it costs a unit per value it holds, each time it is found.
    """
    if not isinstance(logic, (dict, list)):
        return logic
    depth, size = _measure_sized(logic, max_depth=run.max_depth, max_size=run.max_size)
    _js.spend(run, size)
    if run.depth + depth > run.max_depth:
        raise RuleLimitError(
            f"logic read from data nests deeper than {run.max_depth} levels (max_depth)"
        )
    run.depth += depth
    try:
        return _evaluate(logic, data, run)
    finally:
        run.depth -= depth


def _pair(arguments: list[Any]) -> tuple[Any, Any]:
    if len(arguments) >= 2:
        return arguments[0], arguments[1]
    if arguments:
        return arguments[0], UNDEFINED
    return UNDEFINED, UNDEFINED


def _argument(arguments: list[Any], index: int) -> Any:
    return arguments[index] if len(arguments) > index else UNDEFINED


# --- special forms: they get their values unevaluated -------------------------------------


def _form_if(values: list[Any], data: Any, run: _Run) -> Any:
    count = len(values)
    index = 0
    while index < count - 1:
        if _js.truthy(_evaluate(values[index], data, run)):
            return _evaluate(values[index + 1], data, run)
        index += 2
    if index == count - 1:
        return _evaluate(values[index], data, run)
    return None


def _form_and(values: list[Any], data: Any, run: _Run) -> Any:
    if not values:
        run.undefined_seen = True
        return UNDEFINED
    current = None
    for value in values:
        current = _evaluate(value, data, run)
        if not _js.truthy(current):
            return current
    return current


def _form_or(values: list[Any], data: Any, run: _Run) -> Any:
    if not values:
        run.undefined_seen = True
        return UNDEFINED
    current = None
    for value in values:
        current = _evaluate(value, data, run)
        if _js.truthy(current):
            return current
    return current


def _scope(values: list[Any], data: Any, run: _Run) -> tuple[Any, Any]:
    """The array an iterating form walks (evaluated) and the logic it applies (not)."""
    items = _evaluate(values[0], data, run) if values else UNDEFINED
    return _visiting(items, run), values[1] if len(values) > 1 else UNDEFINED


def _visiting(items: Any, run: _Run) -> Any:
    """*items*, after paying a unit for each item an iterating form will visit."""
    if isinstance(items, list):
        run.work -= len(items)
        if run.work < 0:
            _out_of_work()
    return items


def _each(items: list[Any], logic: Any, run: _Run) -> Iterator[Any]:
    """*logic* evaluated on each item in turn, each paid for before it is evaluated."""
    cost = _body_cost(logic, run)
    for item in items:
        if cost:
            run.work -= cost
            if run.work < 0:
                _out_of_work()
        yield _evaluate(logic, item, run)


def _form_filter(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _filter_items(items, logic, run)


def _filter_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list):
        return []
    values = _each(items, logic, run)
    kept = [item for item, value in zip(items, values, strict=True) if _js.truthy(value)]
    if len(kept) > run.max_length:
        _too_many(run.max_length)
    return kept


def _form_map(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _map_items(items, logic, run)


def _map_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list):
        return []
    if len(items) > run.max_length:
        _too_many(run.max_length)
    if logic is UNDEFINED:
        run.undefined_seen = True
    return list(_each(items, logic, run))


def _form_reduce(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    accumulator = _evaluate(values[2], data, run) if len(values) > 2 else None
    return _reduce_items(items, logic, accumulator, run)


def _reduce_items(items: Any, logic: Any, accumulator: Any, run: _Run) -> Any:
    if not isinstance(items, list):
        return accumulator
    if logic is UNDEFINED:
        run.undefined_seen = True
    cost = _body_cost(logic, run)
    for item in items:
        if cost:
            run.work -= cost
            if run.work < 0:
                _out_of_work()
        accumulator = _evaluate(logic, {"current": item, "accumulator": accumulator}, run)
    return accumulator


def _form_all(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _all_items(items, logic, run)


def _all_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list) or not items:
        return False
    return all(_js.truthy(value) for value in _each(items, logic, run))


def _form_none(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _none_items(items, logic, run)


def _none_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list) or not items:
        return True
    return not any(_js.truthy(value) for value in _each(items, logic, run))


def _form_some(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _some_items(items, logic, run)


def _some_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list) or not items:
        return False
    return any(_js.truthy(value) for value in _each(items, logic, run))


_FORMS: Final[dict[Any, _Step]] = {
    "if": _form_if,
    "?:": _form_if,
    "and": _form_and,
    "or": _form_or,
    "filter": _form_filter,
    "map": _form_map,
    "reduce": _form_reduce,
    "all": _form_all,
    "none": _form_none,
    "some": _form_some,
}


# --- operations: they get their arguments evaluated ----------------------------------------


def _op_loose_equals(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return _js.loose_equals(left, right, run)


def _op_strict_equals(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    left, right = _pair(arguments)
    return _js.strict_equals(left, right)


def _op_loose_differs(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return not _js.loose_equals(left, right, run)


def _op_strict_differs(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    left, right = _pair(arguments)
    return not _js.strict_equals(left, right)


def _op_greater_than(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return _js.greater_than(left, right, run)


def _op_greater_than_or_equal(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return _js.greater_than_or_equal(left, right, run)


def _op_less_than(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, middle = _pair(arguments)
    right = _argument(arguments, 2)
    if right is UNDEFINED:
        return _js.less_than(left, middle, run)
    return _js.less_than(left, middle, run) and _js.less_than(middle, right, run)


def _op_less_than_or_equal(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, middle = _pair(arguments)
    right = _argument(arguments, 2)
    if right is UNDEFINED:
        return _js.less_than_or_equal(left, middle, run)
    return _js.less_than_or_equal(left, middle, run) and _js.less_than_or_equal(middle, right, run)


def _op_truthy(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    return _js.truthy(_argument(arguments, 0))


def _op_not(arguments: list[Any], _data: Any, _run: _Run) -> Any:
    return not _js.truthy(_argument(arguments, 0))


def _op_remainder(arguments: list[Any], _data: Any, run: _Run) -> Any:
    left, right = _pair(arguments)
    return _js.canonical_number(_js.remainder(left, right, run))


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


def _in_list(needle: Any, haystack: list[Any], meter: _js.Meter | None = None) -> bool:
    """
    Whether *haystack* holds an item `===` to *needle*.

    Searching for a string is quick: it costs nothing up to 64 items, then a unit an item;
    for anything else, a unit an item.
    """
    count = len(haystack)
    _js.spend(meter, _js.items_cost(count) if type(needle) is str else count)
    if type(needle) is str and needle not in haystack:
        return False  # quickly: an item `===` to a string is `==` to it in Python too
    strict_equals = _js.strict_equals
    return any(strict_equals(needle, item) for item in haystack)


def _op_in(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    needle, haystack = _pair(arguments)
    if not _js.to_boolean(haystack):
        return False
    if isinstance(haystack, str):
        return _js.string_includes(haystack, _js.to_string(needle, run), run)
    if isinstance(haystack, list):
        return _in_list(needle, haystack, run)
    if isinstance(haystack, dict) and "indexOf" in haystack:
        raise RuleError("'in': the object's own 'indexOf' is not a function")
    return False


def _op_cat(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    parts = [
        "" if argument is None or argument is UNDEFINED else _js.to_string(argument, run)
        for argument in arguments
    ]
    length = sum(map(len, parts))
    limit = _js.MAX_LENGTH if run is None else run.max_length
    if length > limit:
        raise RuleLimitError(f"'cat' would make a string over {limit} characters (max_length)")
    _js.spend(run, _js.text_cost(length))
    return _js.join_surrogates("".join(parts))


def _op_substr(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    source, start = _pair(arguments)
    end = _argument(arguments, 2)
    if _js.less_than(end, 0, run):
        # json-logic-js emulates PHP here: a negative end drops that many characters.
        head = _js.substr(_js.to_string(source, run), start, meter=run)
        length = _js.add(_js.utf16_length(head, run), end, run)
        return _js.substr(head, 0, length, meter=run)
    return _js.substr(_js.to_string(source, run), start, end, meter=run)


def _op_add(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    total = 0.0
    for argument in arguments:
        total += _js.parse_float(argument, run)
    return _js.canonical_number(total)


def _op_multiply(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    if not arguments:
        raise RuleError("'*' needs at least one argument")
    product = arguments[0]
    for argument in arguments[1:]:
        product = _js.parse_float(product, run) * _js.parse_float(argument, run)
    if len(arguments) == 1:
        return product
    return _js.canonical_number(product)


def _op_subtract(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    left, right = _pair(arguments)
    if right is UNDEFINED:
        return _js.canonical_number(-_js.to_number(left, run))
    return _js.canonical_number(_js.to_number(left, run) - _js.to_number(right, run))


def _op_divide(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    left, right = _pair(arguments)
    return _js.canonical_number(_js.divide(left, right, run))


def _op_min(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    numbers = [_js.to_number(argument, run) for argument in arguments]
    lowest = math.inf
    for number in numbers:
        if number != number:  # noqa: PLR0124 (NaN test)
            return math.nan
        if number < lowest or (number == lowest == 0 and math.copysign(1.0, number) < 0):
            lowest = number
    return _js.canonical_number(lowest)


def _op_max(arguments: list[Any], _data: Any, run: _Run | None) -> Any:
    numbers = [_js.to_number(argument, run) for argument in arguments]
    highest = -math.inf
    for number in numbers:
        if number != number:  # noqa: PLR0124 (NaN test)
            return math.nan
        if number > highest or (number == highest == 0 and math.copysign(1.0, number) > 0):
            highest = number
    return _js.canonical_number(highest)


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
    text = path if isinstance(path, str) else _js.to_string(path, run)
    keys = text.split(".")
    _js.spend(run, _js.path_cost(text, len(keys)))
    for key in keys:
        if data is None or data is UNDEFINED:
            return default
        data = _js.property_of(data, key, run)
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
        raise RuleError(f"cannot read 'length' of {_js.to_string(value)}")
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str):
        return _js.utf16_length(value, run)
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
    present = _js.to_number(_length(options, run), run) - _js.to_number(_length(missing, run), run)
    if _js.greater_than_or_equal(present, need):
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


def _exported(value: Any, seen: dict[int, Any], meter: _js.Meter | None = None) -> Any:
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
            _js.spend(meter, len(value))
            items = [_exported(item, seen, meter) for item in value]
            changed = any(new is not old for new, old in zip(items, value, strict=True))
            seen[key] = items if changed else value
        return seen[key]
    if isinstance(value, dict):
        key = id(value)
        if key not in seen:
            seen[key] = value
            _js.spend(meter, len(value))
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


# --- public API ---------------------------------------------------------------------------


def apply(
    logic: Any,
    data: Any = None,
    *,
    operations: Mapping[str, Callable[..., Any]] | None = None,
    max_depth: int = 64,
    max_size: int = 10_000,
    max_work: int = 1_000_000,
    max_length: int = _js.MAX_LENGTH,
) -> Any:
    """
    Evaluate the JsonLogic rule *logic* against *data*, as json-logic-js would.

    ```python
    apply({"<": [{"var": "age"}, 18]}, {"age": 15})  # True
    apply({"cat": ["Hi ", {"var": "name.first"}]}, {"name": {"first": "Ada"}})  # 'Hi Ada'
    apply({"+": ["1", 1]})  # 2
    ```

    Args:
        logic: A rule: a one-key dict is an operation, an array is evaluated item by item,
            anything else is returned as it is.
        data: What `var`, `missing` and `missing_some` read; `None` is JSON `null`.
        operations: Extra operations by name, like json-logic-js's `add_operation`: each is
            called with the evaluated arguments. They may replace the plain operations
            (`var`, `+`, ...), but not `if`, `?:`, `and`, `or`, `map`, `filter`, `reduce`,
            `all`, `none` and `some`, which decide themselves what to evaluate.
        max_depth: How deeply operations and arrays may nest in *logic*, and in logic that
            `missing` finds in *data* and runs.
        max_size: How many values (operations, arrays, objects, scalars) *logic* may hold.
        max_work: How much work evaluation may do, counted by size: a unit for each
            operation and each item of an array the rule holds (paid up front, taken or
            not; the logic `map`, `filter`, `reduce`, `all`, `none` and `some` apply costs
            that again for each item), a unit for each item those forms visit and each
            item `merge` and `missing` build, and for strings and arrays over 64
            characters or items that an operation reads or builds (`cat`, `substr`, `in`,
            comparing, turning into numbers or strings), a unit per 16 characters and per
            item. Logic that `missing` finds in *data* costs a unit per value it holds.
        max_length: The longest string (in characters) or array (in items) an operation
            may build.

    Returns:
        The result, as JSON-shaped Python values (see the module documentation).

    Raises:
        RuleSyntaxError: If *logic* uses an unknown operation where it is evaluated; its
            *path* says where (`"and[1]"`).
        RuleLimitError: If *logic* exceeds *max_depth* or *max_size*, or evaluation
            exceeds *max_work* or would build a value longer than *max_length*.
        RuleError: Where json-logic-js throws (`{"*": []}`, the `length` of `null` in
            `missing_some`, ...), and when a custom operation raises: the exception is
            the `__cause__`.

    Added in version 0.1.0.
    """
    depth = _measure(logic, max_depth=max_depth, max_size=max_size)
    run = _Run(
        _operation_table(operations),
        depth=depth,
        max_depth=max_depth,
        max_size=max_size,
        max_work=max_work - static_cost(logic),
        max_length=max_length,
    )
    if run.work < 0:
        _out_of_work()
    try:
        result = _evaluate(logic, data, run)
        if run.undefined_seen:
            result = _exported(result, {})
    except _UnknownOperationError as exc:
        raise _unknown_operation(exc, logic) from None
    except RecursionError as exc:
        raise RuleLimitError("rule evaluation nested too deeply for Python's stack") from exc
    except MemoryError as exc:
        raise RuleLimitError("rule evaluation ran out of memory") from exc
    return result


def is_logic(value: Any) -> bool:
    """
    Tell whether *value* is an operation: an object with exactly one key.

    Added in version 0.1.0.
    """
    return isinstance(value, dict) and len(value) == 1


def uses_data(logic: Any) -> list[Any]:
    """
    List the paths that *logic* reads with `var`, each once, in the order they appear.

    Like json-logic-js's `uses_data`, this looks only at operations and their arguments
    (not inside arrays that are not arguments), and takes a `var` argument as it is written:
    `{"var": {"cat": ["a", "b"]}}` gives the `cat` object, not `"ab"`.

    ```python
    uses_data({"and": [{"var": "a"}, {"<": [{"var": "b.c"}, {"var": "a"}]}]})  # ['a', 'b.c']
    ```

    Added in version 0.1.0.
    """
    found: list[Any] = []
    seen: set[tuple[str, Any]] = set()
    stack: list[Iterator[Any]] = [iter([logic])]
    while stack:
        for node in stack[-1]:
            if not is_logic(node):
                continue
            ((operator, values),) = node.items()
            if not isinstance(values, list):
                values = [values]
            if operator == "var":
                path = values[0] if values else UNDEFINED
                key = _identity(path)
                if key is None or key not in seen:
                    if key is not None:
                        seen.add(key)
                    found.append(None if path is UNDEFINED else path)
            else:
                stack.append(iter(values))
                break
        else:
            stack.pop()
    return found


def _identity(value: Any) -> tuple[str, Any] | None:
    """What `===` compares *value* by, as a set key; `None` for NaN, which equals nothing."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        number = _js.to_number(value)
        if number != number:  # noqa: PLR0124 (NaN test)
            return None
        return ("number", number)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    if value is UNDEFINED:
        return ("undefined", None)
    return ("object", id(value))
