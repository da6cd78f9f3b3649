"""Trying a rule set on last month's data, in a notebook."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import omnikit
from omnikit.analytics import simulate
from omnikit.rules import (
    Action,
    Cap,
    Place,
    Rule,
    RuleSet,
    Segment,
    context,
    customer,
    event,
    within_km,
)
from omnikit.testing import FrozenClock, Retailer


def test_simulation_replays_history_with_the_profile_of_the_time() -> None:
    """
    Each event is decided with the customer as they were then: the second order earns the
    repeat-buyer points, the first doesn't.
    """
    hub = omnikit.Hub()
    for i, day in enumerate((1, 5, 9)):
        hub.track(
            "Order Completed",
            user_id="u1",
            properties={"order_id": f"o{i}", "total": 10},
            timestamp=dt.datetime(2026, 10, day, tzinfo=dt.UTC),
        )
    rules = RuleSet(
        [
            Rule(
                id="repeat",
                condition=(event.name == "Order Completed") & (customer.stats.orders >= 2),
                actions=(Action.points(50),),
            )
        ]
    )

    rows = rules.simulate(hub, frame="rows")
    window = rules.simulate(hub, since=dt.datetime(2026, 10, 6, tzinfo=dt.UTC), frame="rows")
    everything = rules.simulate(hub, outcomes="all", frame="rows")

    assert [dt.datetime(2026, 10, 5, tzinfo=dt.UTC), dt.datetime(2026, 10, 9, tzinfo=dt.UTC)] == [
        r["at"] for r in rows
    ]
    assert {"loyalty_points"} == {r["actions"] for r in rows}
    assert [dt.datetime(2026, 10, 9, tzinfo=dt.UTC)] == [r["at"] for r in window]
    assert ["not_matched", "chosen", "chosen"] == [r["outcome"] for r in everything]


def test_the_method_and_the_analytics_function_give_the_same_table() -> None:
    """`RuleSet.simulate(hub)` is `omnikit.analytics.simulate(rules, hub)`, row for row."""
    hub = omnikit.Hub(default_region="PT")
    hub.ingest({"batch": list(Retailer(20, seed=9).messages())})
    rules = RuleSet(
        [
            Rule(
                id="cart",
                condition=event.name == "Product Added",
                actions=(Action.offer("free-shipping"),),
                cap=Cap(times=1, days=7),
            )
        ]
    )

    rows = simulate(rules, hub, outcomes="all", frame="rows")

    assert rows
    assert rows == rules.simulate(hub, outcomes="all", frame="rows")


def test_simulation_gives_a_dataframe_for_notebooks() -> None:
    """With pandas installed, the table is a DataFrame a marketer can filter and count."""
    hub = omnikit.Hub(default_region="PT")
    hub.ingest({"batch": list(Retailer(25, seed=5).messages())})
    rules = RuleSet(
        [
            Rule(
                id="cart",
                condition=event.name == "Product Added",
                actions=(Action.offer("free-shipping"),),
            )
        ]
    )

    table = rules.simulate(hub)

    assert isinstance(table, pd.DataFrame)
    assert [
        "customer_id",
        "at",
        "event",
        "channel",
        "rule_id",
        "outcome",
        "variant",
        "actions",
        "detail",
    ] == list(table.columns)
    assert len(table) > 0
    assert {"Product Added"} == set(table["event"])


def test_simulation_keeps_to_caps_as_live_recorded_decisions_would() -> None:
    """A rule capped at once a week is chosen once for two views in a week, again the next."""
    hub = omnikit.Hub()
    for day in (3, 4, 12):
        hub.track(
            "Product Viewed",
            user_id="u1",
            properties={"product_id": "boots"},
            timestamp=dt.datetime(2026, 11, day, tzinfo=dt.UTC),
        )
    rules = RuleSet(
        [
            Rule(
                id="boots-15",
                condition=event.name == "Product Viewed",
                actions=(Action.offer("boots-15"),),
                cap=Cap(times=1, days=7),
            )
        ],
        id="autumn",
    )
    found = hub.customer(user_id="u1")
    assert found is not None
    # A live decision in the window, on the first view: the replay makes its own instead.
    live = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    hub.decide(found, "Product Viewed", ruleset=rules, record=True, now=live)

    rows = rules.simulate(hub, outcomes="all", frame="rows")

    assert [(3, "chosen"), (4, "capped"), (12, "chosen")] == [
        (r["at"].day, r["outcome"]) for r in rows
    ]


def test_simulation_tells_rules_where_the_event_happened() -> None:
    """Location rules see the event's place and store, as a live decision would be told."""
    hub = omnikit.Hub(places=[Place(id="lisboa-01", latitude=38.7223, longitude=-9.1393)])
    for n, (lat, lon) in enumerate([(38.72, -9.14), (41.15, -8.61)]):
        hub.ingest(
            {
                "type": "track",
                "event": "Store Visited",
                "userId": f"u{n}",
                "messageId": f"m{n}",
                "timestamp": "2026-11-02T18:00:00Z",
                "context": {
                    "channel": "store",
                    "store_id": f"s{n}",
                    "location": {"latitude": lat, "longitude": lon},
                },
            }
        )
    rules = RuleSet(
        [
            Rule(
                id="near-lisboa",
                condition=within_km(context.location, "lisboa-01", 2),
                actions=(Action.content("late-opening"),),
            ),
            Rule(id="in-store", condition=context.store_id == "s1", actions=(Action.tag("s1"),)),
        ]
    )

    rows = rules.simulate(hub, frame="rows")
    by_customer = {hub.customer(user_id=f"u{n}").id: f"u{n}" for n in range(2)}  # type: ignore[union-attr]

    assert [("u0", "near-lisboa"), ("u1", "in-store")] == sorted(
        (by_customer[r["customer_id"]], r["rule_id"]) for r in rows
    )


