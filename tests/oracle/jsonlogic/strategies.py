"""
Hypothesis strategies for JsonLogic rules and data, shared by the JsonLogic tests.

The test modules load this file by its path (tests/ is not a package).

Rules use every operator with any number of arguments; data mixes nulls, booleans, numbers
(-0.0, huge ones, ints past 2**53), numeric-looking strings, arrays and nested objects.
Paths and keys come from a fixed vocabulary that avoids the names every JavaScript object
inherits (`constructor`, `toString`, ...): reading those gives functions, which JSON cannot
carry, so the two implementations could not be compared on them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PLAIN_OPERATORS = [
    "==",
    "===",
    "!=",
    "!==",
    ">",
    ">=",
    "<",
    "<=",
    "!!",
    "!",
    "%",
    "log",
    "in",
    "cat",
    "substr",
    "+",
    "*",
    "-",
    "/",
    "min",
    "max",
    "merge",
    "var",
    "missing",
    "missing_some",
]
FLOW_OPERATORS = ["if", "?:", "and", "or"]
ITERATING_OPERATORS = ["map", "filter", "reduce", "all", "none", "some"]
UNKNOWN_OPERATORS = ["method", "foo", "var.length", "+.name", "Math.max", "", ".x", "toString"]
OPERATORS = PLAIN_OPERATORS + FLOW_OPERATORS + ITERATING_OPERATORS

KEYS = ["a", "b", "c", "x", "arr", "s", "n", "nested", "0", "1", "length", ""]
# Keys that change how JavaScript converts an object; only ever object keys, never paths.
AWKWARD_KEYS = ["toString", "indexOf", "valueOf"]
PATHS = [
    "",
    "a",
    "b",
    "c",
    "x",
    "n",
    "s",
    "arr",
    "nested",
    "a.b",
    "a.0",
    "arr.0",
    "arr.1",
    "arr.5",
    "arr.length",
    "s.0",
    "s.1",
    "s.length",
    "nested.a",
    "nested.a.b",
    "nested.arr.0",
    "nested.length",
    "x.y.z",
    "0",
    "1",
    "01",
    "1.0",
    "-1",
    "current",
    "accumulator",
    "current.a",
    "current.0",
    "accumulator.length",
    "length",
    "a.",
    ".a",
]
NUMBERS = [
    0,
    1,
    -1,
    2,
    3,
    10,
    100,
    255,
    0.5,
    -0.0,
    1.5,
    -2.5,
    0.1,
    0.2,
    1 / 3,
    1e21,
    1e-7,
    123e-20,
    1e300,
    1e308,
    -1e308,
    5e-324,
    2**31,
    2**32,
    2**53,
    2**53 + 1,
    2**64,
    10**400,
]
STRINGS = [
    "",
    " ",
    "a",
    "b",
    "abc",
    "1",
    "2",
    "10",
    "-1",
    " 2 ",
    "1e3",
    "1e",
    ".5",
    "5.",
    "-0",
    "+1",
    "0x10",
    "0X1f",
    "0o17",
    "0b101",
    "-0x10",
    "Infinity",
    "-Infinity",
    "infinity",
    "NaN",
    "true",
    "false",
    "null",
    "undefined",
    "1,2",
    "1_000",
    "\t\n 7 \u00a0",
    "\u2028",
    "\ufeff1",
    "\x1c5",
    "12abc",
    "[object Object]",
    "a.b",
    "arr",
    "\U0001f600",
    "\xe9",
    "a\U0001f600b",
    "\ud83d",
    "\ude00",
    "\uffff",
]

numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(-20, 20),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
strings = st.one_of(st.sampled_from(STRINGS), st.text(max_size=5))
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(AWKWARD_KEYS))
    return st.dictionaries(keys, children, max_size=4)


json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), _objects(children)),
    max_leaves=6,
)
"""Any JSON value: what data holds."""

literal_arrays = st.one_of(
    st.lists(scalars, max_size=5),
    st.lists(numbers, max_size=5),
    st.lists(st.lists(scalars, max_size=3), max_size=3),
)
"""Arrays a rule can hold: no objects, which a rule would take for operations."""

arrays = st.one_of(literal_arrays, st.lists(json_values, max_size=4))

data = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "a": json_values,
            "b": json_values,
            "c": scalars,
            "x": json_values,
            "n": numbers,
            "s": strings,
            "arr": arrays,
            "nested": st.fixed_dictionaries(
                {}, optional={"a": json_values, "arr": arrays, "length": scalars}
            ),
            "0": scalars,
            "length": scalars,
            "toString": scalars,
        },
    ),
    json_values,
)
"""Data a rule reads: mostly an object with the keys the paths name."""

paths = st.one_of(
    st.sampled_from(PATHS),
    st.sampled_from([0, 1, 1.5, -1, None, True, False, [], ["a"], ["a", "b"]]),
)


def _var(path: Any, default: Any, form: int) -> dict[str, Any]:
    if form == 0:
        return {"var": path}
    if form == 1:
        return {"var": [path]}
    if form == 2:
        return {"var": [path, default]}
    return {"var": []}


variables = st.builds(_var, paths, scalars, st.sampled_from([0, 0, 1, 2, 2, 3]))
"""`var` operations, with or without a default."""


def _operation(operator: str, arguments: list[Any], bare: bool) -> dict[str, Any]:
    if bare and len(arguments) == 1 and not isinstance(arguments[0], list):
        return {operator: arguments[0]}
    return {operator: arguments}


def _iterating(operator: str, items: Any, body: Any, initial: Any, arity: int) -> dict[str, Any]:
    return {operator: [items, body, initial][:arity]}


def _missing(keys: list[Any], nested: bool) -> dict[str, Any]:
    return {"missing": [keys] if nested else keys}


def _missing_some(need: Any, keys: Any) -> dict[str, Any]:
    return {"missing_some": [need, keys]}


keys_to_check = st.lists(st.one_of(st.sampled_from(PATHS), paths, variables), max_size=4)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    arguments = st.lists(children, max_size=4)
    branches = {
        "plain": st.builds(
            _operation, st.sampled_from(PLAIN_OPERATORS[:23]), arguments, st.booleans()
        ),
        "flow": st.builds(_operation, st.sampled_from(FLOW_OPERATORS), arguments, st.booleans()),
        "iterating": st.builds(
            _iterating,
            st.sampled_from(ITERATING_OPERATORS),
            st.one_of(literal_arrays, variables, children),
            children,
            children,
            st.sampled_from([0, 1, 2, 2, 2, 3, 3]),
        ),
        "missing": st.builds(_missing, keys_to_check, st.booleans()),
        "missing_some": st.builds(
            _missing_some, st.one_of(numbers, children), st.one_of(keys_to_check, children)
        ),
        "array": st.lists(children, max_size=3),
    }
    # Weighted: most rules are plain operations, few are bare arrays.
    kinds = ["plain"] * 8 + ["flow"] * 3 + ["iterating"] * 3
    kinds += ["missing", "missing_some", "array"]
    return st.sampled_from(kinds).flatmap(branches.__getitem__)


rules = _extend(st.recursive(st.one_of(scalars, variables, variables), _extend, max_leaves=10))
"""Rules over every operator, nested a few levels: always an operation or array on top."""

unknown_operations = st.builds(
    _operation, st.sampled_from(UNKNOWN_OPERATORS), st.lists(rules, max_size=2), st.booleans()
)

rules_and_data = st.tuples(rules, data)
"""A rule and the data to run it on."""

unknown_operations_and_data = st.tuples(unknown_operations, data)
"""A rule whose top operation json-logic-js does not know, and data."""


def _scalar_operation(operator: str, arguments: list[Any]) -> dict[str, Any]:
    return {operator: arguments}


coercions = st.tuples(
    st.builds(
        _scalar_operation,
        st.sampled_from(PLAIN_OPERATORS[:23]),
        st.lists(st.one_of(scalars, literal_arrays, variables), max_size=3),
    ),
    data,
)
"""One operation over scalars, small arrays and variables: coercion corner cases."""

# Strings that are almost numbers: JavaScript's two number grammars (ToNumber and
# parseFloat) differ from Python's float() in whitespace, prefixes, underscores and digits.
WHITESPACE = [
    " ",
    "\t",
    "\n",
    "\v",
    "\f",
    "\r",
    "\xa0",
    "\u1680",
    "\u2000",
    "\u200a",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
    "\ufeff",
    "\x85",
    "\x1c",
    "\u180e",
    "\u200b",
]
_digits = st.text("0123456789", max_size=4)
_exponent = st.one_of(
    st.just(""),
    st.builds("".join, st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), _digits)),
)
_number_body = st.one_of(
    st.builds("".join, st.tuples(_digits, st.sampled_from(["", "."]), _digits, _exponent)),
    st.sampled_from(
        [
            "Infinity",
            "infinity",
            "inf",
            "NaN",
            "0x1F",
            "0X10",
            "0xg",
            "0x",
            "0o17",
            "0O8",
            "0b101",
            "0b102",
            "1_0",
            "\u0661\u0662",
            "1e400",
            "1e-400",
            "123456789012345678901234567890",
        ]
    ),
)
_padding = st.lists(st.sampled_from(WHITESPACE), max_size=2).map("".join)
numeric_strings = st.builds(
    "".join,
    st.tuples(
        _padding,
        st.sampled_from(["", "", "+", "-", "--"]),
        _number_body,
        st.sampled_from(["", "", "", "x", ".", "e", "1", ",5"]),
        _padding,
    ),
)
"""Strings on the edge of JavaScript's number grammars."""

_float_operands = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60),
    st.sampled_from(NUMBERS),
)


def _numeric(template: int, left: Any, right: Any) -> dict[str, Any]:
    return [
        {"cat": [left]},
        {"cat": [{"/": [left, right]}]},
        {"cat": [{"*": [left, right]}]},
        {"cat": [{"+": [left, right]}]},
        {"cat": [{"-": [left, right]}]},
        {"cat": [{"%": [left, right]}]},
        {"+": [left]},
        {"-": [left, right]},
        {"*": [left, right]},
        {"<": [left, right]},
        {"==": [left, right]},
        {"max": [left, right]},
        {"substr": ["abcdefghij", left, right]},
        {"var": left},
    ][template]


numbers_and_strings = st.one_of(_float_operands, numeric_strings)
arithmetic = st.tuples(
    st.builds(_numeric, st.integers(0, 13), numbers_and_strings, numbers_and_strings),
    st.just({"1": {"5": "one.five"}, "Infinity": "inf", "1e+21": "big"}),
)
"""Arithmetic, formatting and number parsing over floats and numeric strings."""
