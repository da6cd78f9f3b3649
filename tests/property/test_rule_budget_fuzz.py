"""
The rule budget, fuzzed: whatever the rule and the data (random, or built to run away: huge
`substr`, `cat`, `merge`, `map`, `reduce`, nesting, big numbers, deep data, shared arrays),
`jsonlogic.apply`, `RuleSet.decide`, `Decision.explain` and `RuleSet.loads` raise only
omnikit's errors, and each call ends within a generous wall-clock ceiling derived from its
work budget.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import omnikit
from omnikit.errors import OmnikitError
from omnikit.rules import Env, History, Limits, Place, Rule, RuleSet, jsonlogic
from omnikit.rules._domain import DOMAIN_OPERATIONS
from omnikit.rules._lang.runtime import bind
from oracle.jsonlogic import strategies

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LIMITS = Limits(max_work=20_000, max_length=100_000)
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ceiling(max_work: int) -> float:
    """Ten times what *max_work* units take at a slow 2 us each, and two seconds of set-up."""
    return 2.0 + 10 * max_work * 2e-6


def ends_with_omnikit(call: Callable[[], Any], max_work: int) -> Any:
    """*call*'s result or its omnikit error, after checking it ended within the ceiling."""
    started = time.monotonic()
    try:
        result = call()
    except OmnikitError as exc:
        result = exc
    elapsed = time.monotonic() - started
    assert elapsed < ceiling(max_work), f"took {elapsed:.2f} s"
    reason = str(result).rsplit("(", 1)[-1] if isinstance(result, OmnikitError) else "a value"
    event(f"{type(result).__name__}: {reason[:40]}")
    return result


# --- hostile values -------------------------------------------------------------------------

_shared: list[Any] = [1, 2]
for _ in range(40):
    _shared = [_shared, _shared]  # 2**40 leaves, shared: tiny in memory, huge when walked
_deep: Any = "leaf"
for _ in range(3000):
    _deep = {"a": [_deep]}

BIG: dict[str, Any] = {
    "ascii": "x" * 200_000,
    "astral": "\U0001f600" * 60_000,
    "mixed": "a\U0001f600\ud83d\xe9" * 20_000,
    "digits": "9" * 4000,
    "hex": "0x" + "f" * 4000,
    "list": list(range(60_000)),
    "floats": [i / 7 for i in range(20_000)],
    "strings": ["s" * 50] * 20_000,
    "shared": _shared,
    "deep": _deep,
    "dicts": [{"a": i, "b": [i]} for i in range(5000)],
    "huge_int": 10**4000,
    "big_float": 1.7e308,
}

ACC = {"var": "accumulator"}
CUR = {"var": "current"}


LISTS = ["big.list", "big.strings", "big.floats", "big.dicts", "big.shared", "big.deep"]
TEXTS = ["big.ascii", "big.astral", "big.mixed", "big.digits", "big.hex"]
PATHS = [*LISTS, *TEXTS, "big.huge_int", "big.big_float"]


def _runaway(kind: int, child: Any, which: int) -> Any:
    """A rule built to run away: its work grows with the data, or exponentially."""
    items = {"var": LISTS[which % len(LISTS)]}
    text = {"var": TEXTS[which % len(TEXTS)]}
    anything = {"var": PATHS[which % len(PATHS)]}
    square = [1] * 60
    return [
        {"reduce": [items, {"cat": [ACC, ACC]}, "ab"]},
        {"reduce": [items, {"merge": [ACC, ACC]}, [1]]},
        {"reduce": [items, [ACC, ACC], []]},
        {"reduce": [items, {"substr": [{"cat": [ACC, ACC, child]}, 0, 5_000_000]}, "\U0001f600"]},
        {"reduce": [items, {"cat": [ACC, {"substr": [CUR, 1]}]}, text]},
        {"map": [items, {"map": [square, {"map": [square, child]}]}]},
        {"filter": [items, {"some": [square, {"in": [child, {"var": ""}]}]}]},
        {"all": [items, {"!": {"!": child}}]},
        {"map": [items, {"missing": [{"var": ""}, child]}]},
        {"substr": [text, child, -1]},
        {"in": [child, anything]},
        {"cat": [text, anything, text, child]},
        {"==": [anything, child]},
        {"<": [anything, anything]},
        {"+": [anything, child, text]},
        {"*": [text, anything]},
        {"merge": [items] * 50},
        {"missing": [anything]},
        {"missing_some": [1, anything]},
        {"var": {"cat": [text, ".", child]}},
        {"count_events": [anything, child]},
        {"within_km": [anything, child, text]},
        {"days_since": text},
        {"log": anything},
    ][kind % 24]


def _nest(depth: int, child: Any) -> Any:
    for _ in range(depth):
        child = {"!!": [child]}
    return child


def _hostile(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(_runaway, st.integers(0, 23), children, st.integers(0, 12)),
        st.builds(_runaway, st.integers(0, 23), children, st.integers(0, 12)),
        st.builds(_nest, st.integers(1, 70), children),  # deep, a few past the limit
    )


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategies._extend(children), _hostile(children), _hostile(children))


