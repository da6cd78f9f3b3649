"""
The promises of omnikit.rules.jsonlogic beyond the reference's results: how errors name
what went wrong, custom operations, limits, helpers, and how JavaScript values look in
Python.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnikit.errors import RuleError, RuleLimitError, RuleSyntaxError
from omnikit.rules import jsonlogic
from omnikit.rules._lang import js as _js


@pytest.mark.parametrize(
    ("rule", "path", "operator"),
    [
        ({"foo": [1]}, "", "foo"),
        ({"and": [True, {"foo": 1}]}, "and[1]", "foo"),
        ({"!": {"bar": []}}, "!", "bar"),
        ([1, {"if": [True, {"baz": 2}]}], "[1].if[1]", "baz"),
        ({"map": [[1], {"nope": {"var": ""}}]}, "map[1]", "nope"),
    ],
)
def test_unknown_operation_names_operator_and_path(rule: Any, path: str, operator: str) -> None:
    """
    An unknown operation raises RuleSyntaxError naming the operator, with the path to it.
    """
    with pytest.raises(RuleSyntaxError) as info:
        jsonlogic.apply(rule, {})

    assert path == info.value.path
    assert repr(operator) in str(info.value)


def test_unknown_operation_in_untaken_branch_is_not_an_error() -> None:
    """
    As in json-logic-js, an operation is looked up only when it is evaluated.
    """
    assert 1 == jsonlogic.apply({"if": [True, 1, {"foo": 2}]})


def test_method_is_refused() -> None:
    """
    `method`, which would call any method of any value, is not an operation.
    """
    with pytest.raises(RuleSyntaxError, match="'method' is not supported"):
        jsonlogic.apply({"method": [{"var": "name"}, "upper"]}, {"name": "ada"})


def test_errors_where_the_reference_throws() -> None:
    """
    Where json-logic-js throws a TypeError, apply raises a RuleError.
    """
    for rule, data in [
        ({"*": []}, None),
        ({"missing_some": [1, None]}, None),
        ({"cat": [{"var": "o"}]}, {"o": {"toString": 1}}),
        ({"in": ["a", {"var": "o"}]}, {"o": {"indexOf": 1}}),
    ]:
        with pytest.raises(RuleError):
            jsonlogic.apply(rule, data)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"+": [1, 2]}, 3),
        ({"+": ["1", 1]}, 2),
        ({"min": [False]}, 0),
        ({"/": [1, 4]}, 0.25),
        ({"*": [2**51, 4]}, 2**53),
        ({"*": [2**52, 4]}, 2.0**54),
        ({"cat": [{"+": [0.1, 0.2]}]}, "0.30000000000000004"),
        ({"cat": [1.5, None]}, "1.5"),
        ({"cat": [True]}, "true"),
        ({"cat": [1e21, "|", -0.0, "|", 1.0]}, "1e+21|0|1"),
        ({"and": [1, "", 2]}, ""),
        ({"or": [0, [], "x"]}, "x"),
        ({"and": []}, None),
        ({"merge": [[{"and": []}], 1]}, [None, 1]),
    ],
)
def test_results_are_json_shaped(rule: Any, expected: Any) -> None:
    """
    Results are plain Python JSON values, with computed integers as ints.
    """
    actual = jsonlogic.apply(rule)

    assert expected == actual
    assert type(expected) is type(actual)


def test_special_numbers_are_floats() -> None:
    """
    NaN, infinities and -0 come out as the floats that are them.
    """
    assert math.isnan(jsonlogic.apply({"%": [1, 0]}))
    assert math.inf == jsonlogic.apply({"/": [1, 0]})
    assert -math.inf == jsonlogic.apply({"max": []})
    assert "-0.0" == repr(jsonlogic.apply({"-": [0]}))


def test_undefined_is_left_out_of_objects() -> None:
    """
    `undefined` in an object built by evaluation is left out, as JSON.stringify does.
    """
    rule = {"reduce": [[1], {"var": ""}, {"and": []}]}

    assert {"current": 1} == jsonlogic.apply(rule)


def test_custom_operations_get_evaluated_arguments() -> None:
    """
    A custom operation is called with its evaluated arguments, `undefined` as None.
    """
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any) -> str:
        calls.append(args)
        return "done"

    result = jsonlogic.apply(
        {"record": [{"var": "a"}, {"+": [1, 1]}, {"and": []}, [{"or": []}]]},
        {"a": "x"},
        operations={"record": record},
    )

    assert "done" == result
    assert [("x", 2, None, [None])] == calls


def test_custom_operations_replace_plain_ones_but_not_forms() -> None:
    """
    A custom `var` is what `missing` uses too; a custom `if` is ignored, as in json-logic-js.
    """
    operations = {"var": lambda *_: "always", "if": lambda *_: "never"}

    assert "always" == jsonlogic.apply({"var": "x"}, operations=operations)
    assert [] == jsonlogic.apply({"missing": ["x"]}, operations=operations)
    assert 1 == jsonlogic.apply({"if": [True, 1, 2]}, operations=operations)


def test_limits_can_be_tightened() -> None:
    """
    max_depth, max_size and max_work bound a rule, each raising RuleLimitError.
    """
    rule = {"and": [{"or": [{"!": [{"var": "a"}]}]}]}

    assert jsonlogic.apply(rule, {"a": 0}, max_depth=4) is True
    with pytest.raises(RuleLimitError, match=r"^and\[0\]\.or\[0\]\.!\[0\]: .*max_depth"):
        jsonlogic.apply(rule, {"a": 0}, max_depth=3)
    with pytest.raises(RuleLimitError, match="max_size"):
        jsonlogic.apply({"+": [1, 2, 3]}, max_size=3)
    with pytest.raises(RuleLimitError, match="max_work"):
        jsonlogic.apply({"map": [{"var": "xs"}, {"var": ""}]}, {"xs": [1] * 100}, max_work=50)


def test_log_writes_to_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    """
    `log` returns its argument and logs it on the omnikit.rules.jsonlogic logger.
    """
    with caplog.at_level(logging.INFO, logger="omnikit.rules.jsonlogic"):
        result = jsonlogic.apply({"log": [{"var": "a"}]}, {"a": [1, 2]})

    assert [1, 2] == result
    assert ["[1, 2]"] == [record.getMessage() for record in caplog.records]


def test_is_logic() -> None:
    """
    An object with exactly one key is logic; nothing else is.
    """
    assert [True, False, False, False, False] == [
        jsonlogic.is_logic(value) for value in [{"var": "a"}, {}, {"a": 1, "b": 2}, ["a"], None]
    ]


def test_uses_data() -> None:
    """
    uses_data lists each path read by `var`, once, in order, as written.
    """
    rule = {
        "and": [
            {"<": [{"var": "a"}, {"var": ["b.c", 0]}]},
            {"==": [{"var": "a"}, [{"var": "in_a_literal_array"}]]},
            {"var": {"cat": ["x", "y"]}},
            {"var": []},
        ]
    }

    assert ["a", "b.c", {"cat": ["x", "y"]}, None] == jsonlogic.uses_data(rule)


def test_uses_data_of_deep_rules() -> None:
    """
    uses_data walks rules of any depth without recursion.
    """
    rule: Any = {"var": "deep"}
    for _ in range(10_000):
        rule = {"!": rule}

    assert ["deep"] == jsonlogic.uses_data(rule)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()
)


@given(value=json_scalars)
def test_scalars_are_returned_as_they_are(value: Any) -> None:
    """
    A rule that is not logic is its own result.
    """
    assert jsonlogic.apply(value) is value


@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_number_strings_read_back(number: float) -> None:
    """
    The string JavaScript writes for a number reads back as that number.
    """
    text = _js.format_number(number)

    assert (0.0 if number == 0 else number) == _js.to_number(text)
    assert (0.0 if number == 0 else number) == _js.parse_float(text)


@given(number=st.floats())
def test_canonical_numbers_keep_their_value(number: float) -> None:
    """
    Turning a computed number into its Python form keeps its value, and its sign at zero.
    """
    result = _js.canonical_number(number)

    assert _js.format_number(number) == _js.to_string(result)
    assert math.copysign(1.0, number) == math.copysign(1.0, result)


@given(left=st.text(), right=st.text())
def test_strings_order_by_utf16_code_units(left: str, right: str) -> None:
    """
    Strings compare as JavaScript's do: by their UTF-16 code units.
    """
    expected = left.encode("utf-16-be", "surrogatepass") < right.encode(
        "utf-16-be", "surrogatepass"
    )

    assert expected == _js.less_than(left, right)
