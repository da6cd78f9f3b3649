"""
Writing compiled conditions: the Python source for a condition, and the namespace it runs in.

`_Generator` walks a condition written back as JsonLogic (the form `apply()` runs) once and
turns it into expressions made only of fixed templates and generated names. Every value that
comes from a rule is a constant of the namespace (`_c0`, `_c1`, ...) and never part of the
source text; every helper the code calls is one of `_runtime`'s, under its fixed name.
`_Needs` reads beforehand what a condition's code must carry (work counting, `undefined`).

Where types are known the code takes fast paths (a comparison with a literal is a plain
Python comparison when the other side has the literal's type; data paths are read up front
with dictionary lookups); anything unusual takes the interpreter's own helpers, so the
answer is the same. For many conditions at once (`hoist`), pure comparisons are made once,
up front, and shared. `_compile` puts the pieces together into functions.

Work is counted as the interpreter counts it: a condition's static cost is paid when its
`_State` is made, and every helper whose time grows with a value's size is handed the
meter (`_st`, or `_sb` for comparisons made up front) and charges it. The fast paths do
only what costs nothing (comparing with a literal, reading a key or a near index), and a
data path whose reading can cost work (a string's `length`, a far index, a long path) is
read by the interpreter's `var`, metered, where the condition reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from omnikit.errors import OmnikitError
from omnikit.rules._lang import js
from omnikit.rules._lang.evaluator import _FORMS
from omnikit.rules._lang.js import UNDEFINED
from omnikit.rules._lang.limits import Limits
from omnikit.rules._lang.operations import _OPERATIONS
from omnikit.rules._lang.runtime import (
    _RUNTIME,
    _custom,
    _custom_exporting,
    _Delegate,
    _Raiser,
)
from omnikit.rules._lang.walk import static_cost

_EXACT: Final = float(js.MAX_EXACT_INTEGER)

_ITERATING: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})
_COMPARISONS: Final = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
_EQUALITIES: Final = frozenset({"==", "!=", "===", "!=="})
_SHAREABLE: Final = _EQUALITIES | frozenset(_COMPARISONS) | {"in"}
"""Operations whose value is a `bool` made of their arguments' values only."""

# --- reading a condition -----------------------------------------------------------------


def _operation(logic: Any) -> tuple[str, list[Any]] | None:
    """The operator and argument list of *logic*, if it is an operation."""
    if isinstance(logic, dict) and len(logic) == 1:
        ((operator, values),) = logic.items()
        return operator, values if isinstance(values, list) else [values]
    return None


def inline_path(path: Any) -> list[str] | None:
    """
    The keys of a `var` path that generated code reads itself, or `None`.

    Its reading must cost no work, as in the interpreter: a short path of few keys (free to
    split and walk) none of which can cost anything to read (see `js.costs_to_read`).
    """
    text = js.to_string(path)
    if len(text) > js.FREE_SIZE:
        return None
    keys = text.split(".")
    if js.path_cost(text, len(keys)) or any(js.costs_to_read(key) for key in keys):
        return None
    return keys


class _Needs:
    """What a condition needs from its generated code besides plain expressions."""

    __slots__ = ("undefined",)

    def __init__(self, logic: Any, operations: Mapping[str, Any]) -> None:
        self.undefined = False
        stack = [logic]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
                continue
            found = _operation(node)
            if found is None:
                continue
            operator, values = found
            stack.extend(values)
            if operator in _FORMS:
                if operator in _ITERATING:
                    if operator in {"map", "reduce"} and len(values) < 2:
                        self.undefined = True
                elif operator in {"and", "or"} and not values:
                    self.undefined = True
            elif operator in operations or operator not in _OPERATIONS:
                continue
            elif operator in {"missing", "missing_some", "log"}:
                self.undefined = True  # `missing` runs logic found in the data


# --- generating code ---------------------------------------------------------------------

