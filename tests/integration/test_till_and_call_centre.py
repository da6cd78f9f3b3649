"""Events known by any identifier omnikit reads: a loyalty card at the till, a phone call."""

from __future__ import annotations

from typing import Any

import pytest

import omnikit
from omnikit.testing import Retailer

WHEN = "2026-11-01T10:00:00Z"


def _track(event: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "messageId": message_id, "timestamp": WHEN, **fields}


def _card(number: str) -> list[dict[str, str]]:
    return [{"id": number, "type": "loyalty_id", "collection": "users", "encoding": "none"}]


def test_a_till_sale_known_by_its_loyalty_card(hub: omnikit.Hub) -> None:
    """A sale the till knows only by a loyalty card joins the card's member, and nothing else."""
    hub.ingest(
        {
            "type": "identify",
            "userId": "u1",
            "messageId": "m1",
            "timestamp": WHEN,
            "traits": {"email": "ana@example.com"},
            "context": {"externalIds": _card("L-123")},
        }
    )

    hub.ingest(
        _track(
            "Order Completed",
            "m2",
            context={"channel": "store", "source": "pos", "externalIds": _card("L-123")},
            properties={"order_id": "o1", "total": 30, "currency": "EUR"},
        )
    )
    ana = hub.customer(user_id="u1")
    sale = [tp for tp in hub.touchpoints(ana) if tp.message_id == "m2"]  # type: ignore[arg-type]

    assert ana is not None
    assert 1 == len(sale)
    assert (omnikit.Identity(kind="loyalty_id", value="L-123"),) == sale[0].identities
    assert () == ana.identifiers("anonymous_id")
    assert 1 == len(list(hub.customers()))


def test_a_call_known_by_the_callers_phone(hub: omnikit.Hub) -> None:
    """A call-centre event that carries only the caller's phone joins the caller."""
    hub.identify(user_id="u1", phone="+351 912 345 678")

    hub.ingest(
        _track(
            "Call Completed",
            "m2",
            context={"channel": "phone", "traits": {"phone": "+351 912 345 678"}},
        )
    )

    ana = hub.customer(phone="+351912345678")
    assert ana is not None
    assert ana.id == hub.customer(user_id="u1").id  # type: ignore[union-attr]
    assert {"m2"} <= {tp.message_id for tp in hub.touchpoints(ana)}


@pytest.mark.parametrize(
    ("fields", "identity"),
    [
        ({"userId": "u1"}, ("user_id", "u1")),
        ({"anonymousId": "a1"}, ("anonymous_id", "a1")),
        ({"context": {"externalIds": _card("L-1")}}, ("loyalty_id", "L-1")),
        ({"context": {"traits": {"email": "Ana@Example.com"}}}, ("email", "ana@example.com")),
        ({"context": {"traits": {"phone": "+351912345678"}}}, ("phone", "+351912345678")),
        ({"context": {"device": {"id": "d1"}}}, ("device_id", "d1")),
        ({"context": {"device": {"token": "t1"}}}, ("push_token", "t1")),
        (
            {"type": "identify", "traits": {"email": "ana@example.com"}},
            ("email", "ana@example.com"),
        ),
        ({"type": "identify", "traits": {"phone": "+351912345678"}}, ("phone", "+351912345678")),
        ({"type": "page", "context": {"traits": {"email": "a@b.pt"}}}, ("email", "a@b.pt")),
    ],
)
def test_any_identifier_omnikit_reads_identifies_a_message(
    fields: dict[str, Any], identity: tuple[str, str]
) -> None:
    """Each field that names a person is enough on its own, on any message type."""
    hub = omnikit.Hub()

    hub.ingest(_track("Product Viewed", "m1", **fields)).raise_for_failures()

    found = hub.customer(**{identity[0]: identity[1]})
    assert found is not None
    assert (omnikit.Identity(kind=identity[0], value=identity[1]),) == found.identities


def test_a_message_naming_nobody_says_which_fields_would() -> None:
    """The error lists the fields that identify, and says why a track's traits.email is not one."""
    hub = omnikit.Hub()

    with pytest.raises(omnikit.ValidationError) as bare:
        hub.ingest(_track("Call Completed", "m1", context={"channel": "phone"}))
    with pytest.raises(omnikit.ValidationError) as top_level:
        hub.ingest(_track("Call Completed", "m2", traits={"email": "ana@example.com"}))
    with pytest.raises(omnikit.ValidationError) as identify:
        hub.ingest({"type": "identify", "messageId": "m3", "traits": {"name": "Ana"}})

    fields = (
        "userId: required when the message carries no other identifier (anonymousId, "
        "context.externalIds, context.traits.email, context.traits.phone, context.device.id "
        "or context.device.token)"
    )
    assert (fields,) == bare.value.errors
    assert (
        fields + "; a track's top-level traits do not identify a person, as in the Segment "
        "Spec: put the person's email or phone in context.traits",
    ) == top_level.value.errors
    assert "traits.email, traits.phone, context.traits.email" in identify.value.errors[0]
    assert [] == list(hub.customers())


def test_hub_track_makes_up_no_anonymous_id() -> None:
    """
    `Hub.track()` with a phone or a card stores just that: a made-up anonymous id would have
    linked two strangers who gave the till the same placeholder email.
    """
    hub = omnikit.Hub()

    call = hub.track("Call Completed", phone="+351 912 345 678", channel="phone")
    sale = hub.track("Order Completed", identities={"loyalty_id": "L-9"}, channel="store")
    one = hub.track("Order Completed", email="noemail@gmail.com", channel="store")
    other = hub.track("Order Completed", email="noemail@gmail.com", channel="store")

    assert (omnikit.Identity(kind="phone", value="+351912345678"),) == call.identities
    assert (omnikit.Identity(kind="loyalty_id", value="L-9"),) == sale.identities
    assert one.customer_id != other.customer_id
    with pytest.raises(omnikit.ValidationError, match="userId: required when the message"):
        hub.track("Product Viewed")


def test_the_simulated_till_and_call_centre_know_people_by_card_email_and_phone() -> None:
    """In the simulated retailer, till, pickup and call events carry no made-up ids."""
    messages = list(Retailer(60, seed=3).messages())
    by_event = {
        name: [m for m in messages if m.get("event") == name]
        for name in ("Order Picked Up", "Call Completed")
    }
    till = [
        m
        for m in messages
        if m.get("event") == "Order Completed" and m["context"].get("channel") == "store"
    ]

    assert till
    assert all(by_event.values())
    for message in till + by_event["Order Picked Up"] + by_event["Call Completed"]:
        assert "anonymousId" not in message
        assert "userId" not in message
    for message in till:
        context = message["context"]
        assert "externalIds" in context or "email" in context.get("traits", {})
    for message in by_event["Call Completed"]:
        assert "phone" in message["context"]["traits"]
