"""Trying a rule set on last month's data, in a notebook."""

from __future__ import annotations

import datetime as dt

import pandas as pd

import omnikit
from omnikit import simulate
from omnikit.rules import Action, Rule, RuleSet, customer, event


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


def test_simulation_gives_a_dataframe_for_notebooks() -> None:
    """With pandas installed, the table is a DataFrame a marketer can filter and count."""
    hub = omnikit.Hub(default_region="PT")
    hub.ingest({"batch": list(simulate.Retailer(25, seed=5).messages())})
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
