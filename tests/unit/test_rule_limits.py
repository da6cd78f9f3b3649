"""
Rules always end: work is counted by the size of what a rule reads and builds, no value grows
past `max_length`, and each way in (`jsonlogic.apply`, `RuleSet.decide`, `Decision.explain`,
`RuleSet.loads`) ends in bounded time with an omnikit error that names the rule. Mistakes
that used to pass silently are errors that say how to write the rule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from omnikit.errors import RuleError, RuleLimitError, RuleSyntaxError, ValidationError
from omnikit.rules import (
    Action,
    Env,
    Outcome,
    Place,
    Rule,
    RuleSet,
    Segment,
    customer,
    jsonlogic,
    within_km,
)

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
ENV = Env(now=NOW)
ACC = {"var": "accumulator"}


def ceiling(max_work: int) -> float:
    """A generous bound on one call's wall-clock time: 10x slow units of work, and set-up."""
    return 2.0 + 10 * max_work * 2e-6


@contextlib.contextmanager
def ends_within(seconds: float) -> Iterator[None]:
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s, over {seconds:.1f} s"


# -- work counted by size -------------------------------------------------------------------


def test_reading_a_long_string_costs_by_its_length() -> None:
    """
    One `substr` over 100,000 characters costs thousands of units of work, not one; a
    comparison of an array with a string costs a unit for each item it joins.
    """
    text = {"s": "x" * 100_000}
    rule = {"substr": [{"var": "s"}, 0, 2]}

    assert "xx" == jsonlogic.apply(rule, text, max_work=10_000)
    with pytest.raises(RuleLimitError, match="max_work"):
        jsonlogic.apply(rule, text, max_work=5_000)
    with pytest.raises(RuleLimitError, match="max_work"):
        jsonlogic.apply({"==": [{"var": "xs"}, "x"]}, {"xs": list(range(10_000))}, max_work=5_000)


def test_a_string_that_doubles_at_each_step_stops_at_max_length() -> None:
    """
    A reduction that doubles a string and keeps 8 million characters of it at each of 4,000
    steps (hours of copying) stops at the first string over `max_length`, in the
    interpreter and compiled.
    """
    grow = {"substr": [{"cat": [ACC, ACC]}, 0, 8_000_000]}
    rule = {"reduce": [[1] * 4000, grow, "ab"]}
    rules = RuleSet([Rule(id="doubling", condition={"!!": [rule]})])

    with ends_within(ceiling(1_000_000)), pytest.raises(RuleLimitError, match="max_length"):
        jsonlogic.apply(rule)
    with ends_within(ceiling(1_000_000)):
        decision = rules.decide({}, ENV)

    assert Outcome.ERROR == decision.outcomes[0].outcome
    assert "max_length" in decision.outcomes[0].detail


def test_a_huge_array_is_refused_before_it_is_built() -> None:
    """`merge` of 2,000 copies of 100,000 items (1.6 GB of references) is refused up front."""
    rule = {"merge": [{"var": "xs"}] * 2000}

    with ends_within(ceiling(1_000_000)), pytest.raises(RuleLimitError, match="max_length"):
        jsonlogic.apply(rule, {"xs": list(range(100_000))})


def test_comparing_a_long_array_many_times_stops_in_a_compiled_rule_set() -> None:
    """
    2,400 comparisons of a 100,000-item array with strings (each joins the array into a
    string) end the rule with an `error` outcome within its work, compiled as rule sets are.
    """
    condition = {"or": [{"==": [{"var": "customer.tags"}, f"x{i}"]} for i in range(2400)]}
    rules = RuleSet([Rule(id="tags", condition=condition, actions=(Action.tag("t"),))])
    data = {"customer": {"tags": list(range(100_000))}}

    with ends_within(ceiling(1_000_000)):
        decision = rules.decide(data, ENV)

    assert (Outcome.ERROR, "rule evaluation exceeded its work limit (max_work)") == (
        decision.outcomes[0].outcome,
        decision.outcomes[0].detail,
    )


def test_a_score_that_fails_names_its_rule() -> None:
    """A score that raises makes `decide()` raise the same kind of error, naming the rule."""
    rules = RuleSet(
        [Rule(id="scored", score={"*": []}, actions=(Action.tag("x"),))], strategy="best_score"
    )

    with pytest.raises(RuleError) as info:
        rules.decide({}, ENV)

    assert "scored" == info.value.rule_id
    assert "rule 'scored': score: '*' needs at least one argument" == str(info.value)


