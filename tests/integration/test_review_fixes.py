"""Behaviour pinned down in review: no feedback loops, honest simulations, clean records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import omnikit
from omnikit._cli import main
from omnikit.analytics import LeadScoring
from omnikit.rules import (
    Action,
    Cap,
    Place,
    Rule,
    RuleSet,
    Segment,
    Variant,
    count_events,
    customer,
    event,
    in_segment,
)
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def view(mid: str, minutes: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": mid,
        "userId": "u1",
        "timestamp": (T0 + dt.timedelta(minutes=minutes)).isoformat(),
        **fields,
    }


def test_recorded_decisions_do_not_feed_event_counts() -> None:
    """`count_events` reads what the customer did, never the hub's own records."""
    rules = RuleSet(
        [
            Rule(
                id="active",
                condition=count_events(None, days=30) >= 3,
                actions=(Action.tag("active"),),
            )
        ]
    )
    hub = omnikit.Hub(
        clock=FrozenClock(T0 + dt.timedelta(hours=1)),
        ruleset=rules,
        segments=[Segment(id="viewers", condition=customer.stats.touchpoints >= 1)],
    )
    hub.ingest(view("m1", 0))

    decisions = [hub.decide(hub.customer(user_id="u1"), record=True) for _ in range(4)]  # type: ignore[arg-type]

    assert [(), (), (), ()] == [d.rule_ids for d in decisions]


def test_events_after_the_decision_do_not_count() -> None:
    """A decision at a past moment sees only the history up to that moment."""
    rules = RuleSet([Rule(id="two-views", condition=count_events("Product Viewed") >= 2)])
    hub = omnikit.Hub(ruleset=rules)
    hub.ingest({"batch": [view("m1", 0), view("m2", 60)]})

    before = hub.decide(hub.customer(user_id="u1"), now=T0 + dt.timedelta(minutes=30))  # type: ignore[arg-type]
    after = hub.decide(hub.customer(user_id="u1"), now=T0 + dt.timedelta(minutes=90))  # type: ignore[arg-type]

    assert () == before.rule_ids
    assert ("two-views",) == after.rule_ids


def test_simulation_triggers_on_what_customers_did() -> None:
    """The hub's own records don't trigger simulated decisions; segments and stores count."""
    rules = RuleSet(
        [
            Rule(id="any", actions=(Action.tag("x"),)),
            Rule(id="vip-view", condition=(event.name == "Product Viewed") & in_segment("vip")),
        ]
    )
    hub = omnikit.Hub(
        clock=FrozenClock(T0 - dt.timedelta(days=1)),
        segments=[Segment(id="vip", condition=customer.traits["tier"] == "gold")],
        places=[Place(id="s1", latitude=0, longitude=0)],
    )
    hub.identify(user_id="u1", traits={"tier": "gold"})
    hub.ingest(view("m1", 0))

    rows = rules.simulate(hub, frame="rows")

    assert {"Identify", "Product Viewed"} == {r["event"] for r in rows}
    assert [("Product Viewed", "vip-view")] == [
        (r["event"], r["rule_id"]) for r in rows if r["rule_id"] == "vip-view"
    ]
    with pytest.raises(omnikit.ValidationError, match="frame: expected one of"):
        rules.simulate(hub, frame="excel")


def test_consent_adds_no_identity_and_no_activity() -> None:
    """Recording consent keeps the customer's identities and activity as they were."""
    hub = omnikit.Hub()
    before = hub.identify(user_id="u1", traits={"email": "ana@example.com"})

    after = hub.set_consent(before, purpose="marketing", granted=True, channel="sms", source="pos")

    assert before.identities == after.identities
    assert before.stats.touchpoints == after.stats.touchpoints
    assert ("sms", "marketing", True, "pos") == (
        after.consents[0].channel,
        after.consents[0].purpose,
        after.consents[0].granted,
        after.consents[0].source,
    )


def test_a_batch_envelope_stamps_its_messages() -> None:
    """The envelope's sentAt and context hold for messages that don't say otherwise."""
    hub = omnikit.Hub()
    message = {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "a1",
        "messageId": "m1",
        "originalTimestamp": "2026-11-02T09:00:00Z",
        "receivedAt": "2026-11-02T10:00:10Z",
    }

    hub.ingest(
        {
            "batch": [message],
            "sentAt": "2026-11-02T10:00:00Z",
            "context": {"channel": "app", "library": {"name": "analytics-ios"}},
        }
    )
    [tp] = hub.touchpoints(hub.customer(anonymous_id="a1"))  # type: ignore[arg-type]

    assert "app" == tp.channel
    assert dt.datetime(2026, 11, 2, 9, 0, 10, tzinfo=dt.UTC) == tp.occurred_at
    assert {"name": "analytics-ios"} == tp.context.extra["library"]


def test_accepted_ids_keep_arrival_order() -> None:
    """`IngestResult.accepted` lists message ids in the order they came, not by time."""
    hub = omnikit.Hub()

    result = hub.ingest({"batch": [view("late", 50), view("early", 0), view("middle", 25)]})

    assert ("late", "early", "middle") == result.accepted


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: omnikit.Hub(default_region="XX"), "default_region: 'XX' is not a region"),
        (lambda: Rule(id="r", priority="high"), "priority: expected an integer, got 'high'"),
        (lambda: Cap(times=0, days=7), "times: must be at least 1, got 0"),
        (lambda: Variant(id="a", weight=0), "weight: must be more than 0, got 0"),
        (lambda: Rule(id=""), "id: expected a non-empty string, got ''"),
        (
            lambda: Place(id="p", latitude=91, longitude=0),
            "latitude: expected a number from -90 to 90, got 91",
        ),
    ],
)
def test_bad_settings_are_validation_errors(build: Any, message: str) -> None:
    """Settings built in Python fail as clearly as settings loaded from files."""
    with pytest.raises(omnikit.ValidationError) as info:
        build()

    assert str(info.value).startswith(message)


def test_lead_scores_become_traits() -> None:
    """Lead scores can be written as a trait rules and segments read."""
    hub = omnikit.Hub(clock=FrozenClock(T0 + dt.timedelta(days=10)))
    hub.ingest({"batch": [view("m1", 0), {**view("m2", 5), "event": "Checkout Started"}]})
    scoring = LeadScoring(points={"Product Viewed": 1, "Checkout Started": 10}, half_life_days=10)

    scores = hub.lead_scores(scoring, write_traits=True)
    again = hub.lead_scores(scoring, write_traits=True)

    who = hub.customer(user_id="u1")
    assert who is not None
    assert scores == again
    assert scores[who.id] == who.traits["lead_score"]
    assert 5.5 == round(who.traits["lead_score"], 1)
    assert 2 == who.stats.touchpoints


def test_an_explicit_empty_rule_set_is_used() -> None:
    """Passing an empty rule set decides nothing; it doesn't fall back to the hub's."""
    hub = omnikit.Hub(ruleset=RuleSet([Rule(id="always", actions=(Action.tag("x"),))]))
    hub.identify(user_id="u1")

    decision = hub.decide(hub.customer(user_id="u1"), ruleset=RuleSet([]))  # type: ignore[arg-type]

    assert () == decision.rule_ids


def test_the_demo_reports_a_bad_database_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database path that can't work is a message and exit status 1, not a traceback."""
    status = main(
        ["demo", "--customers", "2", "--quiet", "--db", str(tmp_path / "missing" / "x.db")]
    )

    assert 1 == status
    assert "does not exist" in capsys.readouterr().err
