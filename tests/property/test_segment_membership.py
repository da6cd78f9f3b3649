"""Segment membership is a function of the final data, whatever the ingestion order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit.rules import Segment, customer
from omnikit.rules._data import decision_data
from omnikit.rules._domain import Env
from omnikit.testing import FrozenClock
from strategies import chunked, streams

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

SEGMENTS = (
    Segment(id="gold", condition=customer.traits["tier"] == "gold"),
    Segment(id="new", condition=customer.stats.touchpoints < 3),
    Segment(
        id="regular",
        condition=(customer.stats.touchpoints >= 2) & (customer.stats.touchpoints < 5),
    ),
    Segment(id="buyer", condition=customer.stats.orders >= 1),
)


def memberships(hub: omnikit.Hub) -> dict[str, tuple[str, ...]]:
    """Each customer's segments, as the hub keeps them."""
    return {found.id: found.segments for found in hub.customers()}


def evaluated(hub: omnikit.Hub) -> dict[str, tuple[str, ...]]:
    """Each customer's segments, evaluated from scratch on their final profile."""
    out = {}
    for found in hub.customers():
        members = hub.segments.members_of(decision_data(found, now=NOW), Env(now=NOW))
        out[found.id] = tuple(sorted(members))
    return out


def ingest(hub: omnikit.Hub, batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        hub.ingest({"batch": batch}).raise_for_failures()


@given(data=st.data(), stream=streams(max_size=16))
def test_membership_is_what_the_final_profiles_say(
    data: st.DataObject, stream: list[dict[str, Any]]
) -> None:
    """
    Events (merging people) ingested in any order and chunking leave every customer in
    exactly the segments their final profile puts them in, the same as one in-order ingest;
    and so does an unmerge afterwards.
    """
    reference = omnikit.Hub(clock=FrozenClock(NOW), segments=SEGMENTS)
    ingest(reference, [sorted(stream, key=lambda m: (m["timestamp"], m["messageId"]))])
    other = omnikit.Hub(
        clock=FrozenClock(NOW), segments=SEGMENTS, batch_size=data.draw(st.integers(1, 8))
    )
    ingest(other, data.draw(chunked(list(data.draw(st.permutations(stream))))))

    assert evaluated(reference) == memberships(reference)
    assert evaluated(other) == memberships(other)
    assert memberships(reference) == memberships(other)

    merged = [found for found in other.customers() if other.merges(found)]
    if merged:
        other.unmerge(data.draw(st.sampled_from(merged)))
        assert evaluated(other) == memberships(other)