# -- explanations ---------------------------------------------------------------------------


def test_an_explanation_stops_where_the_decision_stopped() -> None:
    """
    A condition that ran out of work in its decision runs out at the same place when
    explained: the parts before hold their values, the one that ran out shows the error,
    and the rest were never evaluated (they are not each given a fresh budget).
    """
    heavy = {"map": [{"var": "xs"}, list(range(60))]}  # 61 units an item
    rules = RuleSet([Rule(id="heavy", condition={"and": [heavy] * 40})])
    data = {"xs": list(range(10_000))}  # 610,000 units a part: the second runs out

    decision = rules.decide(data, ENV)
    with ends_within(ceiling(1_000_000)):
        explained = decision.explain().rule("heavy")

    trace = explained.condition
    assert Outcome.ERROR == explained.outcome
    assert trace.error == f"error: {explained.detail}"
    assert [True, False] + [False] * 38 == [child.evaluated for child in trace.children[:1]] + [
        child.evaluated and child.error is None for child in trace.children[1:]
    ]
    assert trace.children[0].held
    assert trace.children[1].error == trace.error
    assert "· " in str(decision.explain())


def test_an_explanation_shows_what_a_branch_did_not_evaluate() -> None:
    """Branches that `if` did not take, and what `and` did not need, are not evaluated."""
    rules = RuleSet(
        [
            Rule(
                id="branches",
                condition={
                    "and": [
                        {"if": [{"var": "vip"}, {"var": "a"}, {"cat": [{"var": "b"}, ""]}]},
                        {"==": [{"var": "c"}, 1]},
                    ]
                },
            )
        ]
    )

    trace = rules.decide({"vip": False, "b": ""}, ENV).explain().rule("branches").condition

    branch, rest = trace.children
    assert [True, False, True] == [part.evaluated for part in branch.children]
    assert "" == branch.value
    assert not rest.evaluated
    assert '· {"==": [{"var": "c"}, 1]}  →  not evaluated' in str(trace)


# -- rule files -----------------------------------------------------------------------------


def test_a_json_rule_file_nested_100k_deep_is_refused() -> None:
    """JSON nested 100,000 deep is refused before parsing, not with Python's RecursionError."""
    text = '{"rules": [{"id": "deep", "condition": ' + "[" * 100_000 + "]" * 100_000 + "}]}"

    with ends_within(ceiling(0)), pytest.raises(ValidationError, match="deeper than 128"):
        RuleSet.loads(text)


LAUGHS = """
rules:
  - id: laughs
    condition: {"==": [1, {lol: &l9 [&l8 [&l7 [&l6 [&l5 [&l4 [&l3 [&l2 [&l1 [lol, lol, lol, lol,
                lol, lol, lol, lol, lol, lol], *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1],
                *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2], *l3, *l3, *l3, *l3, *l3, *l3, *l3,
                *l3, *l3], *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4], *l5, *l5, *l5, *l5, *l5,
                *l5, *l5, *l5, *l5], *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6], *l7, *l7, *l7,
                *l7, *l7, *l7, *l7, *l7, *l7], *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8], x: 1}]}
"""
"""A billion values, in an object a condition compares with (objects are values)."""


def test_a_yaml_billion_laughs_is_refused() -> None:
    """A few lines of YAML aliases that stand for a billion values are refused quickly."""
    with ends_within(ceiling(0)), pytest.raises(ValidationError, match="more than 1000000"):
        RuleSet.loads(LAUGHS, "yaml")


def test_a_yaml_alias_inside_what_it_names_is_refused() -> None:
    """A value that holds itself through an alias is refused, not walked forever."""
    text = 'rules: [{id: loop, condition: {"==": [1, &x {a: *x, b: 1}]}}]'

    with ends_within(ceiling(0)), pytest.raises(ValidationError, match=r"\*x is inside"):
        RuleSet.loads(text, "yaml")


