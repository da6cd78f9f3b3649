"""Ingestion as a flow: what it asks of the store's transaction, per chunk, and in which order."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import anyio
import pytest

import omnikit
from omnikit._engines.ingest import EngineFlow, ingest, replay
from omnikit._hub.flows import adrive, drive

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
FIRST_CHUNK = [
    "Seen",
    "SuppressionKinds",
    "Identities",
    "Customers",
    "Clusters",
    "Splits",
    "Apply",
]
"""What storing a chunk of new messages asks, when no message is late."""

_T = TypeVar("_T")


def logged(flow: EngineFlow[_T], log: list[str]) -> EngineFlow[_T]:
    """*flow*, writing the name of each request it makes to *log*."""
    answer: Any = None
    while True:
        try:
            request = flow.send(answer)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        log.append(type(request).__name__)
        answer = yield request


def viewed(n: int, *, minute: int = 0, anonymous_id: str | None = None) -> omnikit.Touchpoint:
    return omnikit.Touchpoint(
        message_id=f"m{n}",
        name="Product Viewed",
        channel="web",
        occurred_at=T0 + dt.timedelta(minutes=minute or n),
        received_at=T0,
        identities=(omnikit.Identity.from_normalized("anonymous_id", anonymous_id or f"a{n}"),),
    )


@pytest.mark.parametrize("size", [1, 10, 1000])
def test_a_chunk_costs_the_same_requests_whatever_its_size(size: int) -> None:
    """Requests are per chunk, never per message: seven, for new messages none of them late."""
    hub = omnikit.Hub()
    log: list[str] = []

    with hub.store.transaction() as tx:
        result, touched = drive(
            logged(ingest([viewed(n) for n in range(size)], hub._ingest_config()), log), tx
        )

    assert FIRST_CHUNK == log
    assert size == len(result.accepted) == len(touched)


def test_a_chunk_of_duplicates_asks_only_what_was_seen() -> None:
    """Messages stored before, or twice in the chunk, cost one request and change nothing."""
    hub = omnikit.Hub()
    hub._run(hub._ingest_chunk([viewed(1), viewed(2)]))
    log: list[str] = []

    with hub.store.transaction() as tx:
        result, touched = drive(
            logged(ingest([viewed(1), viewed(2), viewed(2)], hub._ingest_config()), log), tx
        )

    assert ["Seen"] == log
    assert ("m2", "m1", "m2") == result.duplicates
    assert set() == touched


def test_a_late_message_replays_its_cluster() -> None:
    """A message earlier than its cluster's latest is applied by replaying the cluster."""
    hub = omnikit.Hub()
    hub._run(hub._ingest_chunk([viewed(2, anonymous_id="a1")]))
    log: list[str] = []

    with hub.store.transaction() as tx:
        drive(logged(ingest([viewed(1, anonymous_id="a1")], hub._ingest_config()), log), tx)

    replayed = [
        "ClusterCustomers",
        "CustomerTouchpoints",
        "ClusterIdentities",
        "Identities",
        "Splits",
        "Apply",
    ]
    assert [*FIRST_CHUNK, *replayed] == log
    assert ["m1", "m2"] == [tp.message_id for tp in hub.touchpoints(next(iter(hub.customers())))]


class AsyncTransaction:
    """A memory store's transaction, awaited: each answer comes after a turn of the loop."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._tx, name)

        async def awaited(*args: Any) -> Any:
            await anyio.lowlevel.checkpoint()
            self.calls += 1
            return method(*args)

        return awaited


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_async_driver_runs_the_same_flow(anyio_backend: str) -> None:
    """`adrive` awaits each answer and returns what `drive` returns for the same flow."""
    del anyio_backend
    chunk = [viewed(3, anonymous_id="a1"), viewed(1, anonymous_id="a2"), viewed(2)]
    sync_hub, async_hub = omnikit.Hub(), omnikit.Hub()
    with sync_hub.store.transaction() as tx:
        expected = drive(ingest(list(chunk), sync_hub._ingest_config()), tx)

    with async_hub.store.transaction() as tx:
        awaited = AsyncTransaction(tx)
        got = await adrive(ingest(list(chunk), async_hub._ingest_config()), awaited)
        # A replay through the async driver too: the cluster of a1, recomputed.
        cluster = tx.identities([("anonymous_id", "a1")])[("anonymous_id", "a1")].cluster
        await adrive(replay(cluster, async_hub._ingest_config()), awaited)

    assert expected == got
    assert len(FIRST_CHUNK) + 6 == awaited.calls
    assert [c.id for c in sync_hub.customers()] == [c.id for c in async_hub.customers()]
