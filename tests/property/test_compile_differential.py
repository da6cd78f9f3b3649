"""
Compiled conditions give exactly what the JsonLogic interpreter gives: values, errors, limits.

`compile_condition(node, operations)(data, env)` is checked against
`jsonlogic.apply(to_jsonlogic(node), data, operations=bind(operations, env))` on random rules
(every operation, nested logic, arrays with logic, custom operations) and random data (nulls,
booleans, -0.0, NaN-making arithmetic, numeric strings, nested lists and objects, missing
paths, objects with their own `toString`); `compile_many()` against conditions compiled one
by one; and compiled rule sets against decisions made with the interpreter.

Set OMNIKIT_DIFFERENTIAL_SCALE (e.g. 50) to run that many times more examples.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import omnikit
from omnikit.errors import OmnikitError, RuleError, RuleLimitError, RuleSyntaxError
from omnikit.rules import (
    Action,
    Cap,
    Env,
    Experiment,
    History,
    Limits,
    Outcome,
    Rule,
    RuleSet,
    Strategy,
    Variant,
    from_jsonlogic,
    jsonlogic,
    to_jsonlogic,
)
from omnikit.rules._domain import DOMAIN_OPERATIONS
from omnikit.rules._lang import compiler
from omnikit.rules._lang import js as _js
from omnikit.rules._lang.compiler import bind, compile_condition, compile_many, generated_source
from omnikit.rules._rules import Chosen, Decision, RuleOutcome, _for_rule, _used
from oracle.jsonlogic import strategies as values

SCALE = int(os.environ.get("OMNIKIT_DIFFERENTIAL_SCALE", "1"))
NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def examples(count: int) -> settings:
    return settings(
        max_examples=count * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- custom operations: they get the env first --------------------------------------------


def echo(env: Env, *arguments: Any) -> Any:
    return [env.timezone, *arguments]


def boom(_env: Env, *_arguments: Any) -> Any:
    raise ValueError("boom")


def refuse(_env: Env, *_arguments: Any) -> Any:
    raise RuleError("refused")


def count(_env: Env, *arguments: Any) -> Any:
    return len(arguments)


CUSTOM: dict[str, Callable[..., Any]] = {
    **DOMAIN_OPERATIONS,
    "echo": echo,
    "boom": boom,
    "refuse": refuse,
    "count": count,
}
ENV = Env(now=NOW, timezone="Europe/Paris", segments=frozenset({"vip"}))


# --- comparing answers ------------------------------------------------------------------------


def same(expected: Any, actual: Any) -> bool:
    """Equal as JSON values, strictly: types, -0.0, NaN; errors by type, message and path."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        if expected != expected:  # NaN
            return actual != actual
        return expected == actual and math.copysign(1, expected) == math.copysign(1, actual)
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(
            same(expected[key], actual[key]) for key in expected
        )
    if isinstance(expected, BaseException):
        return (
            str(expected) == str(actual)
            and getattr(expected, "path", None) == getattr(actual, "path", None)
            and type(expected.__cause__) is type(actual.__cause__)
        )
    return bool(expected == actual)


def answer(run: Callable[[], Any]) -> Any:
    """The value, or the omnikit error; any other exception fails the test."""
    try:
        return run()
    except OmnikitError as exc:
        return exc


def node_of(rule: Any) -> Any:
    try:
        return from_jsonlogic(rule, operations=None)
    except RuleLimitError:
        assume(False)
        raise


def interpreted(node: Any, data: Any, operations: Mapping[str, Any] = CUSTOM) -> Any:
    return answer(
        lambda: jsonlogic.apply(to_jsonlogic(node), data, operations=bind(operations, ENV))
    )


def compiled(node: Any, data: Any, operations: Mapping[str, Any] = CUSTOM) -> Any:
    return answer(lambda: compile_condition(node, operations)(data, ENV))


def assert_same(rule: Any, data: Any, operations: Mapping[str, Any] = CUSTOM) -> None:
    node = node_of(rule)
    expected = interpreted(node, data, operations)
    actual = compiled(node, data, operations)
    assert same(expected, actual), (rule, data, expected, actual)