def test_yaml_aliases_may_still_share_a_condition() -> None:
    """Anchors and aliases that repeat a part of the file are fine; too many are not."""
    text = """
rules:
  - {id: a, condition: &gold {"==": [{"var": "customer.traits.tier"}, gold]}}
  - {id: b, condition: *gold, priority: 1}
"""
    many = "rules:\n  - {id: a, condition: &t true}\n" + "".join(
        f"  - {{id: r{i}, condition: *t}}\n" for i in range(101)
    )

    assert ["b", "a"] == [rule.id for rule in RuleSet.loads(text, "yaml")]
    with pytest.raises(ValidationError, match="more than 100 aliases"):
        RuleSet.loads(many, "yaml")


# -- mistakes that passed silently ----------------------------------------------------------


@pytest.mark.parametrize("text", ["customer.traits.tier == 'gold'", "false", ""])
def test_text_is_not_a_condition(text: str) -> None:
    """A condition written as text would be a string, true for everyone: it is refused."""
    with pytest.raises(RuleSyntaxError) as info:
        Rule(id="gold", condition=text, actions=(Action.offer("gold-15"),))
    with pytest.raises(RuleSyntaxError, match="not text"):
        Segment(id="gold", condition=text)
    with pytest.raises(ValidationError, match=r"rules\[0\] \('gold'\)\.condition: .*not text"):
        RuleSet.from_data({"rules": [{"id": "gold", "condition": text}]})

    assert "gold" == info.value.rule_id
    assert '{"==": [{"var": "customer.traits.tier"}, "gold"]}' in str(info.value)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ([{"==": [1, 1]}, {"==": [1, 2]}], 'not an array.*{"and": \\[...\\]}'),
        ({"tier": "gold", "orders": 2}, "not {'tier': 'gold', 'orders': 2}"),
        (1, "not 1"),
        (None, "not None"),
    ],
)
def test_a_value_that_is_not_an_operation_is_not_a_condition(condition: Any, reason: str) -> None:
    """An array of conditions, an object, a number or null decide the same for everyone."""
    with pytest.raises(RuleSyntaxError, match=reason):
        Rule(id="r", condition=condition)


def test_true_false_and_operations_are_conditions() -> None:
    """What a condition may be: an operation, a builder expression, true or false."""
    for condition in (True, False, {"==": [1, 1]}, customer.traits["tier"] == "gold"):
        Rule(id="r", condition=condition)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (["c"], "actions[0]: expected an Action, got 'c'; write Action.offer('c')"),
        ("c", "actions: expected a list of actions such as (Action.offer('gold-15'),)"),
        (Action.offer("c"), "actions: expected a list of actions, got one; write (Action"),
        ([{"type": "offer", "id": "c"}], "actions[0]: expected an Action, got {'type'"),
    ],
)
def test_actions_must_be_actions(actions: Any, message: str) -> None:
    """A rule's actions are `Action`s: a string or a dict is refused, saying what to write."""
    with pytest.raises(ValidationError) as info:
        Rule(id="r", actions=actions)

    assert info.value.errors[0].startswith(message)


def test_actions_in_a_rule_file_are_objects() -> None:
    """In a rule file, an action given as a string says how to write it as an object."""
    with pytest.raises(ValidationError) as info:
        RuleSet.from_data({"rules": [{"id": "r", "actions": ["c"]}]})

    assert (
        "rules[0] ('r').actions[0]: expected an action such as {type: offer, id: c}, got 'c'",
    ) == info.value.errors


def test_a_place_nobody_registered_is_an_error() -> None:
    """`within_km` to a store id that names no known place is an error saying how to fix it."""
    rules = RuleSet(
        [
            Rule(
                id="near-lisbon",
                condition=within_km(customer.traits["location"], "lisboa-01", 5),
                actions=(Action.content("late-opening"),),
            )
        ]
    )
    env = Env(now=NOW, places={"lisboa-1": Place(id="lisboa-1", latitude=38.7, longitude=-9.1)})

    decision = rules.decide({"customer": {"traits": {"location": [38.7, -9.1]}}}, env)

    assert Outcome.ERROR == decision.outcomes[0].outcome
    assert decision.outcomes[0].detail.startswith(
        "within_km: no place 'lisboa-01' is known (did you mean 'lisboa-1'?); known places: "
        "lisboa-1. Register it: Hub(places=[Place(id='lisboa-01', latitude=..., longitude=...)])"
    )
