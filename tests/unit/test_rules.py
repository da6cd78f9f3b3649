"""The rules engine: conditions, rule sets, strategies, caps, experiments, explanations, files."""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import omnikit
import omnikit.rules._rules as rules_module
from omnikit.errors import NotFoundError, RuleLimitError, RuleSyntaxError, ValidationError
from omnikit.rules import (
    Action,
    Cap,
    Env,
    Experiment,
    History,
    Outcome,
    Place,
    Rule,
    RuleSet,
    Strategy,
    Variant,
    context,
    count_events,
    customer,
    customer_data,
    days_since,
    event,
    from_jsonlogic,
    in_segment,
    jsonlogic,
    lit,
    local_hour,
    sum_events,
    to_jsonlogic,
    var,
    within_km,
)

NOW = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def data(**customer_fields: Any) -> dict[str, Any]:
    who = {"id": "c1", "traits": {}, "stats": {"orders": 0}, "segments": []}
    who.update(customer_fields)
    return {"customer": who, "event": None, "context": {}}


def tp(name: str, days_ago: float, **properties: Any) -> omnikit.Touchpoint:
    at = NOW - dt.timedelta(days=days_ago)
    return omnikit.Touchpoint(
        message_id=f"{name}-{days_ago}",
        name=name,
        channel="web",
        occurred_at=at,
        received_at=at,
        properties=properties,
    )


# -- conditions ----------------------------------------------------------------------------


def test_the_builder_writes_jsonlogic() -> None:
    """Python expressions become the JsonLogic a browser query builder would export."""
    condition = (customer.traits["tier"] == "gold") & (
        event.name.is_in(["Product Viewed", "Cart Viewed"])
    ) | ~(customer.stats.orders > 3)

    assert {
        "or": [
            {
                "and": [
                    {"==": [{"var": "customer.traits.tier"}, "gold"]},
                    {"in": [{"var": "event.name"}, ["Product Viewed", "Cart Viewed"]]},
                ]
            },
            {"!": {">": [{"var": "customer.stats.orders"}, 3]}},
        ]
    } == condition.to_jsonlogic()


def test_jsonlogic_and_the_model_convert_both_ways() -> None:
    """JsonLogic → model → JsonLogic gives the canonical rule back."""
    logic = {
        "and": [
            {"<": [1, {"var": "x"}, 5]},
            {"!": [{"var": "y"}]},
            {"cat": ["a", [1, {"var": "z"}]]},
        ]
    }

    node = from_jsonlogic(logic)

    assert {
        "and": [{"<": [1, {"var": "x"}, 5]}, {"!": {"var": "y"}}, {"cat": ["a", [1, {"var": "z"}]]}]
    } == to_jsonlogic(node)
    assert from_jsonlogic(to_jsonlogic(node)) == node


def test_python_truthiness_is_refused() -> None:
    """`and`/`or`/`not` on conditions would silently lose them: it raises instead."""
    with pytest.raises(TypeError, match="combine with &"):
        bool(customer.traits["tier"] == "gold")


def test_bad_rules_name_the_path() -> None:
    """Unknown operations, deep nesting and huge rules are refused with the place."""
    with pytest.raises(RuleSyntaxError) as info:
        from_jsonlogic({"and": [{"==": [1, 1]}, {"frobnicate": [1]}]})
    deep: Any = 1
    for _ in range(100):
        deep = {"!": deep}

    assert "and[1].frobnicate" == info.value.path
    with pytest.raises(RuleLimitError, match="nested deeper than 64"):
        from_jsonlogic(deep)
    with pytest.raises(RuleLimitError, match="more than 10000 nodes"):
        from_jsonlogic({"and": [{"==": [1, 1]}] * 5000})


