"""
What the hub records about a customer (decisions, experiment assignments, segment changes)
only the hub records: a message from outside can't fake a decision, pick its own arm, or
overrule the hub's segment revisions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import omnikit
from omnikit.errors import ValidationError
from omnikit.rules import Action, Cap, Experiment, Rule, RuleSet, Segment, Variant, customer, event
from omnikit.stores import Store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def track(name: str, mid: str, minutes: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": name,
        "messageId": mid,
        "userId": "u1",
        "timestamp": at(minutes),
        "properties": properties,
    }


def _capped() -> RuleSet:
    return RuleSet(
        [
            Rule(
                id="once",
                condition=event.name == "Product Viewed",
                actions=(Action.offer("welcome"),),
                cap=Cap(times=1, days=30),
            )
        ]
    )


@pytest.mark.parametrize(
    ("name", "properties"),
    [
        ("Decision Made", {"ruleset": "default", "rules": ["once"]}),
        ("Experiment Assigned", {"ruleset": "default", "assignments": {"hero": "someone-else"}}),
    ],
)
def test_a_message_from_outside_cannot_be_a_record_of_the_hub(
    hub: omnikit.Hub, name: str, properties: dict[str, Any]
) -> None:
    """
    `Decision Made` and `Experiment Assigned` from outside are refused, naming the field, alone
    or in a batch, and through `Hub.track()`.
    """
    with pytest.raises(ValidationError) as raised:
        hub.ingest(track(name, "m1", 0, **properties))
    result = hub.ingest({"batch": [track(name, "m2", 0, **properties)]})

    [reason] = raised.value.errors
    assert reason.startswith(f"event: {name!r} is recorded by omnikit itself (")
    assert 1 == len(result.rejected)
    with pytest.raises(ValidationError):
        hub.track(name, user_id="u1", properties=properties)
    assert hub.customer(user_id="u1") is None


def test_a_faked_decision_neither_uses_up_nor_resets_a_cap(hub: omnikit.Hub) -> None:
    """The cap counts the hub's own decisions: a message claiming one changes nothing."""
    hub.clock = FrozenClock(T0 + dt.timedelta(hours=1))
    hub.ingest(track("Product Viewed", "m0", 0))
    found = hub.customer(user_id="u1")
    assert found is not None
    fake = track("Decision Made", "m1", 1, ruleset="default", rules=["once"])
    hub.ingest({"batch": [fake]})

    first = hub.decide(found, "Product Viewed", ruleset=_capped(), record=True)
    second = hub.decide(found, "Product Viewed", ruleset=_capped(), record=True)

    assert (("once",), ()) == (first.rule_ids, second.rule_ids)
    assert 1 == sum(1 for tp in hub.touchpoints(found) if tp.name == "Decision Made")


def test_the_hub_still_records_its_own_decisions_and_assignments(hub: omnikit.Hub) -> None:
    """The hub's own records keep being stored, and read back, as before."""
    rules = RuleSet(
        [
            *_capped().rules,
            Rule(
                id="hero",
                actions=(Action.content("a"),),
                experiment=Experiment(id="hero", variants=(Variant(id="a"),)),
            ),
        ]
    )
    found = hub.identify(user_id="u1", timestamp=T0)

    hub.decide(found, "Product Viewed", ruleset=rules, record=True, now=T0)
    names = [tp.name for tp in hub.touchpoints(found)]

    assert ["Decision Made", "Experiment Assigned", "Identify"] == sorted(names)


def _hub(store: Store, clock: FrozenClock) -> omnikit.Hub:
    gold = Segment(id="gold", condition=customer.traits["tier"] == "gold")
    return omnikit.Hub(store, clock=clock, segments=[gold])


def test_an_outside_revision_does_not_overrule_the_hubs_segments(store: Store) -> None:
    """
    A host may sync `Segment Entered` / `Exited` from another tool, but the `revision` it
    sends is not the hub's: it can't take a customer out of (or into) a segment the hub keeps,
    nor move the hub's own numbering.
    """
    clock = FrozenClock(T0 + dt.timedelta(hours=1))
    with _hub(store, clock) as hub:
        hub.identify(user_id="u1", traits={"tier": "gold"}, timestamp=T0)
        hub.ingest(track("Segment Exited", "x1", 5, segment="gold", revision=10**6))
        found = hub.customer(user_id="u1")
        assert found is not None
        assert ("gold",) == found.segments
        hub.identify(user_id="u1", traits={"tier": "silver"})
        revisions = [
            (tp.name, tp.properties["revision"])
            for tp in hub.touchpoints(found)
            if tp.name.startswith("Segment") and tp.message_id.startswith("omk-")
        ]
        left = hub.customer(user_id="u1")

    assert [("Segment Entered", 1), ("Segment Exited", 2)] == sorted(revisions, key=lambda r: r[1])
    assert left is not None
    assert () == left.segments


def test_segments_synced_from_elsewhere_follow_time_not_their_revision(hub: omnikit.Hub) -> None:
    """For a segment the hub does not keep, the latest synced change wins, whatever it numbers."""
    hub.ingest(
        {
            "batch": [
                track("Segment Entered", "x1", 0, segment="newsletter", revision=1),
                track("Segment Exited", "x2", 5, segment="newsletter", revision=7),
                track("Segment Entered", "x3", 9, segment="newsletter", revision=2),
                track("Segment Entered", "x4", 0, segment="lapsed", revision=50),
                track("Segment Exited", "x5", 1, segment="lapsed"),
            ]
        }
    )

    found = hub.customer(user_id="u1")
    assert found is not None
    assert ("newsletter",) == found.segments


def test_a_message_cannot_take_the_id_of_a_hubs_segment_change(hub: omnikit.Hub) -> None:
    """Ids of the hub's own segment changes are refused from outside: they can't be forged."""
    message = track("Product Viewed", "omk-seg-0123456789abcdef0123456789abcdef", 0)

    with pytest.raises(ValidationError) as raised:
        hub.ingest(message)

    assert raised.value.errors[0].startswith("messageId: ")
    assert "omk-seg-" in raised.value.errors[0]
