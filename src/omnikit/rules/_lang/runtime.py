"""
What compiled conditions call at run time: the helpers of generated code, by fixed name.

The source `_codegen` writes is made of templates and generated names; every call it makes
goes to a helper here, under the name `_RUNTIME` gives it (`_truthy`, `_spend_on`, `_map`, ...).
They are the interpreter's own steps (`jsonlogic`, `_js`), cut to what generated code needs:
counting work against `max_work` as the interpreter counts it (a condition's static cost up
front, then what iterating and sizes cost, charged by the same helpers), making and exporting
JavaScript's `undefined`, wrapping custom operations as `apply()` wraps them, running the
logic found in the data through the interpreter, and raising what `apply()` raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NoReturn

from omnikit.errors import RuleLimitError
from omnikit.rules._lang import interpreter, js
from omnikit.rules._lang.evaluator import _Run, _too_many
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.limits import Limits
from omnikit.rules._lang.meter import call_custom
from omnikit.rules._lang.operations import _OPERATIONS, _exported, _in_list, _operation_table
from omnikit.rules._lang.walk import _unknown_operation, _UnknownOperationError

_DEFAULTS: Final = interpreter.apply.__kwdefaults__ or {}
_MAX_DEPTH: Final[int] = _DEFAULTS.get("max_depth", 64)
_MAX_SIZE: Final[int] = _DEFAULTS.get("max_size", 10_000)


def bind(operations: Mapping[str, Callable[..., Any]], env: Any) -> dict[str, Callable[..., Any]]:
    """The operations with *env* bound, as `jsonlogic.apply()` takes them."""
    return {name: functools.partial(fn, env) for name, fn in operations.items()}


# --- what generated code calls ------------------------------------------------------------


class _State:
    """
    What one evaluation of a condition carries: the work left, and `undefined`.

    The work left (the *meter* `_js` helpers charge, with the longest value it may build),
    and whether JavaScript's `undefined` has been made (then the result and custom
    operations' arguments are exported, as apply() does). It has the attributes of the
    interpreter's run that plain operations use. Made with the condition's static cost
    paid, as `apply()` pays it.
    """

    __slots__ = ("max_length", "undefined_seen", "work")

    def __init__(self, limits: Limits, cost: int = 0) -> None:
        self.work = limits.max_work - cost
        self.max_length = limits.max_length
        self.undefined_seen = False
        if self.work < 0:
            _out_of_work()


def _out_of_work() -> NoReturn:
    raise RuleLimitError(js.WORK_EXCEEDED)


def _spend(state: _State, units: int) -> None:
    state.work -= units
    if state.work < 0:
        _out_of_work()


def _spend_on(state: _State, items: Any) -> Any:
    """*items*, after paying for walking them when they are an array (as `_scope` does)."""
    if isinstance(items, list):
        state.work -= len(items)
        if state.work < 0:
            _out_of_work()
    return items


def _undefined(state: _State) -> Any:
    state.undefined_seen = True
    return UNDEFINED


def _finish(state: _State, value: Any) -> Any:
    return _exported(value, {}) if state.undefined_seen else value


def _property_or_none(value: Any, key: str) -> Any:
    found = js.property_of(value, key)
    return None if found is UNDEFINED else found


def _property_or(value: Any, key: str, default: Any) -> Any:
    found = js.property_of(value, key)
    return default if found is UNDEFINED else found


def _walk(value: Any, keys: tuple[str, ...], default: Any) -> Any:
    for key in keys:
        value = value.get(key, UNDEFINED) if type(value) is dict else js.property_of(value, key)
        if value is UNDEFINED:
            return default
    return value


def _or_default(value: Any, default: Any) -> Any:
    """A path's value (`UNDEFINED` when absent) or *default*, as `var` has it."""
    if value is UNDEFINED:
        return None if default is UNDEFINED else default
    return value


_VAR: Final[Callable[..., Any]] = _OPERATIONS["var"]


def _var(meter: Any, data: Any, *arguments: Any) -> Any:
    return _VAR(list(arguments), data, meter)


def _each(items: list[Any], body: Any, env: Any, state: _State, cost: int) -> Iterator[Any]:
    """*body* on each item, each paid for before it runs (as the interpreter's `_each`)."""
    for item in items:
        if cost:
            state.work -= cost
            if state.work < 0:
                _out_of_work()
        yield body(item, env, state)


def _map(items: Any, body: Any, env: Any, state: _State, cost: int) -> Any:
    if not isinstance(items, list):
        return []
    if len(items) > state.max_length:
        _too_many(state.max_length)
    if not cost:
        return [body(item, env, state) for item in items]
    return list(_each(items, body, env, state, cost))


def _map_without_logic(items: Any, state: _State) -> Any:
    if not isinstance(items, list):
        return []
    if len(items) > state.max_length:
        _too_many(state.max_length)
    state.undefined_seen = True
    return [UNDEFINED] * len(items)


def _filter(items: Any, body: Any, env: Any, state: _State, cost: int) -> Any:
    if not isinstance(items, list):
        return []
    values = _each(items, body, env, state, cost)
    kept = [item for item, value in zip(items, values, strict=True) if value]
    if len(kept) > state.max_length:
        _too_many(state.max_length)
    return kept


def _reduce(  # noqa: PLR0917 - generated code calls it so
    items: Any, accumulator: Any, body: Any, env: Any, state: _State, cost: int
) -> Any:
    if not isinstance(items, list):
        return accumulator
    for item in items:
        if cost:
            state.work -= cost
            if state.work < 0:
                _out_of_work()
        accumulator = body({"current": item, "accumulator": accumulator}, env, state)
    return accumulator