def test_a_rule_too_big_or_not_json_names_the_rule_and_the_part() -> None:
    """Built in Python, a rule that breaks a limit or holds a non-JSON value says which."""
    huge = {"and": [{"==": [1, 1]}] * 5000}

    with pytest.raises(RuleLimitError, match="rule 'big': condition: rule has more") as limit:
        Rule(id="big", condition=huge)
    with pytest.raises(RuleLimitError, match="rule 'big-score': score: rule has more"):
        Rule(id="big-score", score=huge)
    with pytest.raises(RuleSyntaxError) as syntax:
        Rule(id="odd", condition={"==": [{"var": "x"}, object()]})

    assert "big" == limit.value.rule_id
    assert ("odd", "condition.==[1]") == (syntax.value.rule_id, syntax.value.path)


def test_a_rule_file_reports_each_problem_once() -> None:
    """A condition over the size limit is one line of the error, not two."""
    data = {"rules": [{"id": "big", "condition": {"and": [{"==": [1, 1]}] * 5000}}]}

    with pytest.raises(ValidationError) as info:
        RuleSet.from_data(data)

    assert ("rules[0] ('big').condition: rule has more than 10000 nodes",) == info.value.errors


def test_domain_operations() -> None:
    """Recency, windowed counts and sums, segments, distance and local time."""
    history = History(
        [
            tp("Order Completed", 3, total=50),
            tp("Order Completed", 40, total=70),
            tp("Product Viewed", 1),
        ]
    )
    env = Env(
        now=NOW,
        timezone="Asia/Tokyo",
        history=history,
        segments=frozenset({"vip"}),
        places={"lisboa": Place(id="lisboa", latitude=38.7223, longitude=-9.1393)},
    )
    rules = RuleSet(
        [
            Rule(id="recent", condition=days_since(var("customer.stats.last_seen")) < 2),
            Rule(id="two-orders", condition=count_events("Order Completed") == 2),
            Rule(id="one-recent-order", condition=count_events("Order Completed", days=30) == 1),
            Rule(id="spent", condition=sum_events("Order Completed", "total") == 120),
            Rule(id="vip", condition=in_segment("vip")),
            Rule(id="near", condition=within_km(context.location, "lisboa", 5)),
            Rule(id="far", condition=within_km([41.1579, -8.6291], "lisboa", 5)),
            Rule(id="evening-in-tokyo", condition=local_hour() == 18),
        ]
    )
    facts = data(stats={"last_seen": (NOW - dt.timedelta(hours=20)).isoformat()})
    facts["context"] = {"location": {"latitude": 38.71, "longitude": -9.14}}

    decision = rules.decide(facts, env)

    assert {
        "recent",
        "two-orders",
        "one-recent-order",
        "spent",
        "vip",
        "near",
        "evening-in-tokyo",
    } == set(decision.rule_ids)


# -- rule sets -----------------------------------------------------------------------------


def offers() -> list[Rule]:
    return [
        Rule(
            id="gold",
            condition=customer.traits["tier"] == "gold",
            actions=(Action.offer("gold-15"),),
            priority=10,
        ),
        Rule(
            id="big-spender",
            condition=customer.stats.revenue > 500,
            actions=(Action.offer("free-shipping"),),
            priority=5,
            score=customer.stats.revenue / 10,
        ),
        Rule(id="everyone", actions=(Action.content("newsletter"),), priority=0, score=lit(1)),
    ]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.FIRST_MATCH, ["gold"]),
        (Strategy.ALL_MATCHES, ["gold", "big-spender", "everyone"]),
        (Strategy.BEST_SCORE, ["big-spender", "gold", "everyone"]),
    ],
)
def test_strategies(strategy: Strategy, expected: list[str]) -> None:
    """First match, all matches (by priority), or best score first."""
    rules = RuleSet(offers(), strategy=strategy)

    decision = rules.decide(data(traits={"tier": "gold"}, stats={"revenue": 800}), Env(now=NOW))

    assert expected == list(decision.rule_ids)