# --- strategies -------------------------------------------------------------------------------

CUSTOM_NAMES = ["echo", "boom", "refuse", "count", "in_segment", "days_since", "local_hour"]


def _with_custom(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    custom = st.builds(
        values._operation,
        st.sampled_from(CUSTOM_NAMES),
        st.lists(children, max_size=3),
        st.booleans(),
    )
    return st.one_of(values._extend(children), values._extend(children), custom)


rules = _with_custom(
    st.recursive(
        st.one_of(values.scalars, values.variables, values.variables), _with_custom, max_leaves=10
    )
)
"""Rules over every operation, custom ones too, nested a few levels."""

# Rule-set-shaped conditions: paths compared with literals, combined with and/or/!/if.
RULE_PATHS = [
    "customer.tier",
    "customer.orders",
    "customer.flags.vip",
    "customer.orders.0",
    "event.name",
    "event.price",
    "context.channel",
    "tags",
    "tags.length",
    "",
]
literals = st.one_of(
    st.sampled_from(["gold", "silver", "", "1", "A", "B", "web", "0x10", " 2 "]),
    st.sampled_from([0, 1, 2, 2.5, -0.0, 10, 2**53, 2**53 + 1, 1e300, True, False, None]),
    st.integers(-5, 12),
)
rule_paths = st.sampled_from(RULE_PATHS)


def _compare(operator: str, path: str, literal: Any, flip: bool, default: Any) -> Any:
    read = {"var": path} if default is None else {"var": [path, default]}
    return {operator: [literal, read] if flip else [read, literal]}


atoms = st.one_of(
    st.builds(
        _compare,
        st.sampled_from(["==", "!=", "===", "!==", "<", "<=", ">", ">="]),
        rule_paths,
        literals,
        st.booleans(),
        st.sampled_from([None, None, None, 0, "x"]),
    ),
    st.builds(
        lambda path, items: {"in": [{"var": path}, items]},
        rule_paths,
        st.lists(st.sampled_from(["web", "app", "A", "gold", "1"]), min_size=1, max_size=3),
    ),
    st.builds(lambda path: {"var": path}, rule_paths),
)


def _combine(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda items: {"and": items}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda items: {"or": items}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda item: {"!": item}, children),
        st.builds(lambda items: {"if": items}, st.lists(children, min_size=1, max_size=4)),
    )


conditions = st.recursive(atoms, _combine, max_leaves=6)
"""What rule sets are made of: comparisons of data paths with literals, combined."""

weird = st.one_of(values.scalars, values.json_values, st.just({"toString": 1}), st.just([1, 2]))
profiles = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "customer": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "tier": st.one_of(st.sampled_from(["gold", "silver"]), weird),
                        "orders": st.one_of(st.integers(0, 12), weird),
                        "flags": st.one_of(st.fixed_dictionaries({"vip": weird}), weird),
                    },
                ),
                weird,
            ),
            "event": st.one_of(
                st.fixed_dictionaries(
                    {"name": st.one_of(st.sampled_from(["A", "B", "C"]), weird)},
                    optional={"price": st.one_of(st.floats(0, 300), weird)},
                ),
                weird,
            ),
            "context": st.fixed_dictionaries({}, optional={"channel": weird}),
            "tags": weird,
        },
    ),
    weird,
)
"""Profiles as rule sets read them, with odd values anywhere."""

any_data = st.one_of(values.data, profiles)


# --- compile_condition() against apply() ----------------------------------------------------


@examples(1200)
@given(rules, any_data)
def test_compiled_rules_equal_the_interpreter(rule: Any, data: Any) -> None:
    """Any rule, with custom operations, on any data: the same value or the same error."""
    assert_same(rule, data)


@examples(500)
@given(conditions, profiles)
def test_compiled_rule_set_conditions_equal_the_interpreter(rule: Any, data: Any) -> None:
    """Comparisons of data paths with literals, and/or/!/if: the fast paths agree."""
    assert_same(rule, data)


