"""
Refunds and cancellations hold: counted once, never past the order, in the order's currency,
only for orders the customer placed; `Hub.orders()`, stats, RFM and the rules agree on them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit._engines.profile import ProfileState, from_us, to_us
from omnikit._models.orders import OrderStatus
from omnikit.rules import customer_data
from strategies import chunked

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=10)


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def event(name: str, mid: str, minutes: int, user: str = "u1", **properties: Any) -> dict:
    return {
        "type": "track",
        "event": name,
        "messageId": mid,
        "userId": user,
        "timestamp": at(minutes),
        "properties": properties,
    }


def _stats(hub: omnikit.Hub, user: str = "u1") -> Any:
    found = hub.customer(user_id=user)
    assert found is not None
    return found.stats


def test_a_refund_sent_twice_under_two_message_ids_counts_once(hub: omnikit.Hub) -> None:
    """A client resending a refund with a new message id gives the money back once."""
    hub.ingest(event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"))
    refund = {"order_id": "o1", "total": 30, "currency": "EUR"}
    hub.ingest(event("Order Refunded", "m2", 5, **refund))
    hub.ingest(event("Order Refunded", "m3", 5, **refund))

    stats = _stats(hub)
    [order] = hub.orders(hub.customer(user_id="u1"))  # type: ignore[arg-type]

    assert {"EUR": Decimal(70)} == stats.revenue
    assert {"EUR": Decimal(30)} == stats.refunds
    assert Decimal(30) == order.refunded


def test_two_refunds_of_one_amount_with_their_own_ids_both_count(hub: omnikit.Hub) -> None:
    """Two partial refunds of the same amount are told apart by their `refund_id`."""
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Refunded", "m2", 5, order_id="o1", refund_id="r1", total=30),
                event("Order Refunded", "m3", 6, order_id="o1", refund_id="r2", total=30),
                event("Order Refunded", "m4", 7, order_id="o1", refund_id="r2", total=30),
            ]
        }
    )

    assert {"EUR": Decimal(40)} == _stats(hub).revenue


def test_refunds_never_take_more_than_the_order(hub: omnikit.Hub) -> None:
    """
    A full refund repeated, or refunds adding up past the order's total, take the order to
    zero and no further: revenue is never negative from refunds.
    """
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Completed", "m2", 1, order_id="o2", total=50, currency="EUR"),
                event("Order Refunded", "m3", 5, order_id="o1", total=100, reason="damaged"),
                event("Order Refunded", "m4", 6, order_id="o1", total=100, reason="late"),
                event("Order Refunded", "m5", 7, order_id="o1", total=80),
                event("Order Refunded", "m6", 8, order_id="o2"),  # no amount: all of it
                event("Order Refunded", "m7", 9, order_id="o2"),
            ]
        }
    )
    stats = _stats(hub)
    orders = hub.orders(hub.customer(user_id="u1"))  # type: ignore[arg-type]

    assert {"EUR": Decimal(0)} == stats.revenue
    assert {"EUR": Decimal(150)} == stats.refunds
    assert [(Decimal(100), OrderStatus.REFUNDED), (Decimal(50), OrderStatus.REFUNDED)] == [
        (o.refunded, o.status) for o in orders
    ]


def test_a_refund_naming_no_currency_is_in_its_orders(hub: omnikit.Hub) -> None:
    """A refund without a currency comes off its order, in the order's currency."""
    hub.ingest(event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"))
    hub.ingest(event("Order Refunded", "m2", 5, order_id="o1", total=25))

    stats = _stats(hub)

    assert {"EUR": Decimal(75)} == stats.revenue
    assert {"EUR": Decimal(25)} == stats.refunds


def test_a_refund_of_an_order_never_placed_takes_nothing_off(hub: omnikit.Hub) -> None:
    """
    A refund naming an order the customer never completed, or naming no order, stays in their
    history and leaves revenue alone.
    """
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Refunded", "m2", 5, order_id="o-unknown", total=60, currency="EUR"),
                event("Order Refunded", "m3", 6, total=10, currency="EUR"),
                event("Order Completed", "m4", 7, "u2", order_id="o2", total=40, currency="EUR"),
                event("Order Refunded", "m5", 8, order_id="o2", total=40, currency="EUR"),
            ]
        }
    )
    stats = _stats(hub)
    names = [tp.name for tp in hub.touchpoints(hub.customer(user_id="u1"))]  # type: ignore[arg-type]

    assert {"EUR": Decimal(100)} == stats.revenue
    assert {} == {c: a for c, a in stats.refunds.items() if a}
    assert 3 == names.count("Order Refunded")
    assert {"EUR": Decimal(40)} == _stats(hub, "u2").revenue


