"""
The JsonLogic interpreter's entry points: `apply()`, `is_logic()` and `uses_data()`.

They are public as `omnikit.rules.jsonlogic`, whose documentation tells what a rule means
and how JavaScript's values come out in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from omnikit.errors import RuleLimitError
from omnikit.rules._lang import js
from omnikit.rules._lang.evaluator import _evaluate, _out_of_work, _Run
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.operations import _exported, _operation_table
from omnikit.rules._lang.walk import (
    _measure,
    _unknown_operation,
    _UnknownOperationError,
    static_cost,
)

__all__ = ["apply", "is_logic", "uses_data"]


def apply(
    logic: Any,
    data: Any = None,
    *,
    operations: Mapping[str, Callable[..., Any]] | None = None,
    max_depth: int = 64,
    max_size: int = 10_000,
    max_work: int = 1_000_000,
    max_length: int = js.MAX_LENGTH,
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
        number = js.to_number(value)
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