@examples(300)
@given(values.coercions)
def test_compiled_coercions_equal_the_interpreter(case: tuple[Any, Any]) -> None:
    """One operation over scalars, small arrays and variables: JavaScript's coercions."""
    assert_same(*case)


@examples(300)
@given(values.arithmetic)
def test_compiled_arithmetic_equals_the_interpreter(case: tuple[Any, Any]) -> None:
    """Arithmetic, number formatting and parsing over floats and numeric strings."""
    assert_same(*case)


@examples(200)
@given(values.unknown_operations_and_data)
def test_unknown_operations_raise_as_the_interpreter_does(case: tuple[Any, Any]) -> None:
    """An unknown operation raises RuleSyntaxError with the same path, after its arguments."""
    assert_same(*case)


@examples(200)
@given(values.rules_and_data)
def test_compiled_rules_without_operations_equal_the_interpreter(case: tuple[Any, Any]) -> None:
    """With no custom operations at all, as `compile_condition(node, {})` is often used."""
    assert_same(*case, operations={})


def _replacing(name: str) -> Callable[..., Any]:
    def operation(env: Env, *arguments: Any) -> Any:
        return [name, env.timezone, *arguments]

    return operation


REPLACING = {name: _replacing(name) for name in ("var", "missing", "==", "+", "if", "merge")}
"""Custom operations under JsonLogic's names: they replace plain ones, never the forms."""


@examples(200)
@given(values.rules_and_data)
def test_custom_operations_replace_plain_ones_as_in_the_interpreter(case: tuple[Any, Any]) -> None:
    """`var`, `missing`, `==`, `+` given as operations replace JsonLogic's; `if` does not."""
    assert_same(*case, operations=REPLACING)


def test_conformance_suite_through_the_compiler(jsonlogic_suite: Path) -> None:
    """Every case of the official JsonLogic suite gives the interpreter's answer, compiled."""
    entries = json.loads(jsonlogic_suite.read_text("utf-8"))
    cases = [entry for entry in entries if not isinstance(entry, str)]
    for rule, data, _expected in cases:
        node = node_of(rule)
        expected = interpreted(node, data, {})
        assert same(expected, compiled(node, data, {})), rule
        held, failed = compile_many([node], {})(data, None)
        assert ([0] if _js.truthy(expected) else []) == held, rule
        assert [] == failed


# --- limits, fallbacks and the source ---------------------------------------------------------


@examples(600)
@given(rules, any_data, st.integers(1, 400), st.sampled_from([2, 8, 64, 1000]))
def test_compiled_rules_count_work_as_the_interpreter(
    rule: Any, data: Any, max_work: int, max_length: int
) -> None:
    """
    With a small budget, the compiled condition stops exactly where the interpreter stops:
    both count the same work, by size, and refuse the same long values.
    """
    node = node_of(rule)
    limits = Limits(max_work=max_work, max_length=max_length)
    expected = answer(
        lambda: jsonlogic.apply(
            to_jsonlogic(node),
            data,
            operations=bind(CUSTOM, ENV),
            max_work=max_work,
            max_length=max_length,
        )
    )
    actual = answer(lambda: compile_condition(node, CUSTOM, limits)(data, ENV))
    many = answer(lambda: compile_many([node], CUSTOM, limits)(data, ENV))

    assert same(expected, actual), (rule, data, expected, actual)
    if isinstance(expected, OmnikitError):
        assert ([], [type(expected)]) == (many[0], [type(e) for _, e in many[1]])
    else:
        assert (([0] if _js.truthy(expected) else []), []) == many