def test_limit_keeps_the_best() -> None:
    """`limit` keeps the top rules and says why the others were left out."""
    rules = RuleSet(offers(), strategy="best_score")

    decision = rules.decide(
        data(traits={"tier": "gold"}, stats={"revenue": 800}), Env(now=NOW), limit=1
    )

    assert ("big-spender",) == decision.rule_ids
    assert {"gold": Outcome.NOT_NEEDED, "everyone": Outcome.NOT_NEEDED} == {
        o.rule_id: o.outcome for o in decision.outcomes if o.rule_id != "big-spender"
    }


def test_windows_and_groups() -> None:
    """A rule outside its dates is skipped; one rule per exclusive group."""
    rules = RuleSet(
        [
            Rule(
                id="black-friday",
                starts_at=NOW + dt.timedelta(days=20),
                actions=(Action.offer("bf"),),
                priority=9,
            ),
            Rule(id="a", group="hero", actions=(Action.content("a"),), priority=5),
            Rule(id="b", group="hero", actions=(Action.content("b"),), priority=4),
            Rule(id="c", actions=(Action.content("c"),)),
        ]
    )

    decision = rules.decide(data(), Env(now=NOW))

    assert ("a", "c") == decision.rule_ids
    assert {"black-friday": Outcome.OUTSIDE_WINDOW, "b": Outcome.GROUP_TAKEN} == {
        o.rule_id: o.outcome for o in decision.outcomes if o.rule_id in {"black-friday", "b"}
    }


def test_a_cap_counts_recorded_decisions() -> None:
    """At most N choices per period, counted from the customer's recorded decisions."""
    rule = Rule(id="welcome", actions=(Action.offer("w"),), cap=Cap(times=2, days=7))
    rules = RuleSet([rule])
    made = [
        omnikit.Touchpoint(
            message_id=f"d{i}",
            name="Decision Made",
            channel="web",
            occurred_at=NOW - dt.timedelta(days=d),
            received_at=NOW,
            properties={"rules": ["welcome"]},
        )
        for i, d in enumerate((1, 3, 10))
    ]

    once = rules.decide(data(), Env(now=NOW, history=History(made[1:])))
    twice = rules.decide(data(), Env(now=NOW, history=History(made)))

    assert ("welcome",) == once.rule_ids
    assert () == twice.rule_ids
    assert Outcome.CAPPED == twice.outcomes[0].outcome
    assert "2 in 7 days" == twice.outcomes[0].detail


def test_experiments_assign_stably_and_by_weight() -> None:
    """The same customer always gets the same arm; arms and holdout follow their shares."""
    experiment = Experiment(
        id="hero-test", holdout=0.1, variants=(Variant(id="a", weight=3), Variant(id="b", weight=1))
    )
    rules = RuleSet(
        [
            Rule(
                id="hero",
                actions=(Action.content("default"),),
                experiment=Experiment(
                    id="hero-test",
                    holdout=0.1,
                    variants=(
                        Variant(id="a", weight=3),
                        Variant(id="b", weight=1, actions=(Action.content("b"),)),
                    ),
                ),
            )
        ]
    )

    arms = Counter(
        (experiment.assign(f"cus_{i}") or Variant(id="holdout")).id for i in range(20_000)
    )
    first = rules.decide(data(), Env(now=NOW), customer_id="cus_42")
    again = rules.decide(data(), Env(now=NOW), customer_id="cus_42")

    assert first.chosen == again.chosen
    assert abs(arms["holdout"] / 20_000 - 0.10) < 0.01
    assert abs(arms["a"] / 20_000 - 0.675) < 0.015
    assert abs(arms["b"] / 20_000 - 0.225) < 0.015
    holdout_id = next(f"cus_{i}" for i in range(1000) if experiment.assign(f"cus_{i}") is None)
    b_id = next(
        f"cus_{i}" for i in range(1000) if (v := experiment.assign(f"cus_{i}")) and v.id == "b"
    )
    assert () == rules.decide(data(), Env(now=NOW), customer_id=holdout_id).actions
    assert (Action.content("b"),) == rules.decide(data(), Env(now=NOW), customer_id=b_id).actions


