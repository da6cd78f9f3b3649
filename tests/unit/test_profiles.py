"""Profiles: traits, consents, preferences, stats and orders folded from touchpoints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import omnikit
from omnikit import FulfilmentOption, FulfilmentStatus, OrderStatus
from omnikit._engines.profile import ProfileState

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture(name="hub")
def _hub() -> omnikit.Hub:
    return omnikit.Hub(default_region="PT")


def identify(mid: str, minutes: int, traits: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": mid,
        "timestamp": at(minutes),
        "userId": "u1",
        "traits": traits,
        **fields,
    }


def test_the_latest_trait_wins_whatever_the_arrival_order(hub: omnikit.Hub) -> None:
    """A trait keeps the value of the latest event, not of the latest arrival."""
    hub.ingest(identify("m2", 10, {"tier": "gold"}))
    hub.ingest(identify("m1", 0, {"tier": "silver", "name": "Ana"}))

    customer = hub.customer(user_id="u1")

    assert {"tier": "gold", "name": "Ana"} == dict(customer.traits)  # type: ignore[union-attr]


def test_a_trusted_source_beats_a_later_one() -> None:
    """With source priority, the CRM's value survives a later value typed on the web."""
    hub = omnikit.Hub(identity_rules=omnikit.IdentityRules(source_priority=("crm", "pos")))
    hub.ingest(identify("m1", 0, {"name": "Ana Silva"}, context={"source": "crm"}))
    hub.ingest(identify("m2", 10, {"name": "ana s.", "city": "Porto"}, context={"channel": "web"}))

    customer = hub.customer(user_id="u1")

    assert "Ana Silva" == customer.traits["name"]  # type: ignore[union-attr]
    assert "Porto" == customer.traits["city"]  # type: ignore[union-attr]


def test_consents_per_channel_and_purpose(hub: omnikit.Hub) -> None:
    """The latest answer wins; an answer for every channel counts; no answer is no consent."""
    hub.ingest(
        identify("m1", 0, {}, context={"consent": {"categoryPreferences": {"marketing": True}}})
    )
    customer = hub.customer(user_id="u1")
    assert customer is not None
    hub.set_consent(
        customer,
        purpose="marketing",
        granted=False,
        channel="sms",
        source="sms_stop",
        timestamp=at(5),
    )
    hub.ingest(
        {
            "type": "track",
            "event": "Unsubscribed",
            "messageId": "m3",
            "timestamp": at(6),
            "userId": "u1",
            "context": {"channel": "email"},
        }
    )

    customer = hub.customer(user_id="u1")

    assert customer is not None
    now = T0 + dt.timedelta(days=1)
    assert customer.has_consent("push", "marketing", now=now)
    assert not customer.has_consent("sms", "marketing", now=now)
    assert not customer.has_consent("email", "marketing", now=now)
    assert not customer.has_consent("push", "transactional", now=now)
    sms = next(c for c in customer.consents if c.channel == "sms")
    assert "sms_stop" == sms.source


def test_preferences_come_from_traits_and_context(hub: omnikit.Hub) -> None:
    """Explicit preferences beat what the device says; quiet hours may cross midnight."""
    hub.ingest(
        identify(
            "m1",
            0,
            {
                "preferred_channels": ["whatsapp", "email"],
                "timezone": "Europe/Lisbon",
                "quiet_hours": {"start": "22:00", "end": "08:00"},
            },
        )
    )
    hub.ingest(
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "m2",
            "timestamp": at(5),
            "userId": "u1",
            "context": {"timezone": "America/New_York", "locale": "en-US"},
        }
    )

    prefs = hub.customer(user_id="u1").preferences  # type: ignore[union-attr]

    assert ("whatsapp", "email") == prefs.preferred_channels
    assert "Europe/Lisbon" == prefs.timezone
    assert "en-US" == prefs.language
    assert prefs.quiet_hours is not None
    assert prefs.quiet_hours.contains(dt.time(23, 30))
    assert prefs.quiet_hours.contains(dt.time(7, 59))
    assert not prefs.quiet_hours.contains(dt.time(12, 0))