def test_work_limit_is_kept() -> None:
    """Iterating over big data stops with RuleLimitError where the interpreter stops."""
    rule = {"reduce": [{"var": "big"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}
    data = {"big": list(range(400_000))}

    expected = interpreted(from_jsonlogic(rule), data)
    actual = compiled(from_jsonlogic(rule), data)

    assert isinstance(actual, RuleLimitError)
    assert same(expected, actual)


def test_string_length_limit_is_kept() -> None:
    """`cat` refuses to build a string over 2**24 code units, compiled too."""
    rule = {"cat": [{"var": "s"}, {"var": "s"}]}
    data = {"s": "x" * 2**23 + "y"}

    assert same(interpreted(from_jsonlogic(rule), data), compiled(from_jsonlogic(rule), data))
    assert isinstance(compiled(from_jsonlogic(rule), data), RuleLimitError)


def test_nested_iteration_is_bounded() -> None:
    """Maps nested 30 deep over two items each would be 2**30 steps: the work limit ends it."""
    rule: Any = {"var": ""}
    for _ in range(30):
        rule = {"map": [[1, 2], rule]}

    assert isinstance(compiled(from_jsonlogic(rule), {}), RuleLimitError)
    assert same(interpreted(from_jsonlogic(rule), {}), compiled(from_jsonlogic(rule), {}))


def test_custom_operations_get_the_env_and_their_failures_become_rule_errors() -> None:
    """A custom operation is called with the env first; a foreign exception becomes RuleError."""
    seen: list[Any] = []

    def spy(env: Any, *arguments: Any) -> Any:
        seen.append((env, arguments))
        return True

    node = from_jsonlogic({"and": [{"spy": [1, {"var": "a"}]}, {"boom": []}]}, operations=None)
    env = object()
    error = answer(lambda: compile_condition(node, {"spy": spy, "boom": boom})({"a": 2}, env))

    assert [(env, (1, 2))] == seen
    assert isinstance(error, RuleError)
    assert "operation 'boom' failed: ValueError('boom')" == str(error)
    assert isinstance(error.__cause__, ValueError)


def test_deep_rules_run_in_the_interpreter() -> None:
    """A condition nested deeper than the compiler takes still gives the interpreter's answer."""
    rule: Any = {"var": "a"}
    for index in range(40):
        rule = {"==": [rule, index % 2 == 0]} if index % 3 else {"!": rule}
    node = from_jsonlogic(rule)

    for data in ({"a": 1}, {"a": "x"}, {}):
        assert same(interpreted(node, data), compiled(node, data))
        assert ([0] if _js.truthy(interpreted(node, data)) else []) == compile_many([node], {})(
            data, None
        )[0]


def test_a_condition_python_cannot_compile_runs_in_the_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past what Python's parser takes, compile_many lets the interpreter run that condition."""
    monkeypatch.setattr(compiler, "_MAX_COMPILED_DEPTH", 1000)
    rule: Any = {"var": "a"}
    for _ in range(60):
        rule = {"==": [rule, {"var": "b"}]}
    deep = from_jsonlogic(rule)
    plain = from_jsonlogic({"==": [{"var": "a"}, 1]})

    run = compile_many([plain, deep, plain], {})

    for data in ({"a": 1, "b": True}, {"a": 2, "b": False}, {}):
        expected = [
            i for i, n in enumerate([plain, deep, plain]) if _js.truthy(interpreted(n, data, {}))
        ]
        assert (expected, []) == run(data, None)


def test_rule_values_never_enter_the_source() -> None:
    """Strings, numbers, paths and operation names are constants, never source text."""
    sneaky = "'); import os; os.system('echo pwned'); ('"
    rule = {
        "and": [
            {"==": [{"var": f"zqx.{sneaky}"}, sneaky]},
            {"in": [sneaky, [sneaky, "x"]]},
            {sneaky: [1]},
            {"<": [{"var": "n"}, 12345.678]},
        ]
    }
    node = from_jsonlogic(rule, operations=None)

    for source in (generated_source(node, {}), generated_source([node, node], {})):
        assert sneaky not in source
        assert "12345" not in source
        assert "zqx" not in source


def test_compile_many_lists_given_items() -> None:
    """`run(data, env, items)` lists the items of the conditions that hold instead of indices."""
    nodes = [from_jsonlogic({"<": [{"var": "n"}, limit]}) for limit in (1, 5, 10)]
    run = compile_many(nodes, {})

    assert ([1, 2], []) == run({"n": 3}, None)
    assert (["five", "ten"], []) == run({"n": 3}, None, ["one", "five", "ten"])


# --- compile_many() against one by one --------------------------------------------------------


def one_by_one(nodes: list[Any], data: Any) -> tuple[list[int], list[tuple[int, str]]]:
    held: list[int] = []
    failed: list[tuple[int, str]] = []
    for index, node in enumerate(nodes):
        value = compiled(node, data)
        if isinstance(value, OmnikitError):
            failed.append((index, f"{type(value).__name__}: {value}"))
        elif _js.truthy(value):
            held.append(index)
    return held, failed


@examples(400)
@given(st.lists(st.one_of(conditions, conditions, rules), min_size=1, max_size=8), any_data)
def test_compile_many_equals_conditions_one_by_one(batch: list[Any], data: Any) -> None:
    """Held and failed conditions are those of each compiled alone, a broken one included."""
    nodes = [node_of(rule) for rule in batch]

    held, failed = compile_many(nodes, CUSTOM)(data, ENV)

    assert one_by_one(nodes, data) == (
        held,
        [(index, f"{type(error).__name__}: {error}") for index, error in failed],
    )
    assert all(isinstance(error, OmnikitError) for _, error in failed)


def test_compile_many_reports_each_broken_condition() -> None:
    """Raising conditions are reported with their exception; the others still run."""
    nodes = [
        from_jsonlogic(rule, operations=None)
        for rule in (
            {"==": [{"var": "a"}, 1]},
            {"boom": []},
            {"*": []},
            {"nope": [1]},
            {"!": {"var": "a"}},
        )
    ]

    held, failed = compile_many(nodes, CUSTOM)({"a": 1}, ENV)

    assert [0] == held
    assert [1, 2, 3] == [index for index, _ in failed]
    assert "operation 'boom' failed: ValueError('boom')" == str(failed[0][1])
    assert isinstance(failed[1][1], RuleError)
    assert isinstance(failed[2][1], RuleSyntaxError)
    assert "" == failed[2][1].path


def test_comparisons_that_raise_fall_back_to_each_condition() -> None:
    """Data that makes a shared comparison raise still gives each condition its own answer."""
    nodes = [
        from_jsonlogic(rule)
        for rule in (
            {"==": [{"var": "a"}, "x"]},
            {"or": [{"==": [{"var": "b"}, 1]}, {"==": [{"var": "a"}, "x"]}]},
            {"==": [{"var": "b"}, 1]},
        )
    ]
    run = compile_many(nodes, {})

    held, failed = run({"a": {"toString": 1}, "b": 1}, None)

    assert [1, 2] == held
    assert [0] == [index for index, _ in failed]
    assert "cannot convert an object with its own 'toString' to a primitive value" == str(
        failed[0][1]
    )


# --- rule sets: compiled decisions against the interpreter's ----------------------------------


def _decision_channel(data: Mapping[str, Any]) -> Any:
    """`context.channel`, which the index also filters on (`None` when there is none)."""
    context = data.get("context")
    return context.get("channel") if isinstance(context, Mapping) else None


def reference_decide(
    ruleset: RuleSet,
    data: Mapping[str, Any],
    env: Env,
    *,
    customer_id: str | None = None,
    limit: int | None = None,
    indexed: bool = True,
) -> Decision:
    """decide() as it was before compilation: rule by rule, with the interpreter."""
    event = data.get("event")
    name = event.get("name") if isinstance(event, Mapping) else None
    name = name if isinstance(name, str) else None
    pool = ruleset.candidates(name, _decision_channel(data)) if indexed else list(ruleset.rules)
    operations = bind(ruleset.operations, env)
    now = env.now
    outcomes: list[RuleOutcome] = []
    chosen: list[Chosen] = []
    groups: set[str] = set()
    first_match = ruleset.strategy is Strategy.FIRST_MATCH
    for rule in pool:
        if first_match and chosen:
            outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.NOT_NEEDED))
            continue
        if (rule.starts_at is not None and now < rule.starts_at) or (
            rule.ends_at is not None and now >= rule.ends_at
        ):
            outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.OUTSIDE_WINDOW))
            continue
        try:
            held = _js.truthy(
                jsonlogic.apply(to_jsonlogic(rule.condition), data, operations=operations)
            )
        except OmnikitError as exc:
            outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.ERROR, detail=str(exc)))
            continue
        if not held:
            outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.NOT_MATCHED))
            continue
        if rule.group is not None and rule.group in groups:
            outcomes.append(
                RuleOutcome(rule_id=rule.id, outcome=Outcome.GROUP_TAKEN, detail=rule.group)
            )
            continue
        if rule.cap is not None and _used(env, rule, now) >= rule.cap.times:
            detail = f"{rule.cap.times} in {rule.cap.days:g} days"
            outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.CAPPED, detail=detail))
            continue
        actions = rule.actions
        variant_id = None
        if rule.experiment is not None:
            variant = rule.experiment.assign(customer_id or "")
            if variant is None:
                outcomes.append(
                    RuleOutcome(rule_id=rule.id, outcome=Outcome.HOLDOUT, detail=rule.experiment.id)
                )
                if rule.group is not None:
                    groups.add(rule.group)
                continue
            variant_id = variant.id
            actions = variant.actions or actions
        score = float(rule.priority)
        if rule.score is not None:
            try:
                raw = _js.to_number(
                    jsonlogic.apply(to_jsonlogic(rule.score), data, operations=operations)
                )
            except OmnikitError as exc:  # the error names the rule and its score
                raise _for_rule(exc, rule.id, "score") from exc
            score = raw if raw == raw else float("-inf")
        if rule.group is not None:
            groups.add(rule.group)
        chosen.append(Chosen(rule_id=rule.id, actions=actions, score=score, variant=variant_id))
        outcomes.append(RuleOutcome(rule_id=rule.id, outcome=Outcome.CHOSEN, variant=variant_id))
    if ruleset.strategy is Strategy.BEST_SCORE:
        chosen.sort(key=lambda c: -c.score)
    if limit is not None and len(chosen) > limit:
        dropped = {c.rule_id for c in chosen[limit:]}
        chosen = chosen[:limit]
        outcomes = [
            attrs.evolve(o, outcome=Outcome.NOT_NEEDED, detail=f"beyond limit {limit}")
            if o.rule_id in dropped
            else o
            for o in outcomes
        ]
    return Decision(
        customer_id=customer_id,
        event=name,
        at=now,
        strategy=ruleset.strategy,
        chosen=tuple(chosen),
        outcomes=tuple(outcomes),
        _ruleset=ruleset,
        _data=data,
        _env=env,
    )