def test_explain_says_what_held_and_what_failed() -> None:
    """For each rule: its outcome, and each part of its condition with its value."""
    rules = RuleSet(
        [
            Rule(
                id="gold-viewer",
                condition=(customer.traits["tier"] == "gold") & (customer.stats.orders >= 2),
                actions=(Action.offer("x"),),
            ),
        ]
    )

    decision = rules.decide(data(traits={"tier": "gold"}, stats={"orders": 1}), Env(now=NOW))
    explanation = decision.explain()
    condition = explanation.rule("gold-viewer").condition

    assert Outcome.NOT_MATCHED == explanation.rule("gold-viewer").outcome
    with pytest.raises(NotFoundError, match="no rule found for 'nope'"):
        explanation.rule("nope")
    assert not condition.held
    assert [True, False] == [child.held for child in condition.children]
    assert 1 == condition.children[1].children[0].value
    text = str(explanation)
    assert "gold-viewer: not_matched" in text
    assert '✗ {">=": [{"var": "customer.stats.orders"}, 2]}  →  false' in text
    assert '✓ {"var": "customer.traits.tier"}  →  "gold"' in text


def test_the_index_evaluates_only_candidates() -> None:
    """Rules are looked up by the event that triggers them, with the same decisions."""
    rules = RuleSet(
        [
            Rule(
                id=f"r{i}",
                condition=(event.name == f"Event {i % 30}") & (customer.stats.orders > i % 5),
                actions=(Action.tag(str(i)),),
            )
            for i in range(300)
        ]
        + [Rule(id="always", condition=customer.stats.orders > 0, actions=(Action.tag("always"),))]
    )
    facts = data(stats={"orders": 3})
    facts["event"] = {"name": "Event 7"}

    indexed = rules.decide(facts, Env(now=NOW))
    full = rules.decide(facts, Env(now=NOW), indexed=False)

    assert 11 == len(rules.candidates("Event 7"))
    assert 1 == len(rules.candidates(None))
    assert indexed.rule_ids == full.rule_ids
    assert {f"r{7 + 30 * k}" for k in range(10)} | {"always"} == set(indexed.rule_ids)


def test_rule_files_round_trip_in_json_and_yaml(tmp_path: Path) -> None:
    """A rule set saves to YAML and JSON and loads back the same."""
    rules = RuleSet(
        [
            *offers(),
            Rule(
                id="exp",
                condition={"in": [{"var": "event.name"}, ["A", "B"]]},
                experiment=Experiment(id="e", holdout=0.2, variants=(Variant(id="x"),)),
                cap=Cap(times=1, days=1.5),
                ends_at=NOW,
            ),
        ],
        id="autumn",
        strategy="first_match",
    )

    for name in ("rules.yaml", "rules.json"):
        rules.save(tmp_path / name)
        loaded = RuleSet.load(tmp_path / name)
        assert rules.to_data() == loaded.to_data()
        assert list(rules) == list(loaded)
    assert "strategy: first_match" in (tmp_path / "rules.yaml").read_text()


def test_rule_file_errors_name_the_rule_and_the_path() -> None:
    """Loading reports each bad rule by index and id, and where inside it."""
    text = """
format: omnikit.rules/1
strategy: first_match
rules:
  - id: good
    condition: {"==": [1, 1]}
  - id: typo
    condition: {"and": [true, {"===": [{"var": "a"}, 1]}, {"contains": [1, 2]}]}
  - id: broken
    priority: high
    actions: [{"type": "Offer"}]
"""
    with pytest.raises(ValidationError) as info:
        RuleSet.loads(text, "yaml")

    typo, action, priority = info.value.errors
    assert typo.startswith(
        "rules[1] ('typo').condition.and[2].contains: unknown operation 'contains' (known: "
    )
    assert "rules[2] ('broken').priority: expected an integer, got 'high'" == priority
    assert (
        "rules[2] ('broken').actions[0].type: 'Offer' is not an action type (lower-case, digits, '_')"
        == action
    )