leaves = st.one_of(
    strategies.scalars,
    strategies.variables,
    st.sampled_from([f"big.{name}" for name in sorted(BIG)]).map(lambda path: {"var": path}),
)
rules = _hostile(st.recursive(leaves, _extend, max_leaves=8)) | st.recursive(
    leaves, _extend, max_leaves=8
)
"""Rules built to run away, over smaller rules of any kind (hostile ones among them)."""

data = st.one_of(strategies.data, st.just({}))
"""Random data; the tests put the hostile values at `big.*` beside it (never drawn: Hypothesis
would print them, and a shared array prints as 2**40 items)."""


def with_big(facts: Any) -> Any:
    return {**facts, "big": BIG} if isinstance(facts, dict) else facts


def _env() -> Env:
    touchpoints = [
        omnikit.Touchpoint(
            message_id=f"t{index}",
            name="Product Viewed",
            channel="web",
            occurred_at=NOW - dt.timedelta(hours=index),
            received_at=NOW,
        )
        for index in range(50)
    ]
    place = Place(id="lisboa-01", latitude=38.7, longitude=-9.1)
    return Env(now=NOW, history=History(touchpoints), places={"lisboa-01": place})


ENV = _env()


# --- the calls ------------------------------------------------------------------------------


@FUZZ
@given(rule=rules, facts=data)
def test_apply_ends_within_its_budget(rule: Any, facts: Any) -> None:
    """`jsonlogic.apply()` on any rule and data: a value or an omnikit error, in time."""
    ends_with_omnikit(
        lambda: jsonlogic.apply(
            rule,
            with_big(facts),
            operations=bind(DOMAIN_OPERATIONS, ENV),
            max_work=LIMITS.max_work,
            max_length=LIMITS.max_length,
        ),
        LIMITS.max_work,
    )


def _condition(rule: Any) -> Any:
    return rule if isinstance(rule, dict) and len(rule) == 1 else {"!!": [rule]}


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet | OmnikitError:
    conditions = draw(st.lists(rules, min_size=1, max_size=3))
    scores = draw(st.lists(st.one_of(st.none(), rules), min_size=len(conditions)))
    strategy = draw(st.sampled_from(["all_matches", "first_match", "best_score"]))
    try:
        return RuleSet(
            [
                Rule(id=f"r{index}", condition=_condition(condition), score=score)
                for index, (condition, score) in enumerate(zip(conditions, scores, strict=False))
            ],
            strategy=strategy,
            limits=LIMITS,
        )
    except OmnikitError as exc:  # a rule past its own size or depth: refused, as it should be
        return exc


@FUZZ
@given(ruleset=rule_sets(), facts=data)
def test_decide_and_explain_end_within_their_budget(
    ruleset: RuleSet | OmnikitError, facts: Any
) -> None:
    """
    `RuleSet.decide()` and `Decision.explain()` (and its text): a decision or an omnikit
    error, each call within the ceiling of every rule's budget.
    """
    if isinstance(ruleset, OmnikitError):
        return
    budget = LIMITS.max_work * (1 + len(ruleset.rules))  # conditions, and scores
    data = {"customer": facts, "event": {"name": "Product Viewed"}, "context": facts, "big": BIG}

    decision = ends_with_omnikit(lambda: ruleset.decide(data, ENV, customer_id="c1"), budget)

    if not isinstance(decision, OmnikitError):
        for outcome in decision.outcomes:
            event(f"outcome {outcome.outcome.value}: {outcome.detail.rsplit('(', 1)[-1][:30]}")
        explanation = ends_with_omnikit(decision.explain, budget)
        ends_with_omnikit(lambda: str(explanation), budget)


def _hostile_text(kind: int, depth: int, rule: Any) -> tuple[str, str]:
    """Rule-file text built to be slow or deep to read, in JSON or YAML."""
    body = json.dumps({"rules": [{"id": "r", "condition": _condition(rule)}]})
    if kind == 0:
        return "[" * depth * 1000 + "]" * depth * 1000, "json"
    if kind == 1:
        return '{"rules": [' * depth * 100, "json"
    if kind == 2:
        laughs = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        laughs += [
            f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, depth % 12 + 1)
        ]
        return "\n".join(
            laughs
        ) + f"\nrules: [{{id: r, condition: {{in: [lol, *l{depth % 12}]}}}}]", "yaml"
    if kind == 3:
        return "rules: [{id: r, condition: {'==': [1, &a {x: [*a], y: 1}]}}]", "yaml"
    if kind == 4:
        return "[" * depth * 20 + "]" * depth * 20, "yaml"
    if kind == 5:
        return yaml.safe_dump(json.loads(body)), "yaml"
    return body, "json"


texts = st.one_of(
    st.builds(_hostile_text, st.integers(0, 6), st.integers(1, 130), rules),
    st.tuples(st.text(max_size=200), st.sampled_from(["json", "yaml"])),
)


@FUZZ
@given(text_format=texts)
def test_loads_ends_within_its_budget(text_format: tuple[str, str]) -> None:
    """`RuleSet.loads()` on any text, hostile or random: a rule set or an omnikit error."""
    text, form = text_format
    ends_with_omnikit(lambda: RuleSet.loads(text, form, limits=LIMITS), LIMITS.max_work)
