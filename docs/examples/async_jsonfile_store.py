"""
The async twin of the JSON-file store: the same file and tables, awaited on the event loop.

The example of "An async twin" in "Write a store on your own database". It keeps
`JSONFileStore` (`jsonfile_store.py`, beside it) for the tables, the rows and the reads, and
adds what many tasks sharing one store need: writers take turns on an `asyncio.Lock`, and a
transaction ended by an error or a cancellation leaves nothing, since nothing is written
before its block ends.

Every method is a coroutine that runs without awaiting anything, so no other task runs in
the middle of one: a read sees the tables before or after a commit, never half of one. The
file is written on the event loop at commit, a few milliseconds for a few thousand
customers; on your database, `transaction()` awaits its driver's BEGIN, COMMIT and ROLLBACK
instead, and each read awaits its query.

    store = await AsyncJSONFileStore.aopen("jsonfile:///var/lib/shop/omnikit.json")
    async with omnikit.AsyncHub(store) as hub:
        ...
    await store.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Collection

from jsonfile_store import JSONFileStore, JSONFileTransaction

from omnikit import Touchpoint
from omnikit.stores import records


# --8<-- [start:store]
class AsyncJSONFileStore:
    """
    `JSONFileStore`, awaited: an `omnikit.stores.AsyncStore` for one process's event loop.

    Args:
        store: The sync store whose file and tables this one shares; use it only through
            this one from then on.
    """

    def __init__(self, store: JSONFileStore) -> None:
        self.sync = store
        self.url = store.url
        self._turn = asyncio.Lock()  # one writer at a time, across the loop's tasks

    @classmethod
    async def aopen(cls, url: str) -> AsyncJSONFileStore:
        """Open `jsonfile:///path.json`, reading the file in a worker thread."""
        return cls(await asyncio.to_thread(JSONFileStore.from_url, url))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncJSONFileTransaction]:
        """
        Begin a write transaction, once the writer before has committed or rolled back.

        The block works on copies of the tables; the file is written and the copies put in
        place only if it ends normally. An error, or `asyncio.CancelledError` (a cancelled
        task), raised inside the block or while it waits for its turn, skips the commit:
        nothing of it lands, and the lock is released.
        """
        async with self._turn:
            tx = self.sync.begin()
            yield AsyncJSONFileTransaction(tx)
            self.sync.commit(tx)

    # --8<-- [end:store]
    # --8<-- [start:reads]
    async def customer(self, customer_id: str) -> records.CustomerRecord | None:
        return self.sync.customer(customer_id)

    async def find(self, key: records.IdKey) -> records.CustomerRecord | None:
        return self.sync.find(key)

    async def has_identity_kind(self, kind: str) -> bool:
        return self.sync.has_identity_kind(kind)

    async def merges(self, customer_id: str) -> list[records.MergeRow]:
        return self.sync.merges(customer_id)

    async def merge(self, merge_id: str) -> records.MergeRow | None:
        return self.sync.merge(merge_id)

    async def iter_customers(
        self, *, batch_size: int = 1000
    ) -> AsyncIterator[records.CustomerRecord]:
        """Every customer in id order; other tasks run between customers."""
        for record in self.sync.iter_customers(batch_size=batch_size):
            yield record
            await asyncio.sleep(0)

    async def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        return self.sync.touchpoints(
            customer_id, since=since, until=until, limit=limit, newest_first=newest_first
        )

    async def touchpoint(self, message_id: str) -> Touchpoint | None:
        return self.sync.touchpoint(message_id)

    async def touchpoint_counts(self) -> dict[str, int]:
        return self.sync.touchpoint_counts()

    async def secret(self) -> bytes:
        return self.sync.secret()

    async def scrub(self) -> bool:
        return self.sync.scrub()

    async def aclose(self) -> None:
        """Wait for the writer under way, if any; every commit is already in the file."""
        async with self._turn:
            self.sync.close()


# --8<-- [end:reads]
# --8<-- [start:transaction]
class AsyncJSONFileTransaction:
    """`AsyncIngestTransaction` over a `JSONFileTransaction`: it reads its own writes."""

    def __init__(self, tx: JSONFileTransaction) -> None:
        self.tx = tx

    async def seen(self, message_ids: Collection[str]) -> set[str]:
        return self.tx.seen(message_ids)

    async def identities(
        self, keys: Collection[records.IdKey]
    ) -> dict[records.IdKey, records.IdentityRow]:
        return self.tx.identities(keys)

    async def customers(self, ids: Collection[str]) -> dict[str, records.CustomerRecord]:
        return self.tx.customers(ids)

    async def clusters(self, ids: Collection[str]) -> dict[str, records.ClusterRow]:
        return self.tx.clusters(ids)

    async def splits(self, keys: Collection[records.IdKey]) -> list[records.SplitRow]:
        return self.tx.splits(keys)

    async def cluster_identities(self, cluster: str) -> list[records.IdKey]:
        return self.tx.cluster_identities(cluster)

    async def cluster_customers(self, cluster: str) -> dict[str, records.CustomerRecord]:
        return self.tx.cluster_customers(cluster)

    async def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        return self.tx.customer_touchpoints(ids)

    async def aliases(self, targets: Collection[str]) -> dict[str, str]:
        return self.tx.aliases(targets)

    async def merges(self, customer_id: str) -> list[records.MergeRow]:
        return self.tx.merges(customer_id)

    async def suppression_kinds(self) -> set[str]:
        return self.tx.suppression_kinds()

    async def suppressed(self, digests: Collection[str]) -> set[str]:
        return self.tx.suppressed(digests)

    async def apply(self, changes: records.Changes) -> None:
        self.tx.apply(changes)


# --8<-- [end:transaction]