def _reduce_without_logic(items: Any, accumulator: Any, state: _State) -> Any:
    if not isinstance(items, list):
        return accumulator
    state.undefined_seen = True
    return UNDEFINED if items else accumulator


def _all(items: Any, body: Any, env: Any, state: _State, cost: int) -> bool:
    if not isinstance(items, list) or not items:
        return False
    return all(_each(items, body, env, state, cost))


def _none(items: Any, body: Any, env: Any, state: _State, cost: int) -> bool:
    if not isinstance(items, list) or not items:
        return True
    return not any(_each(items, body, env, state, cost))


def _some(items: Any, body: Any, env: Any, state: _State, cost: int) -> bool:
    if not isinstance(items, list) or not items:
        return False
    return any(_each(items, body, env, state, cost))


def _custom(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """
    A custom operation as apply() wraps it: foreign exceptions become `RuleError`.

    It is called with the evaluation's meter first, made current for the operation.
    """

    def call(meter: Any, env: Any, *arguments: Any) -> Any:
        return call_custom(name, fn, meter, (env, *arguments))

    return call


def _custom_exporting(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A custom operation in a condition that can make `undefined`: it gets `null` instead."""

    def call(state: _State, env: Any, *arguments: Any) -> Any:
        if state.undefined_seen:
            seen: dict[int, Any] = {}
            arguments = tuple(_exported(argument, seen, state) for argument in arguments)
        return call_custom(name, fn, state, (env, *arguments))

    return call


class _Delegate:
    """
    `missing` and `missing_some` of one condition, which may run logic found in the data.

    Keys that are plain values are looked up here; logic found in the data is run by the
    interpreter, with this evaluation's work and `undefined` carried over.
    """

    __slots__ = ("depth", "operations", "var_replaced")

    def __init__(self, operations: Mapping[str, Callable[..., Any]], depth: int) -> None:
        self.operations = operations
        self.depth = depth
        self.var_replaced = "var" in operations

    def run(self, name: str, arguments: list[Any], data: Any, env: Any, state: _State) -> Any:
        table = _operation_table(bind(self.operations, env)) if self.operations else _OPERATIONS
        run = _Run(
            table,
            depth=self.depth,
            max_depth=_MAX_DEPTH,
            max_size=_MAX_SIZE,
            max_work=state.work,
            max_length=state.max_length,
        )
        run.undefined_seen = state.undefined_seen
        try:
            return _OPERATIONS[name](arguments, data, run)
        finally:
            state.work = run.work
            state.undefined_seen = run.undefined_seen

    def missing(self, state: _State, env: Any, data: Any, *arguments: Any) -> Any:
        keys = arguments[0] if arguments and isinstance(arguments[0], list) else arguments
        if self.var_replaced or any(isinstance(key, (dict, list)) for key in keys):
            return self.run("missing", list(arguments), data, env, state)
        _spend(state, len(keys))
        if len(keys) > state.max_length:
            _too_many(state.max_length)
        missing = []
        for key in keys:
            value = _VAR([key], data, state)
            if value is None or (isinstance(value, str) and not value):
                missing.append(key)
        return missing

    def missing_some(self, state: _State, env: Any, data: Any, *arguments: Any) -> Any:
        return self.run("missing_some", list(arguments), data, env, state)


class _Raiser:
    """An unknown operation: evaluating its arguments, then raising as apply() would."""

    __slots__ = ("logic", "node", "operator")

    def __init__(self, operator: str, node: Any, logic: Any) -> None:
        self.operator = operator
        self.node = node
        self.logic = logic

    def __call__(self, *_arguments: Any) -> NoReturn:
        raise _unknown_operation(_UnknownOperationError(self.operator, self.node), self.logic)


def _too_deep(exc: RecursionError | MemoryError) -> RuleLimitError:
    if isinstance(exc, MemoryError):
        error = RuleLimitError("rule evaluation ran out of memory")
    else:
        error = RuleLimitError("rule evaluation nested too deeply for Python's stack")
    error.__cause__ = exc
    return error


def _failure(logic: Any, exc: Exception) -> Exception:
    """The exception apply() would raise where evaluation raised *exc*."""
    if isinstance(exc, _UnknownOperationError):
        error: Exception = _unknown_operation(exc, logic)
        error.__suppress_context__ = True
        return error
    if isinstance(exc, (RecursionError, MemoryError)):
        return _too_deep(exc)
    return exc


_RUNTIME: Final[dict[str, Any]] = {
    "_U": UNDEFINED,
    "_truthy": js.truthy,
    "_leq": js.loose_equals,
    "_seq": js.strict_equals,
    "_lt": js.less_than,
    "_le": js.less_than_or_equal,
    "_gt": js.greater_than,
    "_ge": js.greater_than_or_equal,
    "_prop": js.property_of,
    "_propn": _property_or_none,
    "_propd": _property_or,
    "_walk": _walk,
    "_ordef": _or_default,
    "_var": _var,
    "_in_list": _in_list,
    "_spend_on": _spend_on,
    "_undefined": _undefined,
    "_finish": _finish,
    "_State": _State,
    "_map": _map,
    "_map_u": _map_without_logic,
    "_filter": _filter,
    "_reduce": _reduce,
    "_reduce_u": _reduce_without_logic,
    "_all": _all,
    "_none": _none,
    "_some": _some,
    "_too_deep": _too_deep,
    "_failure": _failure,
    "_Unknown": _UnknownOperationError,
}
"""Helpers under fixed names; generated names (`_c0`, `_x0`, ...) never clash with them."""