def test_stats_count_inbound_activity_per_channel(hub: omnikit.Hub) -> None:
    """First/last seen, counts and revenue come from inbound touchpoints and orders."""
    events = [
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "m1",
            "timestamp": at(0),
            "userId": "u1",
            "context": {"channel": "web"},
        },
        {
            "type": "track",
            "event": "Email Delivered",
            "messageId": "m2",
            "timestamp": at(5),
            "userId": "u1",
            "context": {"channel": "email"},
        },
        {
            "type": "track",
            "event": "Order Completed",
            "messageId": "m3",
            "timestamp": at(60),
            "userId": "u1",
            "context": {"channel": "store"},
            "properties": {"order_id": "o1", "revenue": "19.90", "currency": "eur"},
        },
        {
            "type": "track",
            "event": "Order Refunded",
            "messageId": "m4",
            "timestamp": at(90),
            "userId": "u1",
            "context": {"channel": "phone"},
            "properties": {"order_id": "o1", "total": 5, "currency": "EUR"},
        },
    ]
    hub.ingest({"batch": events})

    stats = hub.customer(user_id="u1").stats  # type: ignore[union-attr]

    assert 3 == stats.touchpoints
    assert ("web", "store", "phone") == stats.channels
    assert T0 == stats.first_seen
    assert T0 + dt.timedelta(minutes=90) == stats.last_seen
    assert 1 == stats.orders
    assert {"EUR": Decimal("14.90")} == stats.revenue  # net of the refund
    assert {"EUR": Decimal(5)} == stats.refunds


def test_an_order_placed_online_and_picked_up_in_store(hub: omnikit.Hub) -> None:
    """The order follows its story from the web checkout to the store counter."""
    base = {"userId": "u1", "properties": {"order_id": "o1"}}
    hub.ingest(
        {
            "batch": [
                {
                    **base,
                    "type": "track",
                    "event": "Order Completed",
                    "messageId": "m1",
                    "timestamp": at(0),
                    "context": {"channel": "web"},
                    "properties": {
                        "order_id": "o1",
                        "total": 120,
                        "currency": "EUR",
                        "fulfilment": {"option": "click_and_collect", "store_id": "lisboa-01"},
                        "products": [
                            {"product_id": "p1", "price": 60, "quantity": 2, "name": "Boots"}
                        ],
                    },
                },
                {
                    **base,
                    "type": "track",
                    "event": "Order Ready for Pickup",
                    "messageId": "m2",
                    "timestamp": at(600),
                    "context": {"channel": "sms"},
                },
                {
                    **base,
                    "type": "track",
                    "event": "Order Picked Up",
                    "messageId": "m3",
                    "timestamp": at(1500),
                    "context": {"channel": "store", "store_id": "lisboa-01"},
                },
                {
                    **base,
                    "type": "track",
                    "event": "Order Refunded",
                    "messageId": "m4",
                    "timestamp": at(3000),
                    "context": {"channel": "store"},
                    "properties": {
                        "order_id": "o1",
                        "products": [{"product_id": "p1", "price": 60, "quantity": 1}],
                    },
                },
            ]
        }
    )

    [order] = hub.orders(hub.customer(user_id="u1"))  # type: ignore[arg-type]

    assert "web" == order.channel
    assert Decimal(120) == order.total
    assert Decimal(60) == order.refunded
    assert OrderStatus.PARTIALLY_REFUNDED == order.status
    assert order.fulfilment is not None
    assert FulfilmentOption.STORE_PICKUP == order.fulfilment.option
    assert FulfilmentStatus.PICKED_UP == order.fulfilment.status
    assert "lisboa-01" == order.fulfilment.store_id
    assert Decimal(120) == sum((item.amount for item in order.items), Decimal(0))


