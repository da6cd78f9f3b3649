"""
Walking a rule without evaluating it: depth, size, static cost, the path to a node.

Its depth and size are checked against the limits, its static cost charged up front, and
the path to one of its nodes named in errors that say where.

The interpreter (`jsonlogic`), the compiler and the tracer share these walks, so that they
measure, charge and point at a rule alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, NoReturn

from omnikit.errors import RuleLimitError, RuleSyntaxError

__all__ = ["static_cost"]


class _UnknownOperationError(Exception):
    """Raised deep in evaluation; `apply()` turns it into a `RuleSyntaxError` with a path."""

    def __init__(self, operator: Any, node: dict[Any, Any]) -> None:
        self.operator = operator
        self.node = node
        super().__init__(operator)


_ITERATING: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})
"""The forms that evaluate their second value once per item: its cost is paid per item."""


def static_cost(logic: Any) -> int:
    """
    The work of evaluating *logic* once, apart from what depends on the data.

    A unit for each operation and for each item of each array evaluated, wherever they are,
    taken or not (branches of `if`, `and`, `or` included), except in the logic an iterating
    form applies to each item: that costs as much again for each item (`_body_cost`).
    Charged before evaluation starts, in the interpreter and in compiled conditions alike.
    """
    cost = 0
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if len(node) != 1:
                continue  # an object: a value, not evaluated
            ((operator, values),) = node.items()
            cost += 1
            if not isinstance(values, list):
                stack.append(values)
            elif operator in _ITERATING and len(values) > 1:
                stack.append(values[0])
                stack.extend(values[2:])
            else:
                stack.extend(values)
        elif isinstance(node, list):
            cost += len(node)
            stack.extend(node)
    return cost


def _labelled_children(node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, list):
        return enumerate(node)
    if len(node) == 1:
        ((operator, values),) = node.items()
        if isinstance(values, list):
            return (((operator, index), value) for index, value in enumerate(values))
    return iter(node.items())


def _nodes(rule: Any) -> Iterator[tuple[Any, int, list[Any]]]:
    """
    Every value in *rule*, depth first, with its depth and the labels that lead to it.

    The label list is reused between values: read it before asking for the next one.
    """
    labels: list[Any] = []
    if not isinstance(rule, (dict, list)):
        yield rule, 0, labels
        return
    yield rule, 1, labels
    stack = [_labelled_children(rule)]
    while stack:
        depth = len(stack)
        for label, child in stack[-1]:
            del labels[depth - 1 :]
            labels.append(label)
            if isinstance(child, (dict, list)):
                yield child, depth + 1, labels
                stack.append(_labelled_children(child))
                break
            yield child, depth, labels
        else:
            stack.pop()


def _render_path(labels: list[Any]) -> str:
    parts: list[str] = []
    for label in labels:
        if isinstance(label, int):
            parts.append(f"[{label}]")
            continue
        operator, index = label if isinstance(label, tuple) else (label, None)
        if parts:
            parts.append(".")
        parts.append(str(operator))
        if index is not None:
            parts.append(f"[{index}]")
    return "".join(parts)


def _path_to(rule: Any, target: Any) -> str | None:
    for node, _, labels in _nodes(rule):
        if node is target:
            return _render_path(labels)
    return None


def _measure(rule: Any, *, max_depth: int, max_size: int) -> int:
    """
    The depth of *rule*, after checking it against the limits.

    Raises:
        RuleLimitError: If *rule* nests deeper than *max_depth* or has over *max_size* values.
    """
    return _measure_sized(rule, max_depth=max_depth, max_size=max_size)[0]


def _measure_sized(rule: Any, *, max_depth: int, max_size: int) -> tuple[int, int]:
    """The depth of *rule* and how many values it holds, after checking it (see `_measure`)."""
    if not isinstance(rule, (dict, list)):
        return 0, 1
    if max_depth < 1:
        _too_deep(rule, max_depth)
    budget = [max_size - 1]
    try:
        depth = _measure_node(rule, 1, max_depth, budget)
    except _TooBigError:
        raise RuleLimitError(f"rule has more than {max_size} values (max_size)") from None
    except _TooDeepError:
        _too_deep(rule, max_depth)
    except RecursionError:  # only when max_depth is beyond what Python's stack can take
        _too_deep(rule, max_depth)
    return depth, max_size - budget[0]


class _TooDeepError(Exception):
    """A container sits deeper than max_depth: `_too_deep()` finds where."""


class _TooBigError(Exception):
    """The rule holds more values than max_size."""


def _measure_node(node: Any, depth: int, max_depth: int, budget: list[int]) -> int:
    """The depth below *node*, which is at *depth*; *budget* is how many values may follow."""
    if isinstance(node, list):
        children: Any = node
    else:
        children = node.values()
        if len(children) == 1:
            for values in children:
                if isinstance(values, list):  # an operation's arguments: part of it
                    children = values
    budget[0] -= len(children)
    if budget[0] < 0:
        raise _TooBigError
    deepest = depth
    for child in children:
        if isinstance(child, (dict, list)):
            if depth == max_depth:
                raise _TooDeepError
            below = _measure_node(child, depth + 1, max_depth, budget)
            deepest = max(deepest, below)
    return deepest


def _too_deep(rule: Any, max_depth: int) -> NoReturn:
    message = f"rule nests deeper than {max_depth} levels (max_depth)"
    for _, depth, labels in _nodes(rule):
        if depth > max_depth:
            message = f"{_render_path(labels) or 'the rule'}: {message}"
            break
    raise RuleLimitError(message)


def _unknown_operation(error: _UnknownOperationError, rule: Any) -> RuleSyntaxError:
    operator = error.operator
    if operator == "method":
        message = "'method' is not supported: it would let a rule call any method of any value"
    else:
        message = f"unknown operation {operator!r}"
    path = _path_to(rule, error.node)
    if path is None:
        return RuleSyntaxError(f"{message} (in logic read from the data)")
    return RuleSyntaxError(message, path=path)
