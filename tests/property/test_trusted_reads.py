"""
What a store reads back is built without validating it again, and is the validated model.

Customers and touchpoints read from a store skip the models' converters and validators (the
rows were checked on the way in). Rebuilding every object the read gives through its class's
own `__init__`, field by field, must give an equal object, with the same representation.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import omnikit
from omnikit import converters
from omnikit._engines.profile import ProfileState
from omnikit._models.customers import ChannelStats, Stats
from omnikit._models.trusted import trusted
from omnikit.testing import Retailer

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def validated(value: Any) -> Any:
    """*value* rebuilt through the models' own constructors, all the way down."""
    if attrs.has(type(value)):
        return type(value)(
            **{f.name: validated(getattr(value, f.name)) for f in attrs.fields(type(value))}
        )
    if isinstance(value, tuple):
        return tuple(validated(v) for v in value)
    if isinstance(value, dict):
        return {k: validated(v) for k, v in value.items()}
    return value


def assert_validated(value: Any) -> None:
    """
    *value* is what the models' constructors make of its fields, and what the converter
    makes of its JSON: equal, with the same representation (an enum, not its string).
    """
    rebuilt = validated(value)
    conv = converters.default_converter()
    structured = conv.structure(conv.unstructure(value), type(value))

    assert rebuilt == value
    assert repr(rebuilt) == repr(value)
    assert repr(structured) == repr(value)


def _event(user: str, mid: str, minute: int, name: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": name,
        "messageId": mid,
        "userId": user,
        "timestamp": (T0 + dt.timedelta(minutes=minute)).isoformat(),
        "properties": properties,
    }


@st.composite
def extras(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Orders, refunds, cancellations, consents that lapse and preferences of two users."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 8))):
        user, minute = draw(st.sampled_from(("u1", "u2"))), draw(st.integers(0, 60))
        mid, order = f"x{i}", draw(st.sampled_from(("o1", "o2", None)))
        kind = draw(st.sampled_from(("order", "refund", "cancel", "consent", "prefs")))
        if kind == "order":
            props = {"total": draw(st.integers(1, 300)), "currency": "EUR"}
            out.append(_event(user, mid, minute, "Order Completed", order_id=order, **props))
        elif kind == "refund":
            out.append(_event(user, mid, minute, "Order Refunded", order_id=order, total=5))
        elif kind == "cancel" and order is not None:
            out.append(_event(user, mid, minute, "Order Cancelled", order_id=order))
        elif kind == "consent":
            props = {
                "purpose": draw(st.sampled_from(("Marketing", "data-sharing"))),
                "granted": draw(st.booleans()),
                "channel": draw(st.sampled_from(("email", "sms", None))),
            }
            if draw(st.booleans()):
                props["expires_at"] = (T0 + dt.timedelta(days=30)).isoformat()
            out.append(_event(user, mid, minute, "Consent Updated", **props))
        elif kind == "prefs":
            traits = {
                "quiet_hours": {"start": "22:00", "end": "08:00"},
                "preferred_channels": draw(st.lists(st.sampled_from(("sms", "email")))),
                "language": "pt-PT",
            }
            out.append(
                {
                    "type": "identify",
                    "messageId": mid,
                    "userId": user,
                    "timestamp": (T0 + dt.timedelta(minutes=minute)).isoformat(),
                    "traits": traits,
                    "context": {"timezone": "Europe/Lisbon", "locale": "pt-PT"},
                }
            )
    return out


@settings(max_examples=30)
@given(seed=st.integers(0, 2**16), customers=st.integers(1, 4), more=extras())
def test_a_looked_up_customer_is_the_validated_customer(
    seed: int, customers: int, more: list[dict[str, Any]]
) -> None:
    """
    Customers and touchpoints read from SQLite equal the models' own construction of them.
    """
    stream = [*Retailer(customers, seed=seed).messages(), *more]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        with omnikit.Hub.open(url, default_region="PT") as hub:
            hub.ingest({"batch": stream}).raise_for_failures()
            for customer in hub.customers():
                found = hub.customer(customer.id, recent=5)
                assert found is not None

                assert_validated(found)
                for tp in (*found.recent, *hub.touchpoints(found)):
                    assert_validated(tp)


def test_a_customer_from_a_state_is_the_validated_customer() -> None:
    """A fold with consents, orders, channels and preferences reads back as validated."""
    state = ProfileState.from_json(
        {
            "traits": {"tier": ["gold", 1, "m1", "crm"]},
            "consents": {"email|marketing": [True, 5, "m2", "web", "email", "marketing", 9]},
            "prefs": {"quiet_hours": [{"start": "22:00", "end": "08:00"}, 3, "m3", 1]},
            "first": 1,
            "last": 8,
            "count": 2,
            "channels": {"web": [1, 8, 2]},
            "orders": 0,
            "revenue": {},
            "refunds": {},
            "order_book": {"o1": [True, "10.50", 4, "m4", "EUR", True, 4, "m4", 4]},
            "last_order": None,
        }
    )

    customer = state.stored_customer("cus_1", {("email", "ana@example.com"), ("user_id", "u1")})

    assert_validated(customer)
    assert ("email", "user_id") == tuple(i.kind for i in customer.identities)


def test_trusted_construction_takes_every_field_and_no_other() -> None:
    """A field left out or unknown is a TypeError, never a default or a silent extra."""
    build = trusted(ChannelStats)
    at = T0

    made = build(first_seen=at, last_seen=at, touchpoints=2)

    assert ChannelStats(first_seen=at, last_seen=at, touchpoints=2) == made
    with pytest.raises(TypeError):
        build(first_seen=at, last_seen=at)
    with pytest.raises(TypeError):
        build(first_seen=at, last_seen=at, touchpoints=2, colour="red")


def test_trusted_construction_refuses_classes_it_cannot_build() -> None:
    """Only slotted attrs classes without a post-init step are built field by field."""

    @attrs.define(slots=False)
    class Loose:
        x: int

    @attrs.define
    class Checked:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Loose, Checked, dict):
        with pytest.raises(TypeError, match="trusted construction"):
            trusted(cls)
    assert Stats() == trusted(Stats)(**attrs.asdict(Stats(), recurse=False))
