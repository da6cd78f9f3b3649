"""
The condition model: a small tree of attrs nodes that every way of writing a rule produces.

A condition is JsonLogic with types: `Literal` values, `Array`s evaluated item by item, and
`Op` nodes (an operation name and its argument nodes; `var` is an `Op` too). Its meaning is
JsonLogic's, JavaScript coercions included, so a rule authored in a browser query builder,
in YAML or with the Python builder means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, Final

import attrs

from omnikit.errors import RuleLimitError, RuleSyntaxError

__all__ = [
    "JSONLOGIC_OPERATIONS",
    "Array",
    "Literal",
    "Node",
    "Op",
    "from_jsonlogic",
    "to_jsonlogic",
    "walk",
]

JSONLOGIC_OPERATIONS: Final = frozenset(
    {
        "var", "missing", "missing_some", "if", "?:", "==", "===", "!=", "!==", "!", "!!",
        "or", "and", ">", ">=", "<", "<=", "max", "min", "+", "-", "*", "/", "%", "map",
        "reduce", "filter", "all", "none", "some", "merge", "in", "cat", "substr", "log",
    }
)  # fmt: skip
"""The operations of JsonLogic itself (json-logic-js 2.x, without `method`)."""

MAX_DEPTH: Final = 64
MAX_SIZE: Final = 10_000


@attrs.define(frozen=True, slots=True)
class Node:
    """
    A node of a condition.

    Added in version 0.1.0.
    """


@attrs.define(frozen=True, slots=True)
class Literal(Node):
    """
    A value written in the rule.

    A number, string, boolean, null, or a JSON object that is not an operation (an object
    with other than one key).

    Added in version 0.1.0.
    """

    value: Any


@attrs.define(frozen=True, slots=True)
class Array(Node):
    """
    An array in the rule; JsonLogic evaluates each item, so items may be logic.

    Added in version 0.1.0.
    """

    items: tuple[Node, ...] = ()


@attrs.define(frozen=True, slots=True)
class Op(Node):
    """
    An operation: its name (`"=="`, `"var"`, `"days_since"`) and its argument nodes.

    Added in version 0.1.0.
    """

    op: str
    args: tuple[Node, ...] = ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree under *node*, *node* first (depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Op):
            stack.extend(reversed(current.args))
        elif isinstance(current, Array):
            stack.extend(reversed(current.items))


def _label(path: str, label: str | int) -> str:
    if isinstance(label, int):
        return f"{path}[{label}]"
    return f"{path}.{label}" if path else label


def from_jsonlogic(
    logic: Any,
    *,
    operations: Collection[str] | None = JSONLOGIC_OPERATIONS,
    max_depth: int = MAX_DEPTH,
    max_size: int = MAX_SIZE,
    rule_id: str | None = None,
) -> Node:
    """
    Read a JsonLogic rule into the condition model.

    Unlike `jsonlogic.apply()`, which finds an unknown operation only if it evaluates it,
    this checks the whole rule up front.

    Args:
        logic: The rule, as JSON-shaped Python values.
        operations: The operation names allowed (JsonLogic's, plus registered ones); `None`
            accepts any name, for checking later against a rule set's operations.
        max_depth: How deeply operations and arrays may nest.
        max_size: How many nodes the rule may have.
        rule_id: Named in errors.

    Raises:
        RuleSyntaxError: An unknown operation or a value that is not JSON; *path* says where
            (`"and[1].=="`).
        RuleLimitError: The rule is nested deeper than *max_depth* or has more nodes than
            *max_size*.

    Added in version 0.1.0.
    """
    size = 0
    results: list[Node] = []
    # Iterative, so that a hostile rule can't exhaust Python's stack: "visit" frames read a
    # value; "op"/"array" frames gather the results of their children, which come just before.
    work: list[tuple[str, Any, str, int]] = [("visit", logic, "", 1)]
    while work:
        frame, value, path, depth = work.pop()
        if frame == "op":
            args = tuple(results[len(results) - depth :]) if depth else ()
            del results[len(results) - depth :]
            results.append(Op(value, args))
            continue
        if frame == "array":
            items = tuple(results[len(results) - depth :]) if depth else ()
            del results[len(results) - depth :]
            results.append(Array(items))
            continue
        size += 1
        if size > max_size:
            raise RuleLimitError(f"rule has more than {max_size} nodes", rule_id=rule_id)
        if depth > max_depth:
            where = path or "rule"
            raise RuleLimitError(f"{where}: nested deeper than {max_depth}", rule_id=rule_id)
        if isinstance(value, dict) and len(value) == 1:
            ((name, raw),) = value.items()
            here = _label(path, name)
            if operations is not None and name not in operations:
                known = ", ".join(sorted(operations))
                raise RuleSyntaxError(
                    f"unknown operation {name!r} (known: {known})", path=here, rule_id=rule_id
                )
            if isinstance(raw, list):
                work.append(("op", name, path, len(raw)))
                work.extend(
                    ("visit", raw[i], _label(here, i), depth + 1) for i in reversed(range(len(raw)))
                )
            else:
                work.append(("op", name, path, 1))
                work.append(("visit", raw, here, depth + 1))
        elif isinstance(value, list):
            work.append(("array", None, path, len(value)))
            work.extend(
                ("visit", value[i], _label(path, i), depth + 1) for i in reversed(range(len(value)))
            )
        else:
            size += _check_json(value, path, rule_id, max_size - size)
            if size > max_size:
                raise RuleLimitError(f"rule has more than {max_size} nodes", rule_id=rule_id)
            results.append(Literal(value))
    return results[0]


def _check_json(value: Any, path: str, rule_id: str | None, room: int) -> int:
    """
    Check that *value* is JSON; return how many values it holds beside itself.

    Counting stops past *room*, so that a value which holds itself ends the walk.
    """
    stack = [value]
    count = -1
    while stack:
        item = stack.pop()
        count += 1
        if count > room:
            break
        if item is None or isinstance(item, str | bool | int | float):
            continue
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise RuleSyntaxError(
                    "object keys must be strings", path=path or "rule", rule_id=rule_id
                )
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise RuleSyntaxError(
                f"{type(item).__name__} is not a JSON value", path=path or "rule", rule_id=rule_id
            )
    return count


def to_jsonlogic(node: Node) -> Any:
    """
    Write a condition as JsonLogic.

    The canonical form: a single argument is not wrapped in a list.

    Added in version 0.1.0.
    """
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Array):
        return [to_jsonlogic(item) for item in node.items]
    if isinstance(node, Op):
        args = [to_jsonlogic(arg) for arg in node.args]
        if len(args) == 1 and not isinstance(args[0], list):
            return {node.op: args[0]}
        return {node.op: args}
    msg = f"not a condition node: {node!r}"
    raise TypeError(msg)
