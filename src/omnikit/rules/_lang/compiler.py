"""
Turning conditions into Python functions: generated once, compiled once, run many times.

`compile_condition(node, operations)` returns a function `run(data, env)` giving the
condition's JavaScript value, exactly as `jsonlogic.apply()` gives it (coercions, errors and
limits included); `truthy()` of it decides a rule. `compile_many(nodes, operations)` returns
one function evaluating many conditions against the same data, which reads each data path
once. Operations outside JsonLogic are called as `operations[name](env, *arguments)`.

How it is done, as attrs generates `__init__`: the condition is written back as JsonLogic
(the form `apply()` runs), walked once, and turned into the source of a Python function made
only of fixed templates and generated names. Every value that comes from a rule (strings,
numbers, lists, objects, paths, operation names) is a constant in the function's namespace
(`_c0`, `_c1`, ...) and never part of the source text, so rule text is never run as code.

The generated code mirrors the interpreter step by step, with fast paths where types are
known: a comparison with a literal is a plain Python comparison when the other side has the
type the literal has, `and`/`or` are Python conditional expressions that keep JsonLogic's
deciding operand, and data paths are read up front with dictionary lookups. Anything
unusual takes the interpreter's own helpers, so the answer is the same.

Work (`max_work`, `max_length`, see `Limits`) is counted as the interpreter counts it: the
condition's static cost when it starts, then what iterating and the sizes of values cost,
charged by the interpreter's own helpers. Conditions compiled together share their reads
and their comparisons with literals, made up front: those are charged to one meter for the
function, which holds back what the costliest of those conditions pays up front, so a
condition that the interpreter would stop stops the function's shared part, and the
conditions are then run one by one. Conditions nested deeper than Python's parser likes,
and any that fail to compile, are run by the interpreter.

The pieces: `_codegen` writes the source, `_runtime` holds the helpers it calls, and this
module puts them together (`compile_condition`, `compile_many`, `Batch`), with the
interpreter as the fallback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar, overload

from omnikit.errors import RuleLimitError
from omnikit.rules._lang import interpreter, js
from omnikit.rules._lang.codegen import _Generator, _Needs, _Scope
from omnikit.rules._lang.limits import DEFAULT_LIMITS, Limits
from omnikit.rules._lang.nodes import Node, to_jsonlogic
from omnikit.rules._lang.runtime import _MAX_DEPTH, _MAX_SIZE, bind
from omnikit.rules._lang.walk import _measure, static_cost

__all__ = [
    "Batch",
    "Compiled",
    "CompiledMany",
    "bind",
    "compile_condition",
    "compile_many",
    "generated_source",
]

_T = TypeVar("_T")

Compiled = Callable[[Any, Any], Any]
"""A compiled condition: `run(data, env) -> value`."""


class CompiledMany(Protocol):
    """
    Compiled conditions: `run(data, env) -> (held, failed)`.

    *held* lists the indices of the conditions whose value is truthy, ascending; *failed*
    pairs the index of each condition that raised with its exception. Given a third
    argument, a sequence with an item per condition, *held* lists those items instead
    (`run(data, env, ids)` lists the ids of the conditions that hold).
    """

    @overload
    def __call__(self, data: Any, env: Any, /) -> tuple[list[int], list[tuple[int, Exception]]]: ...

    @overload
    def __call__(
        self, data: Any, env: Any, out: Sequence[_T], /
    ) -> tuple[list[_T], list[tuple[int, Exception]]]: ...


_MAX_COMPILED_DEPTH: Final = 24
"""Conditions nested deeper run in the interpreter: Python's parser limits nesting."""


# --- putting functions together ---------------------------------------------------------------


class _Plan:
    """
    A condition read for compiling: its JsonLogic, its depth, what its code needs.

    `fallback` when the interpreter runs it: past the limits `apply()` checks (it raises
    what `apply()` raises), or nested deeper than the compiler takes.
    """

    __slots__ = ("cost", "depth", "fallback", "logic", "needs")

    def __init__(self, node: Node, operations: Mapping[str, Any]) -> None:
        self.logic = to_jsonlogic(node)
        self.fallback = False
        self.depth = 0
        self.cost = 0
        try:
            self.depth = _measure(self.logic, max_depth=_MAX_DEPTH, max_size=_MAX_SIZE)
            self.cost = static_cost(self.logic)
        except RuleLimitError:
            self.fallback = True
        self.fallback |= self.depth > _MAX_COMPILED_DEPTH
        self.needs = _Needs(self.logic, operations)


def _interpreted(
    logic: Any, operations: Mapping[str, Callable[..., Any]], limits: Limits
) -> Compiled:
    """The condition run by the interpreter, for what the compiler leaves to it."""
    work, length = limits.max_work, limits.max_length
    if not operations:
        return lambda data, _env: interpreter.apply(logic, data, max_work=work, max_length=length)

    def run(data: Any, env: Any) -> Any:
        return interpreter.apply(
            logic, data, operations=bind(operations, env), max_work=work, max_length=length
        )

    return run


