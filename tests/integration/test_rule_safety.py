"""
Rules and lookups on a real hub, on every store: a runaway segment cannot hold ingestion up,
and a lookup by an identifier kind nobody has is an error that names the likely one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest

import omnikit
from omnikit.errors import ValidationError
from omnikit.rules import Env, Limits, Segment, SegmentSet, customer
from omnikit.stores import Store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
ACC = {"var": "accumulator"}

RUNAWAY = {"!!": {"reduce": [[1] * 4000, {"substr": [{"cat": [ACC, ACC]}, 0, 8_000_000]}, "ab"]}}
"""Doubles a string 4,000 times, keeping 8 million characters: hours of copying, unbounded."""


def viewed(message_id: str) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": message_id,
        "userId": "u1",
        "timestamp": T0.isoformat(),
    }


@pytest.mark.stores("memory", "sqlite")
def test_a_runaway_segment_does_not_hold_up_ingestion(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """
    A segment whose condition would copy strings for hours stops at its limits: the events
    are accepted at once, the segment does not hold, and a warning names it.
    """
    segments = [
        Segment(id="runaway", condition=RUNAWAY),
        Segment(id="viewers", condition=customer.stats.touchpoints >= 1),
    ]
    with omnikit.Hub(store, clock=FrozenClock(T0), segments=segments) as hub:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="omnikit.rules"):
            result = hub.ingest([viewed("m1"), viewed("m2")])
        elapsed = time.monotonic() - started
        found = hub.customer(user_id="u1")

    assert elapsed < 2.0 + 10 * 1_000_000 * 2e-6, f"ingest took {elapsed:.1f} s"
    assert ("m1", "m2") == result.accepted
    assert found is not None
    assert ("viewers",) == tuple(found.segments)
    assert any(
        "segment 'runaway'" in record.getMessage() and "max_length" in record.getMessage()
        for record in caplog.records
    )


def test_segments_take_their_own_limits() -> None:
    """A segment set with a small work limit refuses what the default would allow."""
    walk = {"some": [{"var": "customer.traits.codes"}, {"==": [{"var": ""}, "z"]}]}
    tight = SegmentSet([Segment(id="z", condition=walk)], limits=Limits(max_work=100))
    roomy = SegmentSet([Segment(id="z", condition=walk)])
    data = {"customer": {"traits": {"codes": ["a"] * 200 + ["z"]}}}
    env = Env(now=T0)

    assert frozenset() == tight.members_of(data, env)
    assert frozenset({"z"}) == roomy.members_of(data, env)


def test_a_lookup_by_a_misspelt_identifier_kind_names_the_right_one(hub: omnikit.Hub) -> None:
    """
    `hub.customer(loyalty=...)` (for `loyalty_id=`) is an error naming the kind, the close
    one, and how to declare a kind of one's own; kinds that are built in, declared, or held
    by stored identities find nobody quietly.
    """
    hub.ingest(
        {
            "type": "identify",
            "messageId": "m1",
            "userId": "u1",
            "timestamp": T0.isoformat(),
            "context": {"externalIds": [{"id": "C-7", "type": "crm_id"}]},
            "traits": {"email": "ana@example.com"},
        }
    )

    with pytest.raises(ValidationError) as info:
        hub.customer(loyalty="L-1")

    message = str(info.value)
    assert message.startswith("loyalty: no identity of this kind is known")
    assert "did you mean loyalty_id=?" in message
    assert "IdentityRules(priority=" in message
    assert hub.customer(loyalty_id="L-404") is None
    assert hub.customer(crm_id="C-8") is None
    crm = hub.customer(crm_id="C-7")
    assert crm is not None
    assert crm.id == hub.customer(email="ana@example.com").id  # type: ignore[union-attr]


@pytest.mark.stores("memory")
def test_a_kind_declared_in_identity_rules_is_known(store: Store) -> None:
    """A kind the identity rules name is known before any identity of it is stored."""
    rules = omnikit.IdentityRules(priority=("user_id", "member_no"))
    with omnikit.Hub(store, identity_rules=rules) as hub:
        assert hub.customer(member_no="M-1") is None
        with pytest.raises(ValidationError, match="did you mean member_no="):
            hub.customer(member_num="M-1")
