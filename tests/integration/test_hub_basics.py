"""The hub on every store: ingest, look up, history, merges, late events, erase, export."""

from __future__ import annotations

import pytest

import omnikit
from omnikit.errors import ValidationError


def msg(mid, kind="track", at="2026-11-01T10:00:00Z", **fields):
    return {"type": kind, "messageId": mid, "timestamp": at, **fields}


def test_anonymous_visitor_becomes_one_customer(hub: omnikit.Hub) -> None:
    """
    A web visitor who logs in, then pays in store with a loyalty card, is one customer found
    by any of their identifiers.
    """
    hub.ingest(msg("m1", event="Product Viewed", anonymousId="a1", context={"channel": "web"}))
    hub.ingest(
        msg(
            "m2",
            "identify",
            at="2026-11-01T10:05:00Z",
            anonymousId="a1",
            userId="u1",
            traits={"email": "Ana@Example.com"},
        )
    )
    hub.ingest(
        msg(
            "m3",
            event="Order Completed",
            at="2026-11-02T12:00:00Z",
            userId="u1",
            context={"channel": "store", "externalIds": [{"id": "L-1", "type": "loyalty_id"}]},
            properties={"order_id": "o1", "total": 30},
        )
    )

    by_email = hub.customer(email="ana@example.com")
    by_card = hub.customer(loyalty_id="L-1")
    by_anon = hub.customer(anonymous_id="a1")

    assert by_email is not None
    assert by_email.id == by_card.id == by_anon.id  # type: ignore[union-attr]
    assert ("web", "store") == by_email.stats.channels
    assert ["m1", "m2", "m3"] == [tp.message_id for tp in hub.touchpoints(by_email)]


def test_late_event_rewrites_history(hub: omnikit.Hub) -> None:
    """
    An event that happened before everything else arrives last: the customer is the same as if
    it had arrived first.
    """
    hub.ingest(
        msg(
            "m2",
            event="Product Viewed",
            at="2026-11-01T10:05:00Z",
            anonymousId="a1",
            context={"traits": {"email": "ana@example.com"}},
        )
    )
    first = hub.customer(anonymous_id="a1")
    hub.ingest(
        msg(
            "m1",
            event="Product Viewed",
            at="2026-11-01T09:00:00Z",
            anonymousId="a2",
            context={"traits": {"email": "ana@example.com"}},
        )
    )

    customer = hub.customer(email="ana@example.com")

    assert customer is not None
    assert customer.stats.touchpoints == 2
    assert hub.customer(first.id).id == customer.id  # type: ignore[union-attr]
    assert ["m1", "m2"] == [tp.message_id for tp in hub.touchpoints(customer)]


def test_merge_and_unmerge(hub: omnikit.Hub) -> None:
    """
    Two people who share a household email are merged by it; unmerging the merge gives each
    their own profile, history and id back.
    """
    hub.ingest(
        msg(
            "m1",
            at="2026-11-01T09:00:00Z",
            event="Product Viewed",
            anonymousId="a1",
            context={"externalIds": [{"id": "L-1", "type": "loyalty_id"}]},
        )
    )
    hub.ingest(
        msg(
            "m2",
            at="2026-11-01T09:10:00Z",
            event="Product Viewed",
            anonymousId="a2",
            context={"traits": {"email": "family@example.com"}},
        )
    )
    a = hub.customer(anonymous_id="a1")
    b = hub.customer(anonymous_id="a2")
    hub.ingest(
        msg(
            "m3",
            at="2026-11-01T09:20:00Z",
            event="Cart Viewed",
            anonymousId="a1",
            context={"traits": {"email": "family@example.com"}},
        )
    )
    merged = hub.customer(anonymous_id="a2")
    assert merged.id == a.id  # type: ignore[union-attr]
    [merge] = hub.merges(merged)  # type: ignore[arg-type]
    assert (b.id,) == merge.merged_ids  # type: ignore[union-attr]

    sides = hub.unmerge(merged, merge.id)  # type: ignore[arg-type]

    assert [a.id, b.id] == [c.id for c in sides]  # type: ignore[union-attr]
    assert hub.customer(anonymous_id="a2").id == b.id  # type: ignore[union-attr]
    assert hub.customer(anonymous_id="a1").id == a.id  # type: ignore[union-attr]
    # m3 carried both people's identifiers; the email outranks the anonymous id, so it goes
    # to the side that owns the email.
    assert ["m1"] == [tp.message_id for tp in hub.touchpoints(a.id)]  # type: ignore[union-attr]
    assert ["m2", "m3"] == [tp.message_id for tp in hub.touchpoints(b.id)]  # type: ignore[union-attr]


def test_forget_and_export(hub: omnikit.Hub) -> None:
    """Export returns everything held; forget erases it."""
    hub.ingest(
        msg("m1", "identify", userId="u1", traits={"email": "ana@example.com", "name": "Ana"})
    )
    hub.ingest(
        msg("m2", event="Order Completed", userId="u1", properties={"order_id": "o1", "total": 10})
    )
    customer = hub.customer(user_id="u1")

    exported = hub.export(customer)  # type: ignore[arg-type]
    report = hub.forget(customer)  # type: ignore[arg-type]

    assert "Ana" == exported["customer"]["traits"]["name"]
    assert ["m1", "m2"] == [t["message_id"] for t in exported["touchpoints"]]
    assert 2 == report.touchpoints
    assert hub.customer(user_id="u1") is None
    assert hub.customer(email="ana@example.com") is None
    assert hub.store.touchpoint("m1") is None


def test_customers_streams_page_by_page(hub: omnikit.Hub) -> None:
    """
    `customers(batch_size=...)` gives every customer once, in id order, a page per trip to
    the store; a stream left unread ends cleanly; a bad size is refused when asked for.
    """
    hub.ingest(
        {"batch": [msg(f"m{n}", event="Product Viewed", anonymousId=f"a{n}") for n in range(5)]}
    )

    ids = [customer.id for customer in hub.customers(batch_size=2)]
    stream = hub.customers(batch_size=2)
    first = next(stream)
    stream.close()

    assert 5 == len(set(ids))
    assert sorted(ids) == ids
    assert ids == [customer.id for customer in hub.customers()]
    assert ids[0] == first.id
    with pytest.raises(ValidationError, match="batch_size: expected a positive integer"):
        hub.customers(batch_size=0)
