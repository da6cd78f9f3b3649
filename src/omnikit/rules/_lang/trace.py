"""
Explanations: which parts of a condition held or failed, and with what values.

The tracer evaluates the condition once, as the JsonLogic interpreter does (the same
operations, the same order, the same work counted against the same limits), and records the
value of each part as it is made. So an explanation costs what the decision cost, and a
condition that ran out of work in the decision runs out at the same place in its
explanation, which shows where. Parts that evaluation never reached (a branch not taken, an
`and` already decided) are shown as not evaluated; the logic an iterating operation (`map`,
`filter`, ...) applies to each item is not traced, only its array and result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from omnikit.errors import OmnikitError, RuleLimitError
from omnikit.rules._lang import js
from omnikit.rules._lang.evaluator import (
    _FORMS,
    _all_items,
    _filter_items,
    _map_items,
    _none_items,
    _reduce_items,
    _Run,
    _some_items,
    _visiting,
)
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.limits import DEFAULT_LIMITS, Limits
from omnikit.rules._lang.nodes import MAX_DEPTH as _MAX_DEPTH
from omnikit.rules._lang.nodes import MAX_SIZE as _MAX_SIZE
from omnikit.rules._lang.nodes import Node, to_jsonlogic
from omnikit.rules._lang.operations import _exported, _operation_table
from omnikit.rules._lang.walk import (
    _ITERATING,
    _measure,
    _unknown_operation,
    _UnknownOperationError,
    static_cost,
)

__all__ = ["Trace", "trace"]


_LIMIT: Final = 100


def _short(value: Any, limit: int = _LIMIT) -> str:
    """*value* as JSON, cut at *limit* characters: in time bounded by *limit*, whatever it is."""
    parts: list[str] = []
    size = 0
    stack: list[Any] = [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, _Text):
            text = item.text
        elif isinstance(item, list):
            stack.append(_Text("]"))
            for index in range(min(len(item), limit) - 1, -1, -1):
                stack.append(item[index])
                if index:
                    stack.append(_Text(", "))
            text = "["
        elif isinstance(item, dict):
            stack.append(_Text("}"))
            entries = list(item.items())[:limit]
            for index in range(len(entries) - 1, -1, -1):
                key, entry = entries[index]
                stack.append(entry)
                stack.append(_Text(_scalar(str(key), limit) + ": "))
                if index:
                    stack.append(_Text(", "))
            text = "{"
        else:
            text = _scalar(item, limit)
        parts.append(text)
        size += len(text)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Text:
    """Text `_short` writes as it is (punctuation, keys), not a value."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _scalar(value: Any, limit: int) -> str:
    if value is UNDEFINED or value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return js.to_string(value) if isinstance(value, int) else json.dumps(value)
    text = value if isinstance(value, str) else str(value)
    return json.dumps(text[:limit], ensure_ascii=False)


