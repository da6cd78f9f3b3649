"""
Turning a condition into something fast to run.

`compile_condition(node, operations)` returns a function `run(data, env)` giving the
condition's JavaScript value; `truthy()` of it decides a rule. Operations outside JsonLogic are
called as `operations[name](env, *arguments)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from omnikit.rules import jsonlogic
from omnikit.rules._ast import Node, to_jsonlogic

__all__ = ["Compiled", "bind", "compile_condition"]

Compiled = Callable[[Any, Any], Any]
"""A compiled condition: `run(data, env) -> value`."""


def bind(operations: Mapping[str, Callable[..., Any]], env: Any) -> dict[str, Callable[..., Any]]:
    """The operations with *env* bound, as `jsonlogic.apply()` takes them."""
    return {name: functools.partial(fn, env) for name, fn in operations.items()}


def compile_condition(node: Node, operations: Mapping[str, Callable[..., Any]]) -> Compiled:
    """
    A function that evaluates *node* on `(data, env)` exactly as `jsonlogic.apply()` would.

    Added in version 0.1.0.
    """
    logic = to_jsonlogic(node)
    if not operations:
        return lambda data, _env: jsonlogic.apply(logic, data)

    def run(data: Any, env: Any) -> Any:
        return jsonlogic.apply(logic, data, operations=bind(operations, env))

    return run