def test_an_order_paid_at_the_till_is_fulfilled_in_store(hub: omnikit.Hub) -> None:
    """A purchase on the store channel is handed over at the counter."""
    hub.track(
        "Order Completed",
        user_id="u1",
        channel="store",
        context={"store_id": "porto-02"},
        properties={"order_id": "o9", "total": 15},
    )

    [order] = hub.orders(hub.customer(user_id="u1"))  # type: ignore[arg-type]

    assert order.fulfilment is not None
    assert (FulfilmentOption.IN_STORE, FulfilmentStatus.PICKED_UP, "porto-02") == (
        order.fulfilment.option,
        order.fulfilment.status,
        order.fulfilment.store_id,
    )


def test_identity_rules_refuse_nonsense() -> None:
    """Limits must be positive integers and patterns valid."""
    with pytest.raises(
        omnikit.ValidationError, match=r"limits\.email: expected a positive integer"
    ):
        omnikit.IdentityRules(limits={"email": 0})
    with pytest.raises(omnikit.ValidationError, match="blocked_patterns: not a regular expression"):
        omnikit.IdentityRules(blocked_patterns=("([",))


def test_a_shared_household_email_does_not_merge_two_accounts(hub: omnikit.Hub) -> None:
    """Two members with their own user ids stay two people, even on one email and device."""
    hub.ingest(
        {
            "type": "identify",
            "messageId": "m1",
            "timestamp": at(0),
            "userId": "mum",
            "traits": {"email": "home@example.com"},
            "context": {"device": {"id": "tablet"}},
        }
    )
    hub.ingest(
        {
            "type": "identify",
            "messageId": "m2",
            "timestamp": at(5),
            "userId": "son",
            "traits": {"email": "home@example.com"},
            "context": {"device": {"id": "tablet"}},
        }
    )

    mum, son = hub.customer(user_id="mum"), hub.customer(user_id="son")

    assert mum is not None
    assert son is not None
    assert mum.id != son.id
    assert ("home@example.com",) == mum.identifiers("email")
    assert () == son.identifiers("email")


def test_the_better_identifier_decides_a_conflict(hub: omnikit.Hub) -> None:
    """When two profiles can't merge, the touchpoint goes with its best identifier."""
    hub.ingest(
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "m1",
            "timestamp": at(0),
            "userId": "u1",
            "anonymousId": "shared",
        }
    )
    hub.ingest(
        {
            "type": "track",
            "event": "Product Viewed",
            "messageId": "m2",
            "timestamp": at(5),
            "userId": "u2",
            "anonymousId": "shared",
        }
    )

    [tp] = hub.touchpoints(hub.customer(user_id="u2"))  # type: ignore[arg-type]

    assert "m2" == tp.message_id
    assert hub.customer(anonymous_id="shared").id == hub.customer(user_id="u1").id  # type: ignore[union-attr]


def test_lookup_by_any_identifier_normalises_it(hub: omnikit.Hub) -> None:
    """Lookups accept identifiers the way people type them."""
    hub.identify(user_id="u1", traits={"email": "Ana@Example.com", "phone": "912 345 678"})

    assert hub.customer(email="  ANA@example.COM ") is not None
    assert hub.customer(phone="+351 912 345 678") is not None
    assert hub.customer(phone="912345678") is not None
    with pytest.raises(omnikit.ValidationError, match=r"email: 'nope' is not a valid email"):
        hub.customer(email="nope")
    with pytest.raises(omnikit.ValidationError, match="exactly one"):
        hub.customer(email="a@b.c", phone="+351912345678")
    with pytest.raises(omnikit.NotFoundError):
        hub.touchpoints("cus_nobody")


def test_a_profile_copy_holds_every_field_of_its_original() -> None:
    """`ProfileState.copy` sets each field itself, none left to the constructor."""
    state = ProfileState()
    state.traits["name"] = ("Ana", 1, "m1", "web")
    state.cancelled.add("o1")

    copy = state.copy()

    for name in ProfileState.__slots__:
        assert getattr(copy, name) == getattr(state, name), name
    assert copy.cancelled is not state.cancelled