_SHARED_METER: Final = "(_sb or (_sb := _State(_L, _sbk)))"
"""The meter of a function's shared comparisons (`Batch.source`), made when first needed."""


def _condition(
    generator: _Generator, plan: _Plan, *, test: bool, shared: bool = False
) -> tuple[list[str], str]:
    """
    Statements to set a condition up and the expression that evaluates it.

    *shared*: the condition is pure (see `_Condition.safe`) and compiled with others: its
    comparisons are made up front and charged to the function's meter, `_sb`.
    """
    generator.begin(plan.logic)
    if plan.fallback:
        run = generator.name("_f", _interpreted(plan.logic, generator.operations, generator.limits))
        code = f"{run}(data, env)"
        return [], f"_truthy({code})" if test else code
    scope = _Scope(
        "data",
        top=True,
        meter=_SHARED_METER if shared else "_st",
        undefined=plan.needs.undefined,
        shared=shared,
    )
    if test and not plan.needs.undefined:
        code = generator.test(plan.logic, scope)
    else:
        code = generator.value(plan.logic, scope).code
        if plan.needs.undefined:
            code = f"_finish(_st, {code})"
        if test:
            code = f"_truthy({code})"
    generator.end(plan.depth)
    setup = [] if shared else [f"_st = _State(_L, {plan.cost})"]
    return setup, code


def _build(source: str, namespace: dict[str, Any], name: str) -> Any:
    # The source is made of this module's templates and generated names only: every value
    # from a rule is a constant in *namespace*, so no rule text is ever compiled or run.
    code = compile(source, f"<omnikit rules: {name}>", "exec")
    exec(code, namespace)  # noqa: S102 - generated from fixed templates, see above
    return namespace[name]


def _source_one(
    plan: _Plan, operations: Mapping[str, Callable[..., Any]], limits: Limits
) -> tuple[str, dict[str, Any]]:
    generator = _Generator(operations, hoist=False, limits=limits)
    setup, code = _condition(generator, plan, test=False)
    generator.namespace["_logic"] = plan.logic
    lines = [
        "def _one(data, env):",
        "    try:",
        *(f"        {line}" for line in generator.prologue(generator.used)),
        *(f"        {line}" for line in setup),
        f"        return {code}",
        "    except (RecursionError, MemoryError) as _exc:",
        "        raise _too_deep(_exc) from _exc",
        "    except _Unknown as _exc:",
        "        raise _failure(_logic, _exc) from None",
    ]
    return "\n".join([*generator.functions, *lines, ""]), generator.namespace


def compile_condition(
    node: Node,
    operations: Mapping[str, Callable[..., Any]],
    limits: Limits = DEFAULT_LIMITS,
) -> Compiled:
    """
    A function that evaluates *node* on `(data, env)` exactly as `jsonlogic.apply()` would.

    Args:
        node: The condition.
        operations: Operations beside JsonLogic's, `fn(env, *arguments)`, by name.
        limits: What one evaluation may do (`apply()`'s *max_work* and *max_length*).

    Returns:
        `run(data, env)`: the condition's value, or the exception `apply()` raises.

    Added in version 0.1.0.
    """
    plan = _Plan(node, operations)
    if plan.fallback:
        return _interpreted(plan.logic, operations, limits)
    try:
        source, namespace = _source_one(plan, operations, limits)
        run: Compiled = _build(source, namespace, "_one")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return _interpreted(plan.logic, operations, limits)
    return run


class _Condition:
    """A condition generated in a batch: how a function of the batch evaluates it."""

    __slots__ = ("code", "cost", "interpreted", "logic", "safe", "setup", "used")

    def __init__(self, generator: _Generator, plan: _Plan) -> None:
        self.safe = not plan.fallback and not plan.needs.undefined and generator.pure(plan.logic)
        """
        Its comparisons are made up front, metered by the function: what is left cannot
        raise. Its static cost is held back from that meter (`Batch.source`).
        """
        self.cost = plan.cost
        self.setup, self.code = _condition(generator, plan, test=True, shared=self.safe)
        self.used = generator.used
        # The condition itself (not a copy): errors find their path in it by identity.
        self.logic = (
            generator.constant(plan.logic).code if isinstance(plan.logic, (dict, list)) else "None"
        )
        self.interpreted = _interpreted(plan.logic, generator.operations, generator.limits)