def _rule(  # noqa: PLR0917 - one argument per thing a rule can have
    index: int,
    condition: Any,
    event: str | None,
    priority: int,
    window: int,
    group: str | None,
    cap: int,
    experiment: int,
    score: Any,
) -> Rule:
    if event is not None:
        condition = {"and": [{"==": [{"var": "event.name"}, event]}, condition]}
    elif not (isinstance(condition, bool) or (isinstance(condition, dict) and len(condition) == 1)):
        condition = {"!!": [condition]}  # a rule's condition is an operation: the same test
    return Rule(
        id=f"r{index}",
        condition=condition,
        actions=(Action.tag(f"t{index}"),),
        priority=priority,
        starts_at=NOW + dt.timedelta(days=1) if window == 1 else None,
        ends_at=NOW - dt.timedelta(days=1) if window == 2 else (NOW if window == 3 else None),
        group=group,
        cap=Cap(times=cap, days=7) if cap else None,
        experiment=(
            Experiment(id=f"e{index}", holdout=0.5, variants=(Variant(id="a"), Variant(id="b")))
            if experiment
            else None
        ),
        score=score,
    )


def _rules(draw: st.DrawFn, plain: bool) -> list[Rule]:
    specs = draw(
        st.lists(
            st.tuples(st.one_of(conditions, conditions, rules), st.sampled_from(["A", "B", None])),
            min_size=1,
            max_size=8,
        )
    )
    made = []
    for index, (condition, event) in enumerate(specs):
        if plain:
            made.append(_rule(index, condition, event, 0, 0, None, 0, 0, None))
            continue
        made.append(
            _rule(
                index,
                condition,
                event,
                draw(st.integers(-1, 1)),
                draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
                draw(st.sampled_from([None, None, "g1", "g2"])),
                draw(st.sampled_from([0, 0, 1, 2])),
                draw(st.sampled_from([0, 0, 1])),
                draw(st.sampled_from([None, None, {"var": "customer.orders"}, {"boom": []}, 3])),
            )
        )
    return made


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    rules_ = _rules(draw, plain=draw(st.booleans()))
    strategy = draw(st.sampled_from(list(Strategy)))
    operations = {"echo": echo, "boom": boom, "refuse": refuse, "count": count}
    return RuleSet(rules_, strategy=strategy, operations=operations)