_ANY: Final = 0
_BOOL: Final = 1
"""The expression is always a Python `bool`."""
_CONST: Final = 2
"""The expression is a constant's name; its value is known."""


class _Expr:
    """Python source for one JsonLogic value, and what is known about it."""

    __slots__ = ("code", "kind", "simple", "split", "value")

    def __init__(
        self,
        code: str,
        kind: int = _ANY,
        *,
        simple: bool = False,
        value: Any = None,
        split: tuple[str, str, str] | None = None,
    ) -> None:
        self.code = code
        self.kind = kind
        self.simple = simple
        """The code is a name: reading it twice costs nothing and changes nothing."""
        self.value = value
        self.split = split
        """`(flag, fast, slow)` when the code is `fast if flag else slow` on a path's type."""


class _Scope:
    """Where code is generated: the data's name, the meter's, and what the condition needs."""

    __slots__ = ("data", "meter", "shared", "top", "undefined")

    def __init__(
        self, data: str, *, top: bool, meter: str, undefined: bool, shared: bool = False
    ) -> None:
        self.data = data
        self.top = top
        """*data* is the condition's data, whose paths are read up front."""
        self.meter = meter
        """What helpers charge: `_st`, the condition's state, or `_sb`, the batch's."""
        self.undefined = undefined
        """The condition carries `_st` and tracks `undefined` in it."""
        self.shared = shared
        """Its comparisons are made up front, shared with other conditions (`atom()`)."""


class _Path:
    """
    A data path read up front: a node of the tree of keys the conditions read.

    Its value is in `_rN`, `None` when absent; a reader that needs to tell absent from
    `null` reads `_uN`, `_U` when absent. (Further keys read the same from either.)
    """

    __slots__ = ("children", "index", "key", "parent")

    def __init__(self, parent: _Path | None, key: str, index: int) -> None:
        self.parent = parent
        self.key = key
        self.index = index
        self.children: dict[str, _Path] = {}