def test_a_refund_that_arrives_before_its_order_counts_once_the_order_is_in(
    hub: omnikit.Hub,
) -> None:
    """A refund received (or stamped) before its order comes off it when the order arrives."""
    hub.ingest(event("Order Refunded", "m2", 0, order_id="o1", total=30, currency="EUR"))
    assert {} == {c: a for c, a in _stats(hub).revenue.items() if a}

    hub.ingest(event("Order Completed", "m1", 5, order_id="o1", total=100, currency="EUR"))

    assert {"EUR": Decimal(70)} == _stats(hub).revenue


def test_a_cancelled_order_counts_nowhere(hub: omnikit.Hub) -> None:
    """
    A cancelled order is in no order count, revenue, refunds, RFM or last order time, in any
    arrival order; `Hub.orders()` still lists it, as cancelled.
    """
    hub.ingest(event("Order Cancelled", "m3", 10, order_id="o2"))
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Completed", "m2", 5, order_id="o2", total=50, currency="EUR"),
                event("Order Refunded", "m4", 11, order_id="o2", total=50),
            ]
        }
    )
    found = hub.customer(user_id="u1")
    assert found is not None
    orders = hub.orders(found)

    assert 1 == found.stats.orders
    assert {"EUR": Decimal(100)} == found.stats.revenue
    assert {} == {c: a for c, a in found.stats.refunds.items() if a}
    assert T0 == found.stats.last_order_at
    assert (1, 100.0) == (hub.rfm(now=NOW)[found.id].orders, hub.rfm(now=NOW)[found.id].revenue)
    assert [OrderStatus.COMPLETED, OrderStatus.CANCELLED] == [o.status for o in orders]


def test_only_cancelled_orders_make_no_rfm_score(hub: omnikit.Hub) -> None:
    """A customer whose every order was cancelled has not ordered."""
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Cancelled", "m2", 1, order_id="o1"),
            ]
        }
    )
    stats = _stats(hub)

    assert (0, None) == (stats.orders, stats.last_order_at)
    assert {} == hub.rfm(now=NOW)


def test_recommendations_read_refunds_in_the_hubs_currency() -> None:
    """
    An order naming no currency is in the hub's: a refund naming that currency returns it
    for recommendations as for stats, so a returned basket teaches no pairing.
    """
    hub = omnikit.Hub(currency="EUR")
    products = [{"product_id": "p1", "price": 10}, {"product_id": "p2", "price": 20}]
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", products=products),
                event("Order Refunded", "m2", 5, order_id="o1", currency="EUR"),
            ]
        }
    )

    assert {"EUR": Decimal(0)} == _stats(hub).revenue
    assert {} == hub.bought_together().pairs


def test_profiles_with_refunds_and_cancellations_survive_storage() -> None:
    """The refunds and cancellations a profile holds are stored and read back unchanged."""
    hub = omnikit.Hub()
    hub.ingest(
        {
            "batch": [
                event("Order Completed", "m1", 0, order_id="o1", total=100, currency="EUR"),
                event("Order Completed", "m2", 1, order_id="o2", total=50, currency="EUR"),
                event("Order Refunded", "m3", 2, order_id="o1", total=30),
                event("Order Cancelled", "m4", 3, order_id="o2"),
            ]
        }
    )
    found = hub.customer(user_id="u1")
    assert found is not None
    state = ProfileState()
    for tp in hub.touchpoints(found):
        state.apply(tp, to_us(tp.occurred_at))

    again = ProfileState.from_json(state.to_json())

    assert state.to_customer(found.id, []).stats == again.to_customer(found.id, []).stats
    assert found.stats == again.to_customer(found.id, []).stats


def test_profiles_stored_before_refunds_were_kept_by_order_still_hold() -> None:
    """
    A profile an earlier version stored (refunds summed per currency, orders without their
    time) loads, and its refunds take no more than its revenue.
    """
    old = {
        "traits": {},
        "consents": {},
        "prefs": {},
        "first": 1,
        "last": 2,
        "count": 2,
        "channels": {"web": [1, 2, 2]},
        "orders": 0,
        "revenue": {},
        "refunds": {"EUR": "150", "USD": "5"},
        "order_book": {"o1": [True, "100", 1, "m1", "EUR", True, 1, "m1"]},
        "last_order": 1,
        "segments": {},
    }

    stats = ProfileState.from_json(old).to_customer("cus_1", []).stats

    assert (1, from_us(1)) == (stats.orders, stats.last_order_at)
    assert {"EUR": Decimal(0)} == stats.revenue
    assert {"EUR": Decimal(100)} == stats.refunds


# -- the property: every view tells one story ---------------------------------------------------

