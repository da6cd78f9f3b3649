"""The pytest fixtures omnikit registers for applications built on it."""

from __future__ import annotations

import datetime as dt

import omnikit
from omnikit.rules import Action, Rule, RuleSet, customer, event
from omnikit.testing import FrozenClock


def test_the_hub_fixture_decides_as_the_docs_show(
    omnikit_hub: omnikit.Hub, omnikit_clock: FrozenClock
) -> None:
    """`omnikit_hub` is a fresh in-memory hub on `omnikit_clock`, ready for rule tests."""
    rules = RuleSet(
        [
            Rule(
                id="gold-boots",
                condition=(event.name == "Product Viewed")
                & (customer.traits["tier"] == "gold")
                & (event.properties["category"] == "Boots"),
                actions=(Action.offer("gold-15"),),
            ),
        ]
    )
    omnikit_hub.identify(user_id="u1", traits={"tier": "gold"})
    ana = omnikit_hub.customer(user_id="u1")
    assert ana is not None

    decision = omnikit_hub.decide(
        ana, {"name": "Product Viewed", "properties": {"category": "Boots"}}, ruleset=rules
    )

    assert ["gold-15"] == [action.id for action in decision.actions]
    assert dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC) == decision.at
    assert omnikit_clock.now == ana.stats.first_seen
