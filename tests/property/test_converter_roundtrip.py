"""Every model converts to JSON-ready data and back, losslessly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit import converters
from omnikit.stores._codec import touchpoint_from, touchpoint_json

zones = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
)
moments = st.builds(
    lambda d, z: d.replace(tzinfo=z),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    zones,
)
money = st.decimals(
    min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
identities = st.one_of(
    st.builds(
        lambda v: omnikit.Identity(kind="user_id", value=v),
        st.text(alphabet="abc123-", min_size=1, max_size=8),
    ),
    st.builds(
        lambda v: omnikit.Identity(kind="email", value=f"{v}@example.com"),
        st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    ),
    st.builds(
        lambda n: omnikit.Identity(kind="phone", value=f"+35191{n:07d}"), st.integers(0, 9_999_999)
    ),
)
consents = st.builds(
    omnikit.Consent,
    channel=st.none() | st.sampled_from(["email", "sms"]),
    purpose=names,
    granted=st.booleans(),
    at=moments,
    source=st.text(max_size=5),
    message_id=st.none() | st.text(min_size=1, max_size=5),
    expires_at=st.none() | moments,
)
quiet = st.builds(omnikit.QuietHours, start=st.times(), end=st.times())
preferences = st.builds(
    omnikit.Preferences,
    preferred_channels=st.lists(st.sampled_from(["email", "sms", "push"]), max_size=3).map(tuple),
    language=st.none() | st.sampled_from(["pt-PT", "en-GB"]),
    timezone=st.none() | st.sampled_from(["Europe/Lisbon", "UTC"]),
    quiet_hours=st.none() | quiet,
)
channel_stats = st.builds(
    lambda a, b, n: omnikit.ChannelStats(first_seen=min(a, b), last_seen=max(a, b), touchpoints=n),
    moments,
    moments,
    st.integers(0, 100),
)
stats = st.builds(
    omnikit.Stats,
    first_seen=st.none() | moments,
    last_seen=st.none() | moments,
    touchpoints=st.integers(0, 1000),
    per_channel=st.dictionaries(
        st.sampled_from(["web", "app", "store"]), channel_stats, max_size=3
    ),
    orders=st.integers(0, 50),
    revenue=st.dictionaries(st.sampled_from(["EUR", "USD"]), money, max_size=2),
    refunds=st.dictionaries(st.sampled_from(["EUR"]), money, max_size=1),
    last_order_at=st.none() | moments,
)
contexts = st.builds(
    omnikit.Context,
    source=st.none() | st.text(max_size=5),
    store_id=st.none() | st.text(max_size=5),
    agent=st.none() | st.text(max_size=5),
    campaign=json_objects,
    device=json_objects,
    location=st.none()
    | st.builds(
        omnikit.Location,
        latitude=st.none() | st.floats(-90, 90),
        longitude=st.none() | st.floats(-180, 180),
        city=st.none() | st.text(max_size=5),
    ),
    page=json_objects,
    ip=st.none() | st.just("127.0.0.1"),
    locale=st.none() | st.just("pt-PT"),
    timezone=st.none() | st.just("Europe/Lisbon"),
    user_agent=st.none() | st.text(max_size=5),
    extra=json_objects,
)
touchpoints = st.builds(
    omnikit.Touchpoint,
    message_id=st.text(min_size=1, max_size=10),
    type=st.sampled_from(omnikit.TouchpointType),
    name=st.text(max_size=10),
    channel=st.sampled_from(["web", "store", "phone"]),
    direction=st.sampled_from(omnikit.Direction),
    occurred_at=moments,
    received_at=moments,
    identities=st.lists(identities, max_size=3, unique=True).map(tuple),
    properties=json_objects,
    traits=json_objects,
    context=contexts,
    trust=st.sampled_from(omnikit.Trust),
    claims_only=st.booleans(),
    customer_id=st.none() | st.text(min_size=1, max_size=5),
)
customers = st.builds(
    omnikit.Customer,
    id=st.text(min_size=1, max_size=10),
    identities=st.lists(identities, max_size=4, unique=True).map(tuple),
    traits=json_objects,
    consents=st.lists(consents, max_size=3).map(tuple),
    preferences=preferences,
    stats=stats,
    recent=st.lists(touchpoints, max_size=2).map(tuple),
)
products = st.builds(
    omnikit.Product,
    product_id=st.text(min_size=1, max_size=5),
    price=st.none() | money,
    name=st.none() | st.text(max_size=5),
)
orders = st.builds(
    omnikit.Order,
    order_id=st.text(min_size=1, max_size=5),
    placed_at=moments,
    status=st.sampled_from(omnikit.OrderStatus),
    items=st.lists(
        st.builds(
            omnikit.LineItem, product=products, quantity=st.integers(0, 5), price=st.none() | money
        ),
        max_size=3,
    ).map(tuple),
    total=money,
    refunded=money,
    fulfilment=st.none()
    | st.builds(
        omnikit.Fulfilment,
        option=st.sampled_from(omnikit.FulfilmentOption),
        status=st.sampled_from(omnikit.FulfilmentStatus),
        store_id=st.none() | st.text(max_size=4),
        updated_at=st.none() | moments,
    ),
)
merges = st.builds(
    omnikit.MergeRecord,
    id=st.text(min_size=1, max_size=5),
    customer_id=st.text(min_size=1, max_size=5),
    merged_ids=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3).map(tuple),
    message_id=st.text(min_size=1, max_size=5),
    via=st.lists(identities, max_size=2).map(tuple),
    at=moments,
)


@pytest.mark.parametrize(
    ("cls", "strategy"),
    [
        (omnikit.Customer, customers),
        (omnikit.Touchpoint, touchpoints),
        (omnikit.Order, orders),
        (omnikit.MergeRecord, merges),
    ],
    ids=["Customer", "Touchpoint", "Order", "MergeRecord"],
)
@given(data=st.data())
def test_round_trip_through_json(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """unstructure -> json.dumps -> json.loads -> structure gives back an equal model."""
    value = data.draw(strategy)
    conv = converters.make_converter()

    text = json.dumps(conv.unstructure(value))
    back = converters.structure(json.loads(text), cls, converter=conv)

    assert value == back
    if cls is omnikit.Customer:
        assert value.recent == back.recent


def test_a_structuring_error_names_the_path_and_the_reason() -> None:
    """Nested failures come back as `path: reason` lines."""
    data = {
        "order_id": "o1",
        "placed_at": "2026-11-01T10:00:00Z",
        "items": [
            {"product": {"product_id": "p1", "price": "1.00"}},
            {"product": {"product_id": "p2", "price": "2.00"}},
            {"product": {"product_id": "p3", "price": "abc"}, "quantity": "two"},
        ],
        "fulfilment": {"option": "teleport"},
        "colour": "red",
    }

    with pytest.raises(omnikit.ValidationError) as info:
        converters.structure(data, omnikit.Order)

    assert (
        "items[2].product.price: expected a number, got 'abc'",
        "items[2].quantity: expected an integer, got 'two'",
        "fulfilment.option: expected one of 'home_delivery', 'store_pickup', 'pickup_point', 'in_store', 'digital', got 'teleport'",
        "colour: unknown field",
    ) == info.value.errors


def test_unknown_fields_are_rejected_unless_lenient() -> None:
    """The strict converter refuses unknown keys; a lenient one drops them."""
    data = {"id": "c1", "colour": "red"}

    with pytest.raises(omnikit.ValidationError) as info:
        converters.structure(data, omnikit.Customer)
    lenient = converters.structure(
        data, omnikit.Customer, converter=converters.make_converter(strict=False)
    )

    assert ("colour: unknown field",) == info.value.errors
    assert "c1" == lenient.id


def test_money_stays_exact() -> None:
    """Decimals travel as strings and come back exact."""
    order = omnikit.Order(
        order_id="o",
        placed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        total=Decimal("0.10") + Decimal("0.20"),
    )

    data = converters.default_converter().unstructure(order)

    assert "0.30" == data["total"]
    assert Decimal("0.30") == converters.structure(data, omnikit.Order).total


@given(tp=touchpoints)
def test_the_stores_fast_touchpoint_codec_matches_the_converter(tp: omnikit.Touchpoint) -> None:
    """SQL stores write touchpoints by hand for speed, in exactly the converter's shape."""
    expected = converters.default_converter().unstructure(tp)
    del expected["customer_id"]

    stored = json.loads(json.dumps(touchpoint_json(tp)))

    assert expected == stored
    assert attrs.evolve(tp, customer_id="cus_1") == touchpoint_from(stored, "cus_1")