class Batch:
    """
    Conditions compiled into functions that share one namespace.

    A rule set makes a batch, and a function of it for each group of rules it evaluates
    together: each condition is generated once, however many groups hold it, and each
    function reads and compares up front only what its conditions need.
    """

    def __init__(
        self, operations: Mapping[str, Callable[..., Any]], limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.operations = operations
        self.generator = _Generator(operations, hoist=True, limits=limits)
        self._conditions: dict[int, tuple[Node, _Condition]] = {}
        self._defined = 0  # how many of the generator's functions the namespace has
        self._count = 0

    def condition(self, node: Node, *, interpret: bool = False) -> _Condition:
        """*node* generated (once); *interpret*: run by the interpreter from now on."""
        found = self._conditions.get(id(node))
        if found is not None and not interpret:
            return found[1]
        plan = _Plan(node, self.operations)
        plan.fallback |= interpret
        condition = _Condition(self.generator, plan)
        self._conditions[id(node)] = (node, condition)  # the node stays, and so its id
        return condition

    def source(self, nodes: Sequence[Node], name: str) -> str:
        """
        The source of `name(data, env, _out)`, evaluating *nodes*.

        The shared part (reads, and the comparisons of safe conditions) is charged to `_sb`,
        made with the static cost of the costliest safe condition held back: if it stops,
        the function runs each condition on its own, as the interpreter would. `_sb` is
        made only when a comparison takes a slow path (the fast paths charge nothing), unless
        the held-back cost alone is past the limit: then it is made, and stops, at once.
        """
        conditions = [self.condition(node) for node in nodes]
        held_back = max((c.cost for c in conditions if c.safe), default=0)
        blocks: list[str] = []
        used: set[str] = set()
        for index, condition in enumerate(conditions):
            used |= condition.used
            if condition.safe:
                blocks.append(f"    if {condition.code}:\n        held.append(_out[{index}])\n")
                continue
            blocks.append(
                "    try:\n"
                + "".join(f"        {line}\n" for line in condition.setup)
                + f"        if {condition.code}:\n"
                + f"            held.append(_out[{index}])\n"
                + "    except Exception as _exc:\n"
                + f"        failed.append(({index}, _failure({condition.logic}, _exc)))\n"
            )
        namespace = self.generator.namespace
        namespace[f"{name}_out"] = tuple(range(len(conditions)))
        namespace[f"{name}_fallback"] = functools.partial(
            _one_by_one, [condition.interpreted for condition in conditions]
        )
        lines = [
            f"def {name}(data, env, _out={name}_out):",
            "    held = []",
            "    failed = []",
            "    try:",
            *(
                ["        _sb = None", f"        _sbk = {held_back}"]
                if held_back <= self.generator.limits.max_work
                else [f"        _sb = _State(_L, {held_back})"]
            ),
            *(f"        {line}" for line in self.generator.prologue(used)),
            "    except Exception:",
            f"        return {name}_fallback(data, env, _out)",
            *blocks,
            "    return held, failed",
        ]
        return "\n".join([*self.generator.functions[self._defined :], *lines, ""])

    def function(self, nodes: Sequence[Node]) -> CompiledMany:
        """One function evaluating *nodes*, as `compile_many()` describes."""
        name = f"_many{self._count}"
        self._count += 1
        try:
            run: CompiledMany = self._build(self.source(nodes, name), name)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            # A condition is too much for Python's compiler: find it, let the interpreter
            # run it.
            for node in nodes:
                try:
                    compile(self.source([node], "_check"), "<omnikit rules: check>", "exec")
                except (SyntaxError, RecursionError, MemoryError, ValueError):
                    self.condition(node, interpret=True)
            run = self._build(self.source(nodes, name), name)
        return run

    def _build(self, source: str, name: str) -> Any:
        run = _build(source, self.generator.namespace, name)
        self._defined = len(self.generator.functions)
        return run


def _one_by_one(
    runs: list[Compiled], data: Any, env: Any, out: Sequence[Any]
) -> tuple[list[Any], list[tuple[int, Exception]]]:
    held: list[Any] = []
    failed: list[tuple[int, Exception]] = []
    for index, run in enumerate(runs):
        try:
            if js.truthy(run(data, env)):
                held.append(out[index])
        except Exception as exc:  # noqa: BLE001 - one broken condition must not stop the others
            failed.append((index, exc))
    return held, failed


def compile_many(
    nodes: Sequence[Node],
    operations: Mapping[str, Callable[..., Any]],
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledMany:
    """
    One function that evaluates many conditions on the same `(data, env)`.

    It reads each data path once for all of them, and makes each comparison of data with
    a literal once. A condition that raises is reported with its exception, and the others
    still run.

    Args:
        nodes: The conditions, in the order their indices refer to.
        operations: Operations beside JsonLogic's, `fn(env, *arguments)`, by name.
        limits: What one evaluation of each condition may do.

    Returns:
        `run(data, env) -> (held, failed)`: the indices of the conditions whose value is
        truthy, ascending, and `(index, exception)` for each that raised what
        `compile_condition()` would raise. `run(data, env, items)` lists `items[index]`
        in *held* instead of each index.

    Added in version 0.1.0.
    """
    return Batch(operations, limits).function(nodes)


def generated_source(node: Node | Sequence[Node], operations: Mapping[str, Any]) -> str:
    """The Python source `compile_condition()` (or, for a list, `compile_many()`) would run."""
    if isinstance(node, Node):
        return _source_one(_Plan(node, operations), operations, DEFAULT_LIMITS)[0]
    return Batch(operations).source(node, "_many0")
