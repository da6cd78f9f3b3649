"""An order counts once, by its id, in stats, revenue, RFM and rules; refunds come off revenue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit._engines.profile import ProfileState
from omnikit.rules import Action, Rule, RuleSet, customer
from strategies import chunked

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def completed(mid: str, minutes: int, order_id: str | None, total: float, **who: Any) -> dict:
    properties: dict[str, Any] = {"total": total, "currency": "EUR"}
    if order_id is not None:
        properties["order_id"] = order_id
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": mid,
        "timestamp": at(minutes),
        "properties": properties,
        **(who or {"userId": "u1"}),
    }


def refunded(mid: str, minutes: int, order_id: str, total: float) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Refunded",
        "messageId": mid,
        "userId": "u1",
        "timestamp": at(minutes),
        "properties": {"order_id": order_id, "total": total, "currency": "EUR"},
    }


def test_one_order_under_two_message_ids_counts_once(hub: omnikit.Hub) -> None:
    """
    A client that resends an order with a new message id doesn't make it two orders: stats,
    revenue, RFM and rules see one, as `Hub.orders()` does.
    """
    hub.ingest({"batch": [completed("m1", 0, "o1", 80), completed("m2", 1, "o1", 80)]})
    rules = RuleSet(
        [Rule(id="repeat", condition=customer.stats.orders >= 2, actions=(Action.tag("r"),))]
    )

    found = hub.customer(user_id="u1")
    assert found is not None

    assert 1 == len(hub.orders(found))
    assert 1 == found.stats.orders
    assert {"EUR": Decimal(80)} == found.stats.revenue
    assert 80 == hub.rfm(now=T0)[found.id].revenue
    assert () == hub.decide(found, ruleset=rules).rule_ids


def test_the_latest_event_of_an_order_sets_its_amount(hub: omnikit.Hub) -> None:
    """
    The same order id with two totals: the later event wins in stats and in `Hub.orders()`,
    whatever order they arrive in.
    """
    hub.ingest(completed("m2", 5, "o1", 120))
    hub.ingest(completed("m1", 0, "o1", 100))

    found = hub.customer(user_id="u1")
    assert found is not None
    [order] = hub.orders(found)

    assert Decimal(120) == order.total
    assert {"EUR": Decimal(120)} == found.stats.revenue
    assert 1 == found.stats.orders


def test_orders_without_an_id_count_per_message(hub: omnikit.Hub) -> None:
    """Without an order id there is nothing to tell two orders apart: each message counts."""
    hub.ingest({"batch": [completed("m1", 0, None, 10), completed("m2", 1, None, 10)]})

    stats = hub.customer(user_id="u1").stats  # type: ignore[union-attr]

    assert 2 == stats.orders
    assert {"EUR": Decimal(20)} == stats.revenue


def test_refunds_come_off_revenue(hub: omnikit.Hub) -> None:
    """Revenue is net of refunds; the refunds are kept apart as well, and RFM reads the net."""
    hub.ingest(
        {
            "batch": [
                completed("m1", 0, "o1", 100),
                completed("m2", 5, "o2", 50),
                refunded("m3", 10, "o1", 30),
            ]
        }
    )

    found = hub.customer(user_id="u1")
    assert found is not None

    assert {"EUR": Decimal(120)} == found.stats.revenue
    assert {"EUR": Decimal(30)} == found.stats.refunds
    assert 120 == hub.rfm(now=T0)[found.id].revenue
    orders = hub.orders(found)
    assert found.stats.revenue["EUR"] == sum(o.total - o.refunded for o in orders)


def test_a_shared_order_counts_once_after_a_merge_and_again_per_side_after_an_unmerge(
    hub: omnikit.Hub,
) -> None:
    """
    Two profiles holding the same order merge into one order, not two; the unmerge gives each
    side its own count back.
    """
    hub.ingest(completed("m1", 0, "o1", 40, anonymousId="a1"))
    hub.ingest(completed("m2", 1, "o1", 40, userId="u1"))
    hub.ingest(completed("m3", 2, "o2", 10, userId="u1"))
    hub.ingest(
        {
            "type": "identify",
            "messageId": "m4",
            "timestamp": at(3),
            "userId": "u1",
            "anonymousId": "a1",
        }
    )
    merged = hub.customer(user_id="u1")
    assert merged is not None
    assert merged == hub.customer(anonymous_id="a1")

    assert 2 == merged.stats.orders
    assert {"EUR": Decimal(50)} == merged.stats.revenue
    assert 2 == len(hub.orders(merged))

    hub.unmerge(merged)
    user = hub.customer(user_id="u1")
    visitor = hub.customer(anonymous_id="a1")
    assert user is not None
    assert visitor is not None
    assert user.id != visitor.id

    assert (2, {"EUR": Decimal(50)}) == (user.stats.orders, user.stats.revenue)
    assert (1, {"EUR": Decimal(40)}) == (visitor.stats.orders, visitor.stats.revenue)


def test_profiles_stored_before_orders_were_kept_by_id_still_load() -> None:
    """A profile as an earlier version stored it (no order book, 6-field consents) loads."""
    old = {
        "traits": {"tier": ["gold", 1, "m1", "crm"]},
        "consents": {"|marketing": [True, 1, "m1", "web", None, "marketing"]},
        "prefs": {},
        "first": 1,
        "last": 2,
        "count": 2,
        "channels": {"web": [1, 2, 2]},
        "orders": 2,
        "revenue": {"EUR": "30"},
        "refunds": {"EUR": "5"},
        "last_order": 2,
        "segments": {"vip": [True, 2, "m2"]},
    }

    found = ProfileState.from_json(old).to_customer("cus_1", [])

    assert 2 == found.stats.orders
    assert {"EUR": Decimal(25)} == found.stats.revenue
    assert {"EUR": Decimal(5)} == found.stats.refunds
    assert ("vip",) == found.segments
    assert found.consents[0].expires_at is None
    state = ProfileState.from_json(old)
    assert state.to_json() == ProfileState.from_json(state.to_json()).to_json()


_ORDER_IDS = ("o1", "o2", "o3")
_PEOPLE = ({"userId": "u1"}, {"userId": "u2"}, {"anonymousId": "a1"}, {"anonymousId": "a2"})


@st.composite
def _order_stream(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Orders, refunds and identifies over a few people and order ids, so they collide."""
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 14))):
        who = dict(draw(st.sampled_from(_PEOPLE)))
        minute = draw(st.integers(0, 30))
        kind = draw(st.sampled_from(("order", "order", "update", "anonymous", "refund", "link")))
        if kind == "link":
            out.append(
                {
                    "type": "identify",
                    "messageId": f"m{i}",
                    "timestamp": at(minute),
                    "userId": draw(st.sampled_from(("u1", "u2"))),
                    "anonymousId": draw(st.sampled_from(("a1", "a2"))),
                }
            )
            continue
        order_id = None if kind == "anonymous" else draw(st.sampled_from(_ORDER_IDS))
        total = draw(st.integers(1, 90))
        message = completed(f"m{i}", minute, order_id, total, **who)
        if kind == "refund":
            message["event"] = "Order Refunded"
        elif kind == "update":
            message["event"] = "Order Updated"
            if draw(st.booleans()):  # a status update only: the amount stands
                del message["properties"]["total"]
        out.append(message)
    return out


