"""
Whatever JSON comes in as a rule or as data, `jsonlogic.apply()` ends quickly, and the only
exceptions that leave it are omnikit's own.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnikit.errors import OmnikitError, RuleError, RuleLimitError
from omnikit.rules import jsonlogic
from oracle.jsonlogic import strategies

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPERATORS = strategies.OPERATORS + strategies.UNKNOWN_OPERATORS
keys = st.one_of(
    st.sampled_from(OPERATORS),
    st.sampled_from(strategies.KEYS + strategies.AWKWARD_KEYS),
    st.text(max_size=4),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too, which no JSON text holds
    strategies.strings,
    st.sampled_from(strategies.NUMBERS),
)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(keys, children, max_size=3),
        st.builds(lambda op, args: {op: args}, st.sampled_from(OPERATORS), children),
        st.builds(
            lambda op, args: {op: args}, st.sampled_from(OPERATORS), st.lists(children, max_size=5)
        ),
    ),
    max_leaves=40,
)


def apply_safely(rule: Any, data: Any) -> Any:
    """Apply *rule*; an omnikit error is an answer too. Anything else fails the test."""
    started = time.monotonic()
    try:
        result: Any = jsonlogic.apply(rule, data)
    except OmnikitError as exc:
        result = exc
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"apply took {elapsed:.1f} s"
    return result


@FUZZ
@given(rule=anything, data=anything)
def test_arbitrary_json_raises_only_our_errors(rule: Any, data: Any) -> None:
    """
    Any JSON (and NaN, infinities) as rule and data gives a result or an omnikit error.
    """
    apply_safely(rule, data)


@FUZZ
@given(rule=strategies.rules, data=st.one_of(anything, strategies.data))
def test_well_formed_rules_raise_only_our_errors(rule: Any, data: Any) -> None:
    """
    Rules over every operator, with any arity, on any data, give a result or an omnikit error.
    """
    apply_safely(rule, data)


WRAPPERS = [
    lambda node: [node],
    lambda node: {"!": node},
    lambda node: {"and": [True, node]},
    lambda node: {"if": [node, 1, 2]},
    lambda node: {"var": node},
    lambda node: {"map": [[1, 2], node]},
    lambda node: {"reduce": [[1], node, 0]},
    lambda node: {"missing": [node]},
    lambda node: {"cat": [node, "x"]},
    lambda node: {"==": [node, [node]]},
]


def nested(depth: int, wrapper: int) -> Any:
    node: Any = {"var": "a"}
    for _ in range(depth):
        node = WRAPPERS[wrapper](node)
    return node


@settings(FUZZ, max_examples=100)
@given(depth=st.integers(0, 3000), wrapper=st.integers(0, len(WRAPPERS) - 1))
def test_deep_rules_are_refused_not_crashed(depth: int, wrapper: int) -> None:
    """
    However deep a rule nests, apply answers or raises an omnikit error, never
    RecursionError; past max_depth it raises RuleLimitError.
    """
    rule = nested(depth, wrapper)

    result = apply_safely(rule, {"a": [1]})

    if depth > 64:
        assert isinstance(result, RuleLimitError)


@settings(FUZZ, max_examples=50)
@given(depth=st.integers(0, 5_000), wrapper=st.integers(0, 2))
def test_deep_data_is_handled(depth: int, wrapper: int) -> None:
    """
    Data nested far deeper than Python's stack, stringified, compared or copied out, gives
    a result or an omnikit error.
    """
    data: Any = "leaf"
    for _ in range(depth):
        data = [data] if wrapper == 0 else {"a": data} if wrapper == 1 else [1, data]
    for rule in [
        {"cat": [{"var": ""}]},
        {"==": [{"var": ""}, "leaf"]},
        {"<": [{"var": ""}, 1]},
        {"+": [{"var": ""}]},
        {"in": ["leaf", {"var": ""}]},
        {"merge": [{"var": ""}, {"var": ""}]},
        [{"and": []}, {"var": ""}],
        {"missing": [{"var": ""}]},
    ]:
        apply_safely(rule, data)


def test_flat_array_joins_as_javascript_does() -> None:
    """
    A deeply nested array turns into its innermost string, as JavaScript's join gives.
    """
    data: Any = "leaf"
    for _ in range(50_000):
        data = [data]

    assert "leaf" == jsonlogic.apply({"cat": [{"var": ""}]}, data)


@pytest.mark.parametrize("size", [10_001, 100_000, 1_000_000])
def test_huge_rules_are_refused(size: int) -> None:
    """
    A rule with more values than max_size is refused before it runs, and quickly.
    """
    for rule in [{"+": [1] * size}, [[1]] * size, {"cat": {"a": 1, "b": ["x"] * size}}]:
        assert isinstance(apply_safely(rule, None), RuleLimitError)


def test_huge_data_is_fine() -> None:
    """
    Data is not bounded by max_size: a rule may walk a long array.
    """
    data = {"xs": list(range(100_000))}

    assert 4999950000 == jsonlogic.apply({"reduce": [{"var": "xs"}, {"+": [
        {"var": "current"}, {"var": "accumulator"}]}, 0]}, data)  # fmt: skip


def _doubling(body: Any, initial: Any) -> Any:
    return {"reduce": [{"var": "xs"}, body, initial]}


ACC = {"var": "accumulator"}
RUNAWAY = [
    _doubling({"merge": [ACC, ACC]}, [1]),
    _doubling({"cat": [ACC, ACC]}, "ab"),
    _doubling({"cat": [[ACC, ACC]]}, "ab"),
    {"cat": [_doubling([ACC, ACC], [])]},
    {"==": [_doubling([ACC, ACC], [1]), "x"]},
    {"map": [{"var": "xs"}, {"map": [[1] * 100, {"map": [[1] * 100, {"map": [[1] * 100, 1]}]}]}]},
    {"filter": [[1] * 3000, {"some": [[1] * 3000, {"!": {"var": ""}}]}]},
]


@pytest.mark.parametrize("rule", RUNAWAY, ids=[f"runaway-{i}" for i in range(len(RUNAWAY))])
def test_runaway_evaluation_stops(rule: Any) -> None:
    """
    Rules whose work grows exponentially with the data stop with RuleLimitError in
    seconds.
    """
    result = apply_safely(rule, {"xs": list(range(64))})

    assert isinstance(result, RuleLimitError)


def test_shared_arrays_are_built_quickly() -> None:
    """
    An array built from itself 64 times over is 2**64 items deep, but shares its parts, as
    in JavaScript: building it takes no time.
    """
    rule = _doubling([ACC, ACC], [])

    result = apply_safely(rule, {"xs": list(range(64))})

    assert result[0] is result[1]


@pytest.mark.parametrize(
    "data",
    [
        {"k": {"missing": [{"var": "k"}]}},
        {"k": [{"missing": [{"var": "k"}]}]},
        {"k": {"missing_some": [1, [{"var": "k"}]]}},
        {f"k{i}": {"missing": [{"var": f"k{i + 1}"}, {"var": f"k{i + 1}"}]} for i in range(80)},
    ],
)
def test_logic_in_data_cannot_run_away(data: Any) -> None:
    """
    `missing` runs keys that look like logic, as json-logic-js does; logic in data that
    calls itself, or branches at every level, stops with RuleLimitError.
    """
    result = apply_safely({"missing": [{"var": "k"}, {"var": "k0"}]}, data)

    assert isinstance(result, RuleLimitError)


def test_custom_operation_errors_are_wrapped() -> None:
    """
    An exception from a custom operation comes out as a RuleError caused by it.
    """

    def explode(*_args: Any) -> Any:
        raise ZeroDivisionError

    with pytest.raises(RuleError, match="explode") as info:
        jsonlogic.apply({"explode": [1]}, operations={"explode": explode})

    assert isinstance(info.value.__cause__, ZeroDivisionError)
