"""
The JsonLogic interpreter's core: the state of one run, the evaluator and the special forms.

`interpreter.apply()` sets up a `_Run` and calls `_evaluate()`, which dispatches to the
plain operations (`operations`, given their arguments evaluated) and to the special forms
here (`if`, `and`, `map`, ..., given their values unevaluated: they decide what to evaluate).
What a rule means, JavaScript's coercions included, is told in `omnikit.rules.jsonlogic`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, NoReturn

from omnikit.errors import RuleLimitError
from omnikit.rules._lang import js
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.walk import _measure_sized, _UnknownOperationError, static_cost

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
        max_length: int = js.MAX_LENGTH,
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
    raise RuleLimitError(js.WORK_EXCEEDED)


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
    js.spend(run, size)
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
        if js.truthy(_evaluate(values[index], data, run)):
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
        if not js.truthy(current):
            return current
    return current


def _form_or(values: list[Any], data: Any, run: _Run) -> Any:
    if not values:
        run.undefined_seen = True
        return UNDEFINED
    current = None
    for value in values:
        current = _evaluate(value, data, run)
        if js.truthy(current):
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
    kept = [item for item, value in zip(items, values, strict=True) if js.truthy(value)]
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
    return all(js.truthy(value) for value in _each(items, logic, run))


def _form_none(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _none_items(items, logic, run)


def _none_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list) or not items:
        return True
    return not any(js.truthy(value) for value in _each(items, logic, run))


def _form_some(values: list[Any], data: Any, run: _Run) -> Any:
    items, logic = _scope(values, data, run)
    return _some_items(items, logic, run)


def _some_items(items: Any, logic: Any, run: _Run) -> Any:
    if not isinstance(items, list) or not items:
        return False
    return any(js.truthy(value) for value in _each(items, logic, run))


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
