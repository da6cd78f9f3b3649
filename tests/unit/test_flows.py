"""
Unmerge, forget and decide-and-record as flows: what each asks of the store's transaction.

Each asks for a bounded sequence of requests, the same whatever the customer's history holds,
and the async driver gives what the sync driver gives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from test_ingest_flow import AsyncTransaction, logged

import omnikit
from omnikit._engines.profile import to_us
from omnikit._engines.unmerge import merge_to_undo, unmerge
from omnikit._hub_flows import adrive, drive

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
REPLAY = [
    "ClusterCustomers",
    "CustomerTouchpoints",
    "ClusterIdentities",
    "Identities",
    "Splits",
    "Apply",
]
"""What replaying a cluster asks."""


def merged(hub: omnikit.Hub, *, views: int = 1) -> omnikit.Customer:
    """A customer merged from two: a visitor who gave their email, and a signed-in user."""
    at = T0
    for n in range(views):
        at = T0 + n * MINUTE
        hub.track(
            "Product Viewed",
            anonymous_id="a1",
            email="x@example.com",
            timestamp=at,
            message_id=f"view-{n}",
        )
    hub.track(
        "Product Viewed", anonymous_id="a2", user_id="u1", timestamp=at + MINUTE, message_id="u"
    )
    hub.track(
        "Signed In", user_id="u1", email="x@example.com", timestamp=at + 2 * MINUTE, message_id="in"
    )
    customer = hub.customer(user_id="u1")
    assert customer is not None
    return customer


def state(hub: omnikit.Hub) -> list[Any]:
    """Every customer, with their touchpoints."""
    return [
        (hub.converter.unstructure(c), [tp.message_id for tp in hub.touchpoints(c)])
        for c in hub.customers()
    ]


@pytest.mark.parametrize("views", [1, 20])
def test_unmerge_writes_the_splits_then_replays_the_cluster(views: int) -> None:
    """An unmerge asks for the customer and a replay, however long their history."""
    hub = omnikit.Hub()
    customer = merged(hub, views=views)
    row = merge_to_undo(hub._merge_rows(customer.id), customer.id, None)
    log: list[str] = []

    with hub.store.transaction() as tx:
        replayed = drive(
            logged(unmerge(customer.id, row, hub._ingest_config(), at_us=to_us(T0)), log), tx
        )

    assert ["Apply", "Customers", *REPLAY] == log
    assert 2 == len(replayed) == len(list(hub.customers()))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_unmerge_awaited_stores_what_it_stores_driven(anyio_backend: str) -> None:
    """`adrive` splits the customer as `drive` does, with the same requests."""
    del anyio_backend
    hubs = omnikit.Hub(), omnikit.Hub()
    results = []
    for index, hub in enumerate(hubs):
        customer = merged(hub)
        row = merge_to_undo(hub._merge_rows(customer.id), customer.id, None)
        flow = unmerge(customer.id, row, hub._ingest_config(), at_us=to_us(T0))
        with hub.store.transaction() as tx:
            if index:
                awaited = AsyncTransaction(tx)
                results.append(await adrive(flow, awaited))
            else:
                results.append(drive(flow, tx))

    assert results[0] == results[1]
    assert 2 + len(REPLAY) == awaited.calls
    assert state(hubs[0]) == state(hubs[1])


def test_the_merge_to_undo_is_the_latest_or_the_one_named() -> None:
    """Without a merge id, the latest merge; an unknown id, or no merge at all, is not found."""
    hub = omnikit.Hub()
    customer = merged(hub)
    rows = hub._merge_rows(customer.id)

    assert rows[-1] == merge_to_undo(rows, customer.id, None)
    assert rows[0] == merge_to_undo(rows, customer.id, rows[0].record.id)
    with pytest.raises(omnikit.NotFoundError):
        merge_to_undo(rows, customer.id, "mrg_nobody")
    with pytest.raises(omnikit.NotFoundError):
        merge_to_undo([], customer.id, None)