class _Generator:
    """
    Python source for conditions, with the namespace it runs in.

    Temporaries: generated code stores a value in `_t` and reads it back before anything
    else is evaluated (`f(_t) if g(_t := value) else h(_t)`), so one name serves all.
    """

    def __init__(
        self, operations: Mapping[str, Callable[..., Any]], *, hoist: bool, limits: Limits
    ) -> None:
        self.operations = operations
        self.hoist = hoist
        """Make pure comparisons once, up front (see `atom()`): for many conditions."""
        self.limits = limits
        self.namespace: dict[str, Any] = {**_RUNTIME, "_L": limits}
        self.functions: list[str] = []
        self.root = _Path(None, "", 0)
        self._paths: dict[tuple[str, ...], _Path] = {}
        self._reads: dict[str, _Path] = {}
        self._flags: dict[str, str] = {}  # flag -> the read it tests
        self._constants: dict[tuple[type, Any], str] = {}
        self._customs: dict[tuple[str, bool], str] = {}
        self._plain: dict[str, str] = {}
        self._count = 0
        # Pure comparisons made up front: by their JSON, their local, what they use.
        self._atoms: dict[str, str] = {}
        self._atom_code: dict[str, tuple[str, tuple[str, str, str] | None]] = {}
        self._atom_uses: dict[str, set[str]] = {}
        # Per condition: the JsonLogic object (for error paths), its helpers, the reads,
        # flags and comparisons its code uses.
        self.logic: Any = None
        self.delegate: str | None = None
        self.used: set[str] = set()

    def begin(self, logic: Any) -> None:
        """Start generating a condition."""
        self.logic = logic
        self.delegate = None
        self.used = set()

    def end(self, depth: int) -> None:
        """Finish a condition *depth* deep: make the helpers it asked for."""
        if self.delegate is not None:
            self.namespace[self.delegate] = _Delegate(self.operations, depth)

    # -- comparisons made once ------------------------------------------------------------

    def pure(self, logic: Any) -> bool:
        """Whether *logic* reads data and compares only: no effects, nothing but a value."""
        if isinstance(logic, list):
            return all(_scalar(item) for item in logic)
        found = _operation(logic)
        if found is None:
            return _scalar(logic)
        operator, values = found
        if operator in self.operations:
            return False
        if operator == "var":
            return (
                len(values) <= 2
                and all(_scalar(value) for value in values)
                and (not values or values[0] in {None, ""} or inline_path(values[0]) is not None)
            )
        if operator in _SHAREABLE or operator in {"!", "!!", "and", "or", "if", "?:"}:
            return all(self.pure(value) for value in values)
        return False

    def atom(self, logic: Any, make: Callable[[], _Expr]) -> _Expr:
        """
        A pure comparison made once, up front, as a local `_aN` (when hoisting).

        Pure: `var` reads and literals compared with `==`, `<`, `in`, ... (no custom
        operation, nothing counted). Conditions of a rule set share many of them, and they
        are cheap; making one that a condition would have skipped changes nothing but time.
        If one raises, the call falls back to evaluating each condition on its own, which
        raises where it should.
        """
        key = _key(logic)
        name = self._atoms.get(key)
        if name is None:
            outer = self.used
            self.used = set()
            expr = make()
            name = self._atoms[key] = f"_a{len(self._atoms)}"
            self._atom_code[name] = (expr.code, expr.split)
            self._atom_uses[name] = self.used
            self.used = outer
        self.used.add(name)
        return _Expr(name, _BOOL, simple=True)

    def prologue(self, used: set[str]) -> list[str]:
        """
        Statements that make what *used* names: paths read, their types, comparisons.

        `_rN` is a path's value, `None` if absent (`_uN`: `_U` if absent). The keys of one
        object are read together, after one look at its type. Comparisons that test the
        type of the same path are made together, after one look at its flag.
        """
        needed = set(used)
        stack = [name for name in used if name in self._atom_uses]
        while stack:
            for name in self._atom_uses[stack.pop()]:
                if name not in needed:
                    needed.add(name)
                    if name in self._atom_uses:
                        stack.append(name)
        needed.update([self._flags[name] for name in needed if name in self._flags])
        lines = self.reads(needed)
        lines.extend(
            f"{flag} = (_t := type({read})) is int or _t is float"
            if flag.endswith("_n")
            else f"{flag} = type({read}) is {'str' if flag.endswith('_s') else 'bool'}"
            for flag, read in self._flags.items()
            if flag in needed
        )
        grouped: dict[str, list[tuple[str, str, str]]] = {}
        rest: list[str] = []
        for name, (code, split) in self._atom_code.items():  # dependencies come first
            if name not in needed:
                continue
            if split is None:
                rest.append(f"{name} = {code}")
            else:
                flag, fast, slow = split
                grouped.setdefault(flag, []).append((name, fast, slow))
        for flag, atoms in grouped.items():
            lines.append(f"if {flag}:")
            lines.extend(f"    {name} = {fast}" for name, fast, _ in atoms)
            lines.append("else:")
            lines.extend(f"    {name} = {slow}" for name, _, slow in atoms)
        return lines + rest

    # -- names ---------------------------------------------------------------------------------

    def name(self, prefix: str, value: Any) -> str:
        """A fresh generated name for *value* in the namespace."""
        name = f"{prefix}{self._count}"
        self._count += 1
        self.namespace[name] = value
        return name

    def constant(self, value: Any) -> _Expr:
        """A value of the rule, as a constant of the namespace."""
        if type(value) in {str, int, float, bool} or value is None:
            key: tuple[type, Any] = (type(value), repr(value))
            name = self._constants.get(key)
            if name is None:
                name = self._constants[key] = self.name("_c", value)
        else:  # objects keep their identity, as apply() returns the rule's own
            name = self.name("_c", value)
        return _Expr(name, _CONST, simple=True, value=value)

    def plain(self, operator: str) -> str:
        """The interpreter's own function for a plain operation."""
        name = self._plain.get(operator)
        if name is None:
            name = self._plain[operator] = self.name("_p", _OPERATIONS[operator])
        return name

    def custom(self, operator: str, *, exporting: bool) -> str:
        key = (operator, exporting)
        name = self._customs.get(key)
        if name is None:
            fn = self.operations[operator]
            wrapper = _custom_exporting(operator, fn) if exporting else _custom(operator, fn)
            name = self._customs[key] = self.name("_x", wrapper)
        return name

    def path(self, keys: Sequence[str], *, raw: bool) -> str:
        """The local that holds the value at *keys*, read up front from the top data."""
        node = self.root
        for index in range(len(keys)):
            here = tuple(keys[: index + 1])
            child = self._paths.get(here)
            if child is None:
                child = self._paths[here] = _Path(node, keys[index], len(self._paths))
                node.children[keys[index]] = child
            node = child
        name = f"_u{node.index}" if raw else f"_r{node.index}"
        self._reads[name] = node
        self.used.add(name)
        return name

    def reads(self, needed: set[str]) -> list[str]:
        """Statements reading the paths *needed* names, and the objects on the way."""
        wanted: set[_Path] = set()
        for name in needed:
            node = self._reads.get(name)
            while node is not None and node not in wanted:
                wanted.add(node)
                node = node.parent
        lines: list[str] = []
        parents = [(self.root, "data")]
        while parents:
            parent, source = parents.pop(0)
            fast: list[str] = []
            slow: list[str] = []
            after: list[str] = []
            for node in parent.children.values():
                if node not in wanted:
                    continue
                key = self.constant(node.key).code
                index = node.index
                if f"_u{index}" in needed:
                    fast.append(f"_u{index} = {source}.get({key}, _U)")
                    slow.append(f"_u{index} = _prop({source}, {key})")
                    if f"_r{index}" in needed:
                        after.append(f"_r{index} = None if _u{index} is _U else _u{index}")
                    parents.append((node, f"_u{index}"))
                else:  # further keys read the same from `None` as from `_U`
                    fast.append(f"_r{index} = {source}.get({key})")
                    slow.append(f"_r{index} = _propn({source}, {key})")
                    parents.append((node, f"_r{index}"))
            if fast:
                lines.append(f"if type({source}) is dict:")
                lines.extend(f"    {line}" for line in fast)
                lines.append("else:")
                lines.extend(f"    {line}" for line in slow)
                lines.extend(after)
        return lines

    # -- truthiness ------------------------------------------------------------------------

    def test(self, logic: Any, scope: _Scope) -> str:
        """A Python expression that is `truthy()` of *logic*'s value: a `bool`."""
        found = _operation(logic)
        if found is not None and found[0] in _FORMS:
            operator, values = found
            code = None
            if operator in {"and", "or"} and values:
                joiner = " and " if operator == "and" else " or "
                code = "(" + joiner.join(self.test(value, scope) for value in values) + ")"
            elif operator in {"if", "?:"} and values:
                code = self.branches(values, scope, test=True)
            if code is not None:
                return code
        return self.truth(self.value(logic, scope))

    def truth(self, expr: _Expr) -> str:
        if expr.kind == _BOOL:
            return expr.code
        if expr.kind == _CONST:
            try:
                return "True" if js.truthy(expr.value) else "False"
            except OmnikitError:  # pragma: no cover - truthy() never raises
                pass
        return f"_truthy({expr.code})"

    # -- values ------------------------------------------------------------------------------

    def value(self, logic: Any, scope: _Scope) -> _Expr:
        """Python source for the value of *logic*."""
        if isinstance(logic, list):
            items = [self.value(item, scope).code for item in logic]
            return _Expr("[" + ", ".join(items) + "]")
        found = _operation(logic)
        if found is None:
            return self.constant(logic)
        operator, values = found
        if operator in _FORMS:
            expr = self.form(operator, values, scope)
        elif operator in self.operations:
            args = [self.value(value, scope).code for value in values]
            fn = self.custom(operator, exporting=scope.undefined)
            expr = _Expr(f"{fn}({scope.meter}, env{''.join(', ' + a for a in args)})")
        elif operator in _OPERATIONS:
            expr = self.operation(operator, values, scope, logic)
        else:
            raiser = self.name("_e", _Raiser(operator, logic, self.logic))
            args = [self.value(value, scope).code for value in values]
            expr = _Expr(f"{raiser}({', '.join(args)})")
        return expr

    def guard(self, expr: _Expr, kind: str) -> tuple[str, str]:
        """
        A test that *expr* is exactly a `str`, a `bool` or a number, and how to read it after.

        A number is an `int` or a `float`. For a path read up front, the test is a flag
        computed once, with it.
        """
        if expr.code in self._reads:
            flag = f"{expr.code}_{kind[0]}"
            self._flags[flag] = expr.code
            self.used.add(flag)
            return flag, expr.code
        first, then = self.simple(expr)
        if kind == "number":
            return f"type({first}) is int or type({then}) is float", then
        return f"type({first}) is {kind}", then

    def simple(self, expr: _Expr) -> tuple[str, str]:
        """How to evaluate *expr* once and how to read it after: `(first, then)`."""
        if expr.simple:
            return expr.code, expr.code
        return f"(_t := {expr.code})", "_t"

    # -- special forms -------------------------------------------------------------------------

    def form(self, operator: str, values: list[Any], scope: _Scope) -> _Expr:
        if operator in {"if", "?:"}:
            if not values:
                return self.constant(None)
            code = self.branches(values, scope, test=False)
            return _Expr(code)
        if operator in {"and", "or"}:
            return self.junction(operator, values, scope)
        return self.iterating(operator, values, scope)

    def branches(self, values: list[Any], scope: _Scope, *, test: bool) -> str:
        def part(logic: Any) -> str:
            return self.test(logic, scope) if test else self.value(logic, scope).code

        count = len(values)
        pairs = [(values[index], values[index + 1]) for index in range(0, count - 1, 2)]
        tail = part(values[-1]) if count % 2 else ("False" if test else self.constant(None).code)
        code = [f"{part(then)} if {self.test(condition, scope)} else " for condition, then in pairs]
        return "(" + "".join(code) + tail + ")"

    def junction(self, operator: str, values: list[Any], scope: _Scope) -> _Expr:
        if not values:
            return _Expr("_undefined(_st)")
        exprs = [self.value(value, scope) for value in values]
        if len(exprs) == 1:
            return exprs[0]
        if all(expr.kind == _BOOL for expr in exprs):
            joiner = " and " if operator == "and" else " or "
            return _Expr("(" + joiner.join(expr.code for expr in exprs) + ")", _BOOL)
        code = exprs[-1].code
        for expr in reversed(exprs[:-1]):
            first, then = self.simple(expr)
            if expr.kind == _BOOL:
                check = first
            elif expr.kind == _CONST:
                check = self.truth(expr)
            else:
                check = f"_truthy({first})"
            if operator == "and":
                code = f"({code} if {check} else {then})"
            else:
                code = f"({then} if {check} else {code})"
        return _Expr(code)

    def iterating(self, operator: str, values: list[Any], scope: _Scope) -> _Expr:
        items = self.value(values[0], scope).code if values else "_U"
        items = f"_spend_on(_st, {items})"
        has_logic = len(values) > 1
        if operator in {"map", "reduce"} and not has_logic:
            if operator == "map":
                return _Expr(f"_map_u({items}, _st)")
            initial = self.value(values[2], scope).code if len(values) > 2 else "None"
            return _Expr(f"_reduce_u({items}, {initial}, _st)")
        test = operator not in {"map", "reduce"}
        logic = values[1] if has_logic else UNDEFINED
        body = self.body(logic, scope, test=test)
        cost = static_cost(logic) if has_logic else 0  # paid again for each item
        if operator == "reduce":
            initial = self.value(values[2], scope).code if len(values) > 2 else "None"
            return _Expr(f"_reduce({items}, {initial}, {body}, env, _st, {cost})")
        kind = _BOOL if operator in {"all", "none", "some"} else _ANY
        return _Expr(f"_{operator}({items}, {body}, env, _st, {cost})", kind)

    def body(self, logic: Any, outer: _Scope, *, test: bool) -> str:
        """A function `(item, env, state)` giving *logic* on an item: an iterating body."""
        scope = _Scope("_d", top=False, meter=outer.meter, undefined=outer.undefined)
        name = self.name("_b", None)
        if logic is UNDEFINED:
            code = "False" if test else "_U"
        elif test:
            code = self.test(logic, scope)
        else:
            code = self.value(logic, scope).code
        self.functions.append(f"def {name}(_d, env, _st):\n    return {code}\n")
        del self.namespace[name]  # the def makes it
        return name

    # -- plain operations ----------------------------------------------------------------------

    def operation(self, operator: str, values: list[Any], scope: _Scope, logic: Any) -> _Expr:
        if (
            self.hoist
            and operator in _SHAREABLE
            and scope.top
            and scope.shared
            and self.pure(logic)
        ):
            return self.atom(logic, lambda: self.inline(operator, values, scope))
        return self.inline(operator, values, scope)

    def inline(self, operator: str, values: list[Any], scope: _Scope) -> _Expr:
        args = [self.value(value, scope) for value in values]
        inline = None
        if operator == "var":
            inline = self.var(args, scope)
        elif operator in {"!", "!!"} and len(args) == 1:
            truth = self.truth(args[0])
            inline = _Expr(f"(not {truth})" if operator == "!" else truth, _BOOL)
        elif operator in _EQUALITIES and len(args) == 2:
            inline = self.equality(operator, args[0], args[1], scope.meter)
        elif operator in _COMPARISONS and len(args) == 2:
            inline = self.comparison(operator, args[0], args[1], scope.meter)
        elif operator == "in" and len(args) == 2:
            inline = self.membership(values[1], args[0], scope.meter)
        if inline is not None:
            return inline
        codes = ", ".join(arg.code for arg in args)
        if operator == "var":
            return _Expr(f"_var({scope.meter}, {scope.data}, {codes})")
        if operator in {"missing", "missing_some"}:
            if self.delegate is None:
                self.delegate = self.name("_m", None)
            return _Expr(f"{self.delegate}.{operator}(_st, env, {scope.data}, {codes})")
        kind = _BOOL if operator in _EQUALITIES or operator in _COMPARISONS else _ANY
        kind = _BOOL if operator in {"!", "!!", "in"} else kind
        return _Expr(f"{self.plain(operator)}([{codes}], None, {scope.meter})", kind)

    def var(self, args: list[_Expr], scope: _Scope) -> _Expr | None:
        if len(args) > 2 or (args and args[0].kind != _CONST):
            return None
        path = args[0].value if args else None
        default = args[1] if len(args) > 1 else None
        if path is None or path == "":
            if default is not None and default.kind != _CONST:
                return _Expr(f"({default.code}, {scope.data})[1]")
            return _Expr(scope.data, simple=True)
        if type(path) not in {str, int, float, bool}:
            return None
        keys = inline_path(path)
        if keys is None:
            return None
        fixed = default is None or default.kind == _CONST
        none = default is None or default.value is None
        if scope.top:
            if fixed and none:
                return _Expr(self.path(keys, raw=False), simple=True)
            local = self.path(keys, raw=True)
            if fixed and default is not None:
                return _Expr(f"({default.code} if {local} is _U else {local})")
            assert default is not None  # noqa: S101 - for mypy: not fixed means given
            return _Expr(f"_ordef({local}, {default.code})")
        if not fixed:
            return None
        fallback = "None" if default is None else default.code
        data = scope.data
        if len(keys) == 1:
            key = self.constant(keys[0]).code
            if default is None:
                return _Expr(
                    f"({data}.get({key}) if type({data}) is dict else _propn({data}, {key}))"
                )
            return _Expr(
                f"({data}.get({key}, {fallback}) if type({data}) is dict "
                f"else _propd({data}, {key}, {fallback}))"
            )
        return _Expr(f"_walk({data}, {self.constant(tuple(keys)).code}, {fallback})")

    def equality(self, operator: str, left: _Expr, right: _Expr, meter: str) -> _Expr:
        strict = operator in {"===", "!=="}
        negate = operator in {"!=", "!=="}
        helper = "_seq" if strict else "_leq"
        more = "" if strict else f", {meter}"  # `===` converts nothing: it costs nothing
        code = None
        for value, other, literal_left in ((right, left, False), (left, right, True)):
            if value.kind != _CONST:
                continue
            literal = value.value
            if literal is None:
                first, then = self.simple(other)
                code = f"({first} is None)" if strict else f"({first} is None or {then} is _U)"
            elif type(literal) is bool and strict:
                code = f"({self.simple(other)[0]} is {value.code})"
            elif type(literal) in {str, bool} or _plain_number(literal):
                kind = "number" if _plain_number(literal) else type(literal).__name__
                test, then = self.guard(other, kind)
                args = f"{value.code}, {then}" if literal_left else f"{then}, {value.code}"
                args += more
                fast = f"{then} {'is' if kind == 'bool' else '=='} {value.code}"
                slow = f"{helper}({args})"
                if negate:
                    fast = f"{then} {'is not' if kind == 'bool' else '!='} {value.code}"
                    slow = f"not {slow}"
                return self.guarded(test, fast, slow)
            if code is not None:
                break
        if code is None:
            code = f"{helper}({left.code}, {right.code}{more})"
        return _Expr(f"(not {code})" if negate else code, _BOOL)

    def guarded(self, test: str, fast: str, slow: str) -> _Expr:
        """`fast if test else slow`, a `bool`; apart, if *test* is a flag of a path's type."""
        split = (test, fast, slow) if test in self._flags else None
        return _Expr(f"(({fast}) if {test} else {slow})", _BOOL, split=split)

    def comparison(self, operator: str, left: _Expr, right: _Expr, meter: str) -> _Expr:
        helper = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}[operator]
        symbol = _COMPARISONS[operator]
        for value, other, literal_left in ((right, left, False), (left, right, True)):
            if value.kind != _CONST or not _plain_number(value.value):
                continue
            test, then = self.guard(other, "number")
            pair = (value.code, then) if literal_left else (then, value.code)
            return self.guarded(
                test, f"{pair[0]} {symbol} {pair[1]}", f"{helper}({pair[0]}, {pair[1]}, {meter})"
            )
        return _Expr(f"{helper}({left.code}, {right.code}, {meter})", _BOOL)

    def membership(self, haystack: Any, needle: _Expr, meter: str) -> _Expr | None:
        """`in` a short literal array of strings (free to search): a set lookup for a string."""
        if not (
            isinstance(haystack, list)
            and 0 < len(haystack) <= js.FREE_SIZE
            and all(type(item) is str for item in haystack)
        ):
            return None
        strings = self.constant(frozenset(haystack)).code
        items = self.constant(list(haystack)).code
        test, then = self.guard(needle, "str")
        return self.guarded(test, f"{then} in {strings}", f"_in_list({then}, {items}, {meter})")


def _scalar(value: Any) -> bool:
    return value is None or type(value) in {str, int, float, bool}


def _key(logic: Any) -> str:
    """What tells pure logic apart: its JSON (`1`, `1.0` and `true` differ)."""
    return json.dumps(logic)


def _plain_number(value: Any) -> bool:
    """A number whose comparisons Python and JavaScript agree on, with any int or float."""
    return type(value) in {int, float} and -_EXACT < value < _EXACT