def test_decisions_before_the_window_count_toward_caps() -> None:
    """A decision recorded live before *since* happened: it caps the first replayed event."""
    hub = omnikit.Hub()
    hub.track("Product Viewed", user_id="u1", timestamp=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    rules = RuleSet(
        [Rule(id="promo", condition=event.name == "Product Viewed", cap=Cap(times=1, days=7))],
        id="autumn",
    )
    found = hub.customer(user_id="u1")
    assert found is not None
    hub.decide(
        found,
        "Product Viewed",
        ruleset=rules,
        record=True,
        now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    hub.track("Product Viewed", user_id="u1", timestamp=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))

    rows = rules.simulate(
        hub, since=dt.datetime(2026, 11, 3, tzinfo=dt.UTC), outcomes="all", frame="rows"
    )

    assert [(5, "capped")] == [(r["at"].day, r["outcome"]) for r in rows]


def test_replayed_decisions_see_the_whole_place_and_the_segments() -> None:
    """Rules read the event's city and the customer's segments in a replay, as live."""
    hub = omnikit.Hub(
        segments=[Segment(id="viewers", condition=customer.stats.touchpoints >= 1)],
        clock=FrozenClock(dt.datetime(2026, 11, 2, 18, 0, tzinfo=dt.UTC)),  # when they enter
    )
    hub.ingest(
        {
            "type": "track",
            "event": "Store Visited",
            "userId": "u1",
            "messageId": "m1",
            "timestamp": "2026-11-02T18:00:00Z",
            "context": {"channel": "store", "location": {"city": "Porto", "country": "PT"}},
        }
    )
    hub.track("Product Viewed", user_id="u1", timestamp=dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    rules = RuleSet(
        [
            Rule(id="porto", condition=context.location["city"] == "Porto"),
            Rule(
                id="viewer",
                condition=(event.name == "Product Viewed") & customer.segments.contains("viewers"),
            ),
        ]
    )

    rows = rules.simulate(hub, frame="rows")

    assert [(2, "porto"), (3, "viewer")] == [(r["at"].day, r["rule_id"]) for r in rows]