def _history(rule_ids: list[str]) -> History:
    return History(
        omnikit.Touchpoint(
            message_id=f"d{index}",
            name="Decision Made",
            channel="web",
            occurred_at=NOW - dt.timedelta(days=index % 3),
            received_at=NOW,
            properties={"rules": rule_ids},
        )
        for index in range(2)
    )


def reference_matching(ruleset: RuleSet, data: Any, env: Env, *, indexed: bool) -> list[str]:
    """matching() as it was: the rules whose condition holds, a raising one does not."""
    event = data.get("event")
    name = event.get("name") if isinstance(event, dict) else None
    pool = (
        ruleset.candidates(name if isinstance(name, str) else None, _decision_channel(data))
        if indexed
        else ruleset.rules
    )
    operations = bind(ruleset.operations, env)
    held = []
    for rule in pool:
        logic = to_jsonlogic(rule.condition)
        value = answer(lambda logic=logic: jsonlogic.apply(logic, data, operations=operations))
        if not isinstance(value, OmnikitError) and _js.truthy(value):
            held.append(rule.id)
    return held


@examples(200)
@given(
    rule_sets(),
    profiles,
    st.sampled_from([None, "c1", "c2", "c3"]),
    st.sampled_from([None, None, 0, 1, 2]),
    st.booleans(),
)
def test_decisions_equal_the_interpreters(
    ruleset: RuleSet, data: Any, customer_id: str | None, limit: int | None, indexed: bool
) -> None:
    """
    Chosen rules, scores, variants and every outcome: as deciding rule by rule did.

    And matching() lists the rules whose condition holds, as it did.
    """
    assume(isinstance(data, dict))
    env = Env(now=NOW, timezone="Europe/Paris", history=_history(["r0", "r1", "r2"]))

    assert reference_matching(ruleset, data, env, indexed=indexed) == ruleset.matching(
        data, env, indexed=indexed
    )

    expected = answer(
        lambda: reference_decide(
            ruleset, data, env, customer_id=customer_id, limit=limit, indexed=indexed
        )
    )
    actual = answer(
        lambda: ruleset.decide(data, env, customer_id=customer_id, limit=limit, indexed=indexed)
    )

    if isinstance(expected, OmnikitError):  # a score condition that raised
        assert same(expected, actual)
        return
    assert expected == actual
    assert expected.outcomes == actual.outcomes
    assert repr(expected) == repr(actual)
    assert expected == attrs.evolve(actual)
    assert str(expected.explain()) == str(actual.explain())


def test_lazy_outcomes_read_like_any_others() -> None:
    """A decision's outcomes, made when first read, compare, print and evolve as usual."""
    rules = RuleSet(
        [Rule(id=f"r{i}", condition={">": [{"var": "n"}, i]}) for i in range(5)],
        strategy="first_match",
    )

    decision = rules.decide({"n": 2}, ENV)
    again = rules.decide({"n": 2}, ENV)

    assert ("r0",) == decision.rule_ids
    assert decision == again
    assert [Outcome.CHOSEN] + [Outcome.NOT_NEEDED] * 4 == [o.outcome for o in decision.outcomes]
    assert decision.outcomes is decision.outcomes
    assert "outcomes=(RuleOutcome(rule_id='r0'" in repr(again)
    assert decision == attrs.evolve(decision, chosen=decision.chosen)
    with pytest.raises(AttributeError):
        _ = decision.nothing  # type: ignore[attr-defined]