@attrs.define(frozen=True, kw_only=True)
class Trace:
    """
    One node of a condition with the value it had: `held` is its JavaScript truthiness.

    Attributes:
        logic: The node, as JsonLogic.
        value: Its value (`None` when it raised or was not evaluated).
        held: Whether the value is truthy.
        children: The traces of its operands that are not literals.
        error: What it raised, if it did.
        evaluated: Whether evaluation reached it.

    Added in version 0.1.0.
    """

    logic: Any = attrs.field(repr=_short)
    value: Any = attrs.field(repr=_short)
    held: bool
    children: tuple[Trace, ...] = ()
    error: str | None = None
    evaluated: bool = True

    def lines(self, indent: int = 0) -> list[str]:
        """
        The trace as indented text lines, a mark first.

        ✓ held, ✗ failed, ! raised, · not evaluated.
        """
        if not self.evaluated:
            mark, shown = "·", "not evaluated"
        else:
            mark = "!" if self.error else ("✓" if self.held else "✗")
            shown = self.error or _short(self.value)
        out = [f"{'  ' * indent}{mark} {_short(self.logic)}  →  {shown}"]
        for child in self.children:
            out.extend(child.lines(indent + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _unevaluated(logic: Any) -> Trace:
    """*logic* and the parts under it, not evaluated."""
    return Trace(
        logic=logic,
        value=None,
        held=False,
        children=tuple(_unevaluated(part) for part in _parts(logic)),
        evaluated=False,
    )


def _is_logic(logic: Any) -> bool:
    """Whether *logic* is evaluated (an operation or an array), not a literal."""
    return isinstance(logic, list) or (isinstance(logic, dict) and len(logic) == 1)


def _operands(logic: dict[Any, Any]) -> tuple[Any, list[Any]]:
    ((operator, values),) = logic.items()
    return operator, values if isinstance(values, list) else [values]


def _parts(logic: Any) -> list[Any]:
    """The operands of *logic* an explanation shows: those that are not literals."""
    if isinstance(logic, list):
        return [item for item in logic if _is_logic(item)]
    if not _is_logic(logic):
        return []
    operator, values = _operands(logic)
    if operator == "var":
        return []
    if operator in _ITERATING:  # the logic applied to each item is not traced
        values = values[:1] + values[2:3]
    return [value for value in values if _is_logic(value)]


class _Failed(Exception):  # noqa: N818 - not an error: how a failure carries its trace up
    """Evaluating a node raised: its trace so far, and the error to report."""

    def __init__(self, trace: Trace, error: OmnikitError) -> None:
        self.trace = trace
        self.error = error
        super().__init__(str(error))


class _Tracer:
    """One traced evaluation of a condition: the interpreter's run, recording as it goes."""

    def __init__(self, root: Any, run: _Run) -> None:
        self.root = root
        self.run = run
        self.exported: dict[int, Any] = {}
        self.kept: list[Any] = []  # values exported, kept alive: their ids key `exported`

    def node(self, logic: Any, data: Any) -> tuple[Trace, Any]:
        """The trace of *logic* (an operation or an array) and its value."""
        children: list[Trace] = []
        try:
            value = self.evaluate(logic, data, children)
        except _Failed as failed:
            children.append(failed.trace)
            error = failed.error
        except _UnknownOperationError as exc:
            error = _unknown_operation(exc, self.root)
        except (OmnikitError, RecursionError, MemoryError) as exc:
            error = _omnikit(exc)
        else:
            shown = value
            if self.run.undefined_seen:
                self.kept.append(value)
                shown = _exported(value, self.exported)
            trace = Trace(logic=logic, value=shown, held=js.truthy(value), children=tuple(children))
            return trace, value
        children.extend(_unevaluated(part) for part in _parts(logic)[len(children) :])
        failed_trace = Trace(
            logic=logic, value=None, held=False, children=tuple(children), error=f"error: {error}"
        )
        raise _Failed(failed_trace, error) from None

    def operand(self, logic: Any, data: Any, children: list[Trace] | None) -> Any:
        """The value of an operand, traced among *children* unless it is a literal."""
        if not _is_logic(logic):
            return logic
        trace, value = self.node(logic, data)
        if children is not None:
            children.append(trace)
        return value

    def evaluate(self, logic: Any, data: Any, children: list[Trace]) -> Any:
        if isinstance(logic, list):
            return [self.operand(item, data, children) for item in logic]
        operator, values = _operands(logic)
        if operator in _ITERATING:
            return self.iterate(operator, values, data, children)
        if operator in _FORMS:
            return self.junction(operator, values, data, children)
        shown = None if operator == "var" else children  # a path is shown in the logic
        arguments = [self.operand(value, data, shown) for value in values]
        operation = self.run.operations.get(operator)
        if operation is None:
            raise _UnknownOperationError(operator, logic)
        return operation(arguments, data, self.run)

    def junction(self, operator: str, values: list[Any], data: Any, children: list[Trace]) -> Any:
        """`if`, `?:`, `and`, `or`: their operands, as far as they are evaluated."""
        if operator in {"and", "or"}:
            if not values:
                self.run.undefined_seen = True
                return UNDEFINED
            current: Any = None
            for index, value in enumerate(values):
                current = self.operand(value, data, children)
                if js.truthy(current) is (operator == "or"):
                    self.skip(values[index + 1 :], children)
                    break
            return current
        index = 0
        count = len(values)
        while index < count - 1:
            if js.truthy(self.operand(values[index], data, children)):
                result = self.operand(values[index + 1], data, children)
                self.skip(values[index + 2 :], children)
                return result
            self.skip(values[index + 1 : index + 2], children)
            index += 2
        if index == count - 1:
            return self.operand(values[index], data, children)
        return None

    def skip(self, values: list[Any], children: list[Trace]) -> None:
        """Operands evaluation does not reach: shown as not evaluated."""
        children.extend(_unevaluated(value) for value in values if _is_logic(value))

    def iterate(self, operator: str, values: list[Any], data: Any, children: list[Trace]) -> Any:
        """An iterating form: its array and initial value traced, its logic run per item."""
        run = self.run
        items = self.operand(values[0], data, children) if values else UNDEFINED
        items = _visiting(items, run)
        logic = values[1] if len(values) > 1 else UNDEFINED
        if operator == "reduce":
            initial = self.operand(values[2], data, children) if len(values) > 2 else None
            return _reduce_items(items, logic, initial, run)
        each = {
            "map": _map_items,
            "filter": _filter_items,
            "all": _all_items,
            "none": _none_items,
            "some": _some_items,
        }[operator]
        return each(items, logic, run)


def _omnikit(exc: BaseException) -> OmnikitError:
    if isinstance(exc, OmnikitError):
        return exc
    if isinstance(exc, MemoryError):
        return RuleLimitError("rule evaluation ran out of memory")
    return RuleLimitError("rule evaluation nested too deeply for Python's stack")


def trace(
    node: Node,
    data: Any,
    operations: Mapping[str, Any],
    limits: Limits = DEFAULT_LIMITS,
) -> Trace:
    """
    Evaluate *node* on *data* once, recording the value of each part as it is made.

    The evaluation is `jsonlogic.apply()`'s, within *limits*: the same work is counted, so
    it stops where a decision with those limits stopped.

    Added in version 0.1.0.
    """
    logic = to_jsonlogic(node)
    try:
        depth = _measure(logic, max_depth=_MAX_DEPTH, max_size=_MAX_SIZE)
        run = _Run(
            _operation_table(operations),
            depth=depth,
            max_depth=_MAX_DEPTH,
            max_size=_MAX_SIZE,
            max_work=limits.max_work,
            max_length=limits.max_length,
        )
        js.spend(run, static_cost(logic))
    except RuleLimitError as exc:
        return Trace(
            logic=logic,
            value=None,
            held=False,
            children=tuple(_unevaluated(part) for part in _parts(logic)),
            error=f"error: {exc}",
        )
    if not _is_logic(logic):
        return Trace(logic=logic, value=logic, held=js.truthy(logic))
    try:
        return _Tracer(logic, run).node(logic, data)[0]
    except _Failed as failed:
        return failed.trace
