"""
Explanations: which parts of a condition held or failed, and with what values.

The tracer evaluates every node of the condition on its own with the JsonLogic interpreter
(slow, thorough, and only run when someone asks for an explanation), so the values shown are
exactly what the compiled rule saw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from omnikit.errors import OmnikitError
from omnikit.rules import _js, jsonlogic
from omnikit.rules._ast import Array, Literal, Node, Op, to_jsonlogic

__all__ = ["Trace", "trace"]


@attrs.define(frozen=True, kw_only=True)
class Trace:
    """
    One node of a condition with the value it had: `held` is its JavaScript truthiness.

    Added in version 0.1.0.
    """

    logic: Any
    value: Any
    held: bool
    children: tuple[Trace, ...] = ()
    error: str | None = None

    def lines(self, indent: int = 0) -> list[str]:
        """The trace as indented text lines, a mark for held (✓) or failed (✗) first."""
        mark = "!" if self.error else ("✓" if self.held else "✗")
        shown = self.error or _short(self.value)
        out = [f"{'  ' * indent}{mark} {_short(self.logic)}  →  {shown}"]
        for child in self.children:
            out.extend(child.lines(indent + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _short(value: Any, limit: int = 100) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trace(node: Node, data: Any, operations: Mapping[str, Any]) -> Trace:
    """Evaluate *node* and each sub-condition on *data*, recording every value."""
    logic = to_jsonlogic(node)
    try:
        value = jsonlogic.apply(logic, data, operations=operations)
        error = None
    except OmnikitError as exc:
        value, error = None, f"error: {exc}"
    children: tuple[Trace, ...] = ()
    if isinstance(node, Op) and node.op != "var":
        children = tuple(
            trace(arg, data, operations) for arg in node.args if not isinstance(arg, Literal)
        )
    elif isinstance(node, Array):
        children = tuple(
            trace(item, data, operations) for item in node.items if not isinstance(item, Literal)
        )
    return Trace(
        logic=logic,
        value=value,
        held=error is None and _js.truthy(value),
        children=children,
        error=error,
    )
