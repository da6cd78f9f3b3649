"""An `AsyncStore` over the memory store: the async port, implemented, for the async driver."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Collection
from typing import Any

from omnikit._engines.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    IdentityRow,
    IdKey,
    MergeRow,
    SplitRow,
)
from omnikit._models.touchpoints import Touchpoint
from omnikit.stores.memory import MemoryStore


async def _turn() -> None:
    """A turn of the event loop: other tasks run before each answer, as on a network."""
    await asyncio.sleep(0)


class AsyncMemoryTransaction:
    """A memory store's transaction, awaited (`AsyncIngestTransaction`)."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx

    async def seen(self, message_ids: Collection[str]) -> set[str]:
        await _turn()
        return self._tx.seen(message_ids)  # type: ignore[no-any-return]

    async def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        await _turn()
        return self._tx.identities(keys)  # type: ignore[no-any-return]

    async def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        await _turn()
        return self._tx.customers(ids)  # type: ignore[no-any-return]

    async def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        await _turn()
        return self._tx.clusters(ids)  # type: ignore[no-any-return]

    async def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        await _turn()
        return self._tx.splits(keys)  # type: ignore[no-any-return]

    async def cluster_identities(self, cluster: str) -> list[IdKey]:
        await _turn()
        return self._tx.cluster_identities(cluster)  # type: ignore[no-any-return]

    async def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        await _turn()
        return self._tx.cluster_customers(cluster)  # type: ignore[no-any-return]

    async def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        await _turn()
        return self._tx.customer_touchpoints(ids)  # type: ignore[no-any-return]

    async def aliases(self, targets: Collection[str]) -> dict[str, str]:
        await _turn()
        return self._tx.aliases(targets)  # type: ignore[no-any-return]

    async def merges(self, customer_id: str) -> list[MergeRow]:
        await _turn()
        return self._tx.merges(customer_id)  # type: ignore[no-any-return]

    async def suppression_kinds(self) -> set[str]:
        await _turn()
        return self._tx.suppression_kinds()  # type: ignore[no-any-return]

    async def suppressed(self, digests: Collection[str]) -> set[str]:
        await _turn()
        return self._tx.suppressed(digests)  # type: ignore[no-any-return]

    async def apply(self, changes: Changes) -> None:
        await _turn()
        self._tx.apply(changes)


class AsyncMemoryStore:
    """
    A `MemoryStore` behind the `AsyncStore` port, every answer awaited.

    As on a database, one writer at a time, and a reader outside a transaction waits for the
    writer (it never sees half a transaction): one task's transaction and another's reads
    interleave on one event loop, in one thread, where the memory store's own lock cannot
    keep them apart. *calls* counts the store's answers, to show who asked.
    """

    url = "memory+async://"

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.sync = store or MemoryStore()
        self._lock = asyncio.Lock()
        self.calls = 0
        self.closed = False

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncMemoryTransaction]:
        async with self._lock:
            await _turn()
            self.calls += 1
            with self.sync.transaction() as tx:
                yield AsyncMemoryTransaction(tx)

    async def _read(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            await _turn()
            self.calls += 1
            return method(*args, **kwargs)

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        return await self._read(self.sync.customer, customer_id)  # type: ignore[no-any-return]

    async def find(self, key: IdKey) -> CustomerRecord | None:
        return await self._read(self.sync.find, key)  # type: ignore[no-any-return]

    async def has_identity_kind(self, kind: str) -> bool:
        return await self._read(self.sync.has_identity_kind, kind)  # type: ignore[no-any-return]

    async def merges(self, customer_id: str) -> list[MergeRow]:
        return await self._read(self.sync.merges, customer_id)  # type: ignore[no-any-return]

    async def merge(self, merge_id: str) -> MergeRow | None:
        return await self._read(self.sync.merge, merge_id)  # type: ignore[no-any-return]

    async def iter_customers(self, *, batch_size: int = 1000) -> AsyncIterator[CustomerRecord]:
        records = iter(self.sync.iter_customers(batch_size=batch_size))
        while page := await self._read(lambda: list(itertools.islice(records, batch_size))):
            for record in page:
                yield record

    async def secret(self) -> bytes:
        return await self._read(self.sync.secret)  # type: ignore[no-any-return]

    async def scrub(self) -> bool:
        return await self._read(self.sync.scrub)  # type: ignore[no-any-return]

    async def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        return await self._read(  # type: ignore[no-any-return]
            self.sync.touchpoints,
            customer_id,
            since=since,
            until=until,
            limit=limit,
            newest_first=newest_first,
        )

    async def touchpoint(self, message_id: str) -> Touchpoint | None:
        return await self._read(self.sync.touchpoint, message_id)  # type: ignore[no-any-return]

    async def touchpoint_counts(self) -> dict[str, int]:
        return await self._read(self.sync.touchpoint_counts)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        self.closed = True