_ORDER_IDS = ("o1", "o2", "o3")
_USERS = ("u1", "u2")


@st.composite
def _order_story(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Orders, updates, refunds and cancellations over two customers and three order ids."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 16))):
        kind = draw(
            st.sampled_from(("order", "order", "update", "refund", "refund", "cancel", "bare"))
        )
        properties: dict[str, Any] = {"order_id": draw(st.sampled_from(_ORDER_IDS))}
        if draw(st.integers(0, 3)):
            properties["currency"] = draw(st.sampled_from(("EUR", "eur", "USD")))
        name = {
            "order": "Order Completed",
            "update": "Order Updated",
            "refund": "Order Refunded",
            "cancel": "Order Cancelled",
            "bare": "Order Refunded",
        }[kind]
        if kind == "bare":
            del properties["order_id"]
        if kind == "cancel":
            properties.pop("currency", None)
        elif kind == "refund" and draw(st.integers(0, 3)) == 0:
            pass  # a refund of the whole order
        elif kind == "refund" and draw(st.booleans()):
            properties["products"] = [{"product_id": "p1", "price": draw(st.integers(0, 60))}]
        elif kind != "update" or draw(st.booleans()):
            properties["total"] = draw(st.integers(-5, 120))
        if kind == "refund" and draw(st.integers(0, 3)) == 0:
            properties["refund_id"] = draw(st.sampled_from(("r1", "r2")))
        minute = draw(st.integers(0, 30))
        out.append(event(name, f"m{i:02d}", minute, draw(st.sampled_from(_USERS)), **properties))
    return out


def _resent(story: list[dict[str, Any]], picks: list[int]) -> list[dict[str, Any]]:
    """*story* with the messages at *picks* sent again under new message ids."""
    again = [
        {**story[i % len(story)], "messageId": f"{story[i % len(story)]['messageId']}-again-{n}"}
        for n, i in enumerate(picks)
    ]
    return story + again


def _views(hub: omnikit.Hub) -> dict[str, Any]:
    """Each customer's figures, checked to agree across orders, stats, RFM and the rules."""
    out: dict[str, Any] = {}
    scores = hub.rfm(now=NOW)
    for found in hub.customers():
        stats = found.stats
        counted = [o for o in hub.orders(found) if o.status is not OrderStatus.CANCELLED]
        revenue: dict[str, Decimal] = {}
        refunds: dict[str, Decimal] = {}
        for o in counted:
            assert Decimal(0) <= o.refunded <= max(o.total, Decimal(0))
            revenue[o.currency] = revenue.get(o.currency, Decimal(0)) + o.total - o.refunded
            refunds[o.currency] = refunds.get(o.currency, Decimal(0)) + o.refunded
        for currency in {*revenue, *stats.revenue}:
            assert revenue.get(currency, 0) == stats.revenue.get(currency, 0), currency
        for currency in {*refunds, *stats.refunds}:
            assert refunds.get(currency, 0) == stats.refunds.get(currency, 0), currency
        assert len(counted) == stats.orders
        assert max((o.placed_at for o in counted), default=None) == stats.last_order_at
        if counted:
            score = scores[found.id]
            assert (len(counted), float(sum(revenue.values()))) == (score.orders, score.revenue)
        else:
            assert found.id not in scores
        data = customer_data(found, now=NOW)["stats"]
        assert (stats.orders, float(sum(revenue.values()))) == (data["orders"], data["revenue"])
        replay = ProfileState()  # what a rule set's replay (`RuleSet.simulate`) folds
        for tp in hub.touchpoints(found):
            replay.apply(tp, to_us(tp.occurred_at), currency=hub.currency)
        assert stats == replay.to_customer(found.id, []).stats
        out[found.id] = (stats.orders, stats.revenue, stats.refunds, stats.last_order_at)
    return out


@given(
    data=st.data(),
    story=_order_story(),
    picks=st.lists(st.integers(0, 100), max_size=6),
)
def test_orders_stats_rfm_and_rules_agree_in_any_arrival_order(
    data: st.DataObject, story: list[dict[str, Any]], picks: list[int]
) -> None:
    """
    Whatever the sequence of orders, updates, refunds and cancellations, the arrival order,
    the batching and the resends under new message ids: `Hub.orders()`, stats, RFM and the
    rules' view tell the same figures, and the same as an in-order ingest of each message once.
    """
    reference = omnikit.Hub()
    reference.ingest({"batch": story}).raise_for_failures()
    other = omnikit.Hub()
    shuffled = data.draw(st.permutations(_resent(story, picks)))
    for batch in data.draw(chunked(list(shuffled))):
        other.ingest({"batch": batch}).raise_for_failures()

    assert _views(reference) == _views(other)