def test_custom_operations_are_registered_like_jsonlogics() -> None:
    """A host operation gets the environment and the evaluated arguments."""

    def stock(env: Env, sku: Any) -> int:
        return {"boots": 0, "scarf": 12}.get(sku, 0)

    rules = RuleSet(
        [Rule(id="in-stock", condition={">": [{"stock": {"var": "event.properties.sku"}}, 0]})],
        operations={"stock": stock},
    )
    facts = data()
    facts["event"] = {"name": "Product Viewed", "properties": {"sku": "scarf"}}

    assert ("in-stock",) == rules.decide(facts, Env(now=NOW)).rule_ids
    with pytest.raises(ValidationError, match="would replace JsonLogic"):
        RuleSet([], operations={"var": stock})
    with pytest.raises(RuleSyntaxError, match="unknown operation 'stock'"):
        RuleSet([Rule(id="x", condition={"stock": 1})])


def test_conditions_agree_with_the_jsonlogic_interpreter() -> None:
    """A compiled condition gives exactly what `jsonlogic.apply` gives."""
    condition = (var("a") + 1 > "2") | (var("b").contains("x")) & ~var("c")
    rules = RuleSet([Rule(id="r", condition=condition)])
    for a, b, c in [(1, "xyz", 0), ("1", "abc", 1), (None, [], "0"), (2.5, ["x"], [])]:
        facts = {"a": a, "b": b, "c": c}
        expected = bool(jsonlogic.apply({"!!": condition.to_jsonlogic()}, facts))
        assert expected == (rules.decide(facts, Env(now=NOW)).rule_ids == ("r",))


def test_money_in_conditions_is_a_number() -> None:
    """Customer data gives revenue as one number and per currency."""
    hub = omnikit.Hub()
    hub.track(
        "Order Completed",
        user_id="u1",
        properties={"order_id": "o1", "revenue": "19.99", "currency": "EUR"},
    )
    who = customer_data(hub.customer(user_id="u1"), now=NOW)  # type: ignore[arg-type]

    assert 19.99 == who["stats"]["revenue"]
    assert {"EUR": 19.99} == who["stats"]["revenue_by_currency"]
    assert Decimal("19.99") == hub.customer(user_id="u1").stats.revenue["EUR"]  # type: ignore[union-attr]


def test_rules_are_indexed_by_channel_too() -> None:
    """A rule that requires a channel is not a candidate elsewhere; decisions are the same."""
    rules = RuleSet(
        [
            Rule(
                id="app-cart",
                condition=(event.name == "Product Added") & (context.channel == "app"),
            ),
            Rule(id="store-any", condition=context.channel.is_in(["store", "kiosk"])),
            Rule(id="everywhere", condition=event.name == "Product Added"),
        ]
    )

    app = [r.id for r in rules.candidates("Product Added", "app")]
    web = [r.id for r in rules.candidates("Product Added", "web")]
    kiosk = [r.id for r in rules.candidates(None, "kiosk")]
    unknown = [r.id for r in rules.candidates("Product Added", None)]

    assert ["app-cart", "everywhere"] == app
    assert ["everywhere"] == web
    assert ["store-any"] == kiosk
    assert ["everywhere"] == unknown
    # Channels no rule names share the no-channel rules, compiled once for all of them.
    assert rules._candidates("Product Added", "web") is rules._candidates("Product Added", "sms")
    assert rules._candidates("Product Added", "web") is rules._candidates("Product Added", None)
    for channel in ("app", "web", "store", None, 7):
        facts = data()
        facts["event"] = {"name": "Product Added"}
        facts["context"] = {"channel": channel}
        assert (
            rules.decide(facts, Env(now=NOW)).rule_ids
            == rules.decide(facts, Env(now=NOW), indexed=False).rule_ids
        )


