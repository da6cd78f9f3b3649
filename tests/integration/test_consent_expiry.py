"""A consent with `expires_at` lapses then, wherever consent is read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import omnikit
from omnikit.rules import Action, Rule, RuleSet, Segment, customer

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=400)
EXPIRY = T0 + dt.timedelta(days=365)


def consent_updated(mid: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Consent Updated",
        "messageId": mid,
        "userId": "u1",
        "timestamp": T0.isoformat(),
        "properties": properties,
    }


def test_an_expired_opt_in_is_no_consent(hub: omnikit.Hub) -> None:
    """An opt-in given for a year is consent for that year, and no consent after."""
    found = hub.identify(user_id="u1", timestamp=T0)

    after = hub.set_consent(
        found, purpose="marketing", granted=True, channel="email", timestamp=T0, expires_at=EXPIRY
    )

    assert EXPIRY == after.consents[0].expires_at
    assert after.has_consent("email", "marketing", now=EXPIRY - dt.timedelta(seconds=1))
    assert not after.has_consent("email", "marketing", now=EXPIRY)
    assert not after.has_consent("email", "marketing", now=LATER)


def test_rules_and_segments_read_consent_at_the_decision_time(hub: omnikit.Hub) -> None:
    """`customer.consents.<channel>.<purpose>` is false once the answer has lapsed."""
    hub.ingest(
        consent_updated(
            "m1", purpose="marketing", granted=True, channel="sms", expires_at=EXPIRY.isoformat()
        )
    )
    rules = RuleSet(
        [
            Rule(
                id="sms-promo",
                condition=customer.consents["sms"]["marketing"] == True,  # noqa: E712
                actions=(Action.offer("x"),),
            )
        ]
    )
    found = hub.customer(user_id="u1")
    assert found is not None

    assert ("sms-promo",) == hub.decide(found, ruleset=rules, now=T0).rule_ids
    assert () == hub.decide(found, ruleset=rules, now=LATER).rule_ids


def test_segments_drop_a_customer_whose_consent_lapsed() -> None:
    """A segment on consent is re-evaluated against the time of the refresh."""
    clock = omnikit.testing.FrozenClock(T0)
    segments = [Segment(id="reachable", condition=customer.consents["*"]["marketing"] == True)]  # noqa: E712
    hub = omnikit.Hub(clock=clock, segments=segments)
    hub.ingest(
        consent_updated("m1", purpose="marketing", granted=True, expires_at=EXPIRY.isoformat())
    )
    assert ("reachable",) == hub.customer(user_id="u1").segments  # type: ignore[union-attr]

    clock.advance(days=400)
    hub.refresh_segments()

    assert () == hub.customer(user_id="u1").segments  # type: ignore[union-attr]


def test_the_latest_answer_decides_even_when_it_lapsed() -> None:
    """
    An opt-in for every channel, then a one-year opt-in for email: after the year, email is
    no longer consented and other channels still are.
    """
    hub = omnikit.Hub()
    found = hub.identify(user_id="u1", timestamp=T0)
    hub.set_consent(found, purpose="marketing", granted=True, timestamp=T0)
    after = hub.set_consent(
        found,
        purpose="marketing",
        granted=True,
        channel="email",
        timestamp=T0 + dt.timedelta(days=1),
        expires_at=EXPIRY,
    )

    assert not after.has_consent("email", "marketing", now=LATER)
    assert after.has_consent("sms", "marketing", now=LATER)


@pytest.mark.parametrize(
    "expires_at", ["2027-11-01", "next year", 1893456000, "0001-01-01T00:00:00+01:00"]
)
def test_an_expiry_must_be_a_time_with_an_offset(expires_at: object) -> None:
    """An expiry that can't be read is rejected, naming the field and the form it takes."""
    hub = omnikit.Hub()
    found = hub.identify(user_id="u1", timestamp=T0)

    with pytest.raises(omnikit.ValidationError, match=r"properties\.expires_at: expected an ISO"):
        hub.ingest(consent_updated("m1", purpose="marketing", granted=True, expires_at=expires_at))
    with pytest.raises(omnikit.ValidationError, match="expires_at: expected a time with a UTC"):
        hub.set_consent(found, purpose="marketing", granted=True, expires_at=expires_at)  # type: ignore[arg-type]


def test_a_lapse_changes_segments_only_when_they_are_evaluated_again() -> None:
    """
    Rules read a consent at the moment of the decision; segment membership is evaluated when
    ingestion changes the customer or `refresh_segments()` runs, so a lapse alone moves no one.
    """
    clock = omnikit.testing.FrozenClock(T0)
    reachable = customer.consents["*"]["marketing"] == True  # noqa: E712
    hub = omnikit.Hub(clock=clock, segments=[Segment(id="reachable", condition=reachable)])
    rules = RuleSet([Rule(id="promo", condition=reachable, actions=(Action.offer("x"),))])
    hub.ingest(
        consent_updated("m1", purpose="marketing", granted=True, expires_at=EXPIRY.isoformat())
    )

    clock.advance(days=400)
    found = hub.customer(user_id="u1")
    assert found is not None
    assert ("reachable",) == found.segments  # still: nothing evaluated it since the lapse
    assert () == hub.decide(found, ruleset=rules).rule_ids  # the rule reads the consent now
    assert {found.id: ([], ["reachable"])} == hub.refresh_segments()
    assert () == hub.customer(user_id="u1").segments  # type: ignore[union-attr]