def _figures(hub: omnikit.Hub) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for found in hub.customers():
        orders = hub.orders(found)
        history = hub.touchpoints(found)
        anonymous = [
            tp for tp in history if tp.name == "Order Completed" and "order_id" not in tp.properties
        ]
        # Refunds come off the orders they name, each no further than its order's total.
        refunds = sum((o.refunded for o in orders), Decimal(0))
        assert all(Decimal(0) <= o.refunded <= max(o.total, Decimal(0)) for o in orders)
        gross = sum((o.total for o in orders), Decimal(0)) + sum(
            (Decimal(tp.properties["total"]) for tp in anonymous), Decimal(0)
        )
        assert len(orders) + len(anonymous) == found.stats.orders
        assert gross - refunds == found.stats.revenue.get("EUR", Decimal(0))
        out[found.id] = (found.stats, [(o.order_id, o.total) for o in orders])
    return out


@given(data=st.data(), stream=_order_stream())
def test_stats_agree_with_the_orders_in_any_arrival_order(
    data: st.DataObject, stream: list[dict[str, Any]]
) -> None:
    """
    Whatever the arrival order and batching, each customer's order count and net revenue are
    what their folded orders say, and the same as for an in-order ingest.
    """
    reference = omnikit.Hub()
    reference.ingest({"batch": stream}).raise_for_failures()
    other = omnikit.Hub()
    for batch in data.draw(chunked(list(data.draw(st.permutations(stream))))):
        other.ingest({"batch": batch}).raise_for_failures()

    assert _figures(reference) == _figures(other)
