"""
An export is of one moment, on every store: a merge another writer commits while it is being
read is in none of its parts or in all of them.

The stores below run another writer's ingestion right after the export's transaction ends,
which is where a read outside that transaction would see it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import omnikit
from _async_memory import AsyncMemoryStore, AsyncMemoryTransaction
from omnikit.stores import IngestTransaction, Store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def _track(mid: str, minute: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": mid,
        "timestamp": f"2026-11-01T09:{minute:02}:00Z",
        **fields,
    }


EMAIL = {"context": {"traits": {"email": "x@example.com"}}}
BEFORE = [
    _track("m1", 0, anonymousId="a1"),
    _track("m2", 1, anonymousId="a2"),
    _track("m3", 2, anonymousId="a1", **EMAIL),  # the email joins a1's customer
]
MERGING = _track("m4", 3, anonymousId="a2", **EMAIL)
"""What the other writer ingests: a2's customer merges into a1's."""


class Interleaving:
    """A store whose next transaction is followed, once it ended, by *then* (another writer)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.then: Callable[[], object] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[IngestTransaction]:
        with self.store.transaction() as tx:
            yield tx
        then, self.then = self.then, None
        if then is not None:
            then()


def _summary(export: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """What a merge changes in an export: its touchpoints, merges and identities."""
    return (
        [tp["message_id"] for tp in export["touchpoints"]],
        [m["message_id"] for m in export["merges"]],
        [f"{i['kind']}:{i['value']}" for i in export["identities"]],
    )


def test_an_export_is_of_one_moment(store: Store) -> None:
    """
    A merge committed between the export's reads is not in the export; the next export
    holds it whole: its touchpoints, its identities and its audit trail.
    """
    seen = Interleaving(store)
    with (
        omnikit.Hub(seen, clock=FrozenClock(T0)) as hub,
        omnikit.Hub(store, clock=FrozenClock(T0)) as other,
    ):
        hub.ingest({"batch": BEFORE})
        customer = hub.customer(anonymous_id="a1")
        assert customer is not None
        before = hub.export(customer.id)

        seen.then = lambda: other.ingest(MERGING)
        during = hub.export(customer.id)
        after = hub.export(customer.id)

    assert seen.then is None  # the other writer did write, in the middle of the export
    assert before == during
    assert ["m1", "m2", "m3", "m4"] == _summary(after)[0]
    assert ["m4"] == _summary(after)[1]
    assert "anonymous_id:a2" in _summary(after)[2]


class InterleavingAsync(AsyncMemoryStore):
    """`Interleaving`, awaited: an async store whose next transaction is followed by *then*."""

    def __init__(self) -> None:
        super().__init__()
        self.then: Callable[[], object] | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncMemoryTransaction]:
        async with super().transaction() as tx:
            yield tx
        then, self.then = self.then, None
        if then is not None:
            then()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_export_awaited_is_of_one_moment(anyio_backend: str) -> None:
    """Over an async store too, a merge committed meanwhile is not in the export."""
    del anyio_backend
    store = InterleavingAsync()
    async with omnikit.AsyncHub(store, clock=FrozenClock(T0)) as hub:
        with omnikit.Hub(store.sync, clock=FrozenClock(T0)) as other:
            await hub.ingest({"batch": BEFORE})
            customer = await hub.customer(anonymous_id="a1")
            assert customer is not None
            before = await hub.export(customer.id)

            store.then = lambda: other.ingest(MERGING)
            during = await hub.export(customer.id)
            after = await hub.export(customer.id)

    assert store.then is None
    assert before == during
    assert ["m4"] == _summary(after)[1]