def test_events_no_rule_names_share_their_channel_buckets() -> None:
    """Unknown event names, however many, add no compiled buckets: they share one."""
    rules = RuleSet(
        [
            Rule(id="app", condition=context.channel == "app"),
            Rule(id="viewed", condition=event.name == "Product Viewed"),
        ]
    )
    for n in range(300):
        facts = data()
        facts["event"] = {"name": f"Custom Event {n}"}
        facts["context"] = {"channel": "app" if n % 2 else "web"}
        expected = ["app"] if n % 2 else []

        assert expected == list(rules.decide(facts, Env(now=NOW)).rule_ids)
    assert len(rules._channel_buckets) <= 2


def test_threads_sharing_a_new_rule_set_compile_each_bucket_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Threads deciding at once with a rule set not compiled yet: one compile per bucket."""
    rules = RuleSet(
        [
            Rule(
                id=f"r{i}",
                condition=(event.name == f"E{i % 5}") & (context.channel == ["app", "web"][i % 2]),
            )
            for i in range(40)
        ]
        + [Rule(id="any-store", condition=context.channel.is_in(["store", "kiosk"]))]
    )
    cases = []
    for n in range(64):
        facts = data()
        facts["event"] = {"name": f"E{n % 6}"}
        facts["context"] = {"channel": ["app", "web", "store", "sms", None][n % 5]}
        cases.append(facts)
    expected = [rules.decide(f, Env(now=NOW), indexed=False).rule_ids for f in cases]
    compiled: collections.Counter[tuple[str, ...]] = collections.Counter()
    build = rules_module._Bucket.__init__

    def counted(bucket: Any, items: Any, batch: Any) -> None:
        compiled[tuple(item.rule.id for item in items)] += 1
        time.sleep(0.002)  # a slow compile: racing threads would overlap here
        build(bucket, items, batch)

    monkeypatch.setattr(rules_module._Bucket, "__init__", counted)
    fresh = RuleSet(list(rules.rules))
    start, waited = threading.Barrier(8), set()

    def decide(facts: dict[str, Any]) -> tuple[str, ...]:
        if threading.get_ident() not in waited:  # each thread's first decision starts at once
            waited.add(threading.get_ident())
            start.wait(timeout=5)
        return fresh.decide(facts, Env(now=NOW)).rule_ids

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(decide, cases))

    assert expected == got
    assert compiled
    assert {1} == set(compiled.values())


def test_an_experiment_over_a_group_picks_one_rule_per_arm() -> None:
    """Each arm of a group experiment gets one rule of the group; the holdout gets none."""
    experiment = Experiment(
        id="hero",
        holdout=0.2,
        variants=(Variant(id="hero-a"), Variant(id="hero-b", actions=(Action.content("b-bis"),))),
    )
    rules = RuleSet(
        [
            Rule(id="hero-a", group="hero", actions=(Action.content("a"),), priority=2),
            Rule(id="hero-b", group="hero", actions=(Action.content("b"),), priority=1),
            Rule(id="footer", actions=(Action.content("footer"),)),
        ],
        experiments={"hero": experiment},
    )
    by_arm: dict[str, list[tuple[Action, ...]]] = {}
    for i in range(300):
        cid = f"cus_{i}"
        arm = experiment.assign(cid)
        decision = rules.decide(data(), Env(now=NOW), customer_id=cid)
        seen = by_arm.setdefault(arm.id if arm else "holdout", [])
        if decision.actions not in seen:
            seen.append(decision.actions)

    assert {"hero-a", "hero-b", "holdout"} == set(by_arm)
    assert [(Action.content("a"), Action.content("footer"))] == by_arm["hero-a"]
    assert [(Action.content("b-bis"), Action.content("footer"))] == by_arm["hero-b"]
    assert [(Action.content("footer"),)] == by_arm["holdout"]
    assert rules.to_data() == RuleSet.loads(rules.dumps("yaml"), "yaml").to_data()
    with pytest.raises(ValidationError, match="each variant must name a rule of the group"):
        RuleSet(
            rules.rules, experiments={"hero": Experiment(id="x", variants=(Variant(id="footer"),))}
        )
