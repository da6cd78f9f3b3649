"""
A load's transactions: the customers the load itself wrote, kept for its next transactions.

Ingesting history, most customers a transaction reads were written by the transactions just
before it: reading them back means decoding their profiles again, a sixth of a load's time on
SQLite. A `LoadSession` keeps the records it handed to the store, as the in-memory store
keeps them, and answers later reads of them with copies, as the in-memory store does; what
it does not hold it reads from the store.

It keeps nothing it cannot vouch for. Between two of its transactions, any write to the
database by another connection (another thread, another process) or by its own connection
outside the session (a segment change, a callback) empties it; so does a transaction that
fails. It knows how to tell only on SQLite (`PRAGMA data_version`, the connection's count of
changes); on other stores it reads everything, as ingestion does.

For the duration of the load, SQLite checkpoints its write-ahead log less often (every
`CHECKPOINT_PAGES` pages instead of a thousand): the same commits, as durable, with fewer
copies of the same pages into the database file.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final, Self

from omnikit._engines.ingest import IngestConfig, ingest
from omnikit._hub.flows import drive

if TYPE_CHECKING:
    from omnikit._engines.records import (
        Changes,
        ClusterRow,
        CustomerRecord,
        IdentityRow,
        IdKey,
        SplitRow,
    )
    from omnikit._models.results import IngestResult
    from omnikit._models.touchpoints import Touchpoint
    from omnikit.stores import IngestTransaction

__all__ = ["CACHE_LIMIT", "CHECKPOINT_PAGES", "LoadSession"]

CACHE_LIMIT: Final = 50_000
"""The most customer records a session keeps (the least recently written go first)."""

CHECKPOINT_PAGES: Final = 16_384
"""SQLite's `wal_autocheckpoint` during a load: 64 MB of log at the default page size."""


def _sqlite_connection(tx: object) -> sqlite3.Connection | None:
    """The SQLite connection *tx* runs on, if it is one of the SQLite store's transactions."""
    cursor = getattr(tx, "cur", None)
    connection = getattr(cursor, "connection", None)
    return connection if isinstance(connection, sqlite3.Connection) else None


class LoadSession:
    """
    Runs a load's chunks, each in a transaction of its own, remembering what it wrote.

    Args:
        transaction: Begins a store transaction (the hub's).
        config: The ingestion configuration, asked for each chunk.
        limit: The most customer records to keep.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[IngestTransaction]],
        config: Callable[[], IngestConfig],
        *,
        limit: int = CACHE_LIMIT,
    ) -> None:
        self._transaction = transaction
        self._config = config
        self._limit = limit
        self._records: dict[str, CustomerRecord] = {}
        self._by_cluster: dict[str, set[str]] = {}  # the ids kept, by their cluster
        self._version: tuple[int, int] | None = None  # (data_version, total_changes)
        self._connection: sqlite3.Connection | None = None
        self._checkpoint: int | None = None  # the connection's own setting, to restore
        self.hits = self.misses = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget what was kept, and give the connection its own checkpoint setting back."""
        self._forget()
        self._version = None
        connection, self._connection = self._connection, None
        if connection is not None and self._checkpoint is not None:
            with contextlib.suppress(sqlite3.Error):  # closed, or another thread's
                connection.execute(f"PRAGMA wal_autocheckpoint={self._checkpoint}")

    def ingest_chunk(self, chunk: list[Touchpoint]) -> tuple[IngestResult, set[str]]:
        """Store *chunk* in one transaction: what it did, and the customers that changed."""
        try:
            with self._transaction() as tx:
                connection = self._check(tx)
                result = drive(ingest(chunk, self._config()), _Remembering(tx, self))
            if connection is not None and self._version is not None:
                self._version = (self._version[0], connection.total_changes)
        except BaseException:
            self._forget()
            self._version = None
            raise
        return result

    def _check(self, tx: IngestTransaction) -> sqlite3.Connection | None:
        """Empty the session unless the database is as its last transaction left it."""
        connection = _sqlite_connection(tx)
        if connection is None:
            self._forget()
            return None
        if connection is not self._connection:
            self.close()
            self._connection = connection
            (self._checkpoint,) = connection.execute("PRAGMA wal_autocheckpoint").fetchone()
            connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        (data_version,) = connection.execute("PRAGMA data_version").fetchone()
        if self._version != (data_version, connection.total_changes):
            self._forget()
        self._version = (data_version, connection.total_changes)
        return connection

    def read(self, tx: IngestTransaction, ids: Collection[str]) -> dict[str, CustomerRecord]:
        """The customers *ids*: copies of those kept, the others from *tx*."""
        found: dict[str, CustomerRecord] = {}
        missing: list[str] = []
        records = self._records
        for cid in ids:
            record = records.get(cid)
            if record is None:
                missing.append(cid)
            else:
                found[cid] = record.copy()
        self.hits += len(found)
        self.misses += len(missing)
        if missing:
            found.update(tx.customers(missing))
        return found

    def wrote(self, changes: Changes) -> None:
        """Keep the customers *changes* wrote, in the order a store applies them."""
        if self._version is None:  # not a store it can tell about
            return
        for old, new in changes.relabel.items():
            for cid in self._by_cluster.pop(old, set()):
                moved = self._records[cid].copy()
                moved.cluster = new
                self._put(cid, moved)
        for cid in (*changes.erased_customers, *changes.deleted_customers):
            self._drop(cid)
        for cid, record in changes.customers.items():
            self._drop(cid)  # to the end: the most recently written
            self._put(cid, record)  # as a store keeps what it is given
        excess = len(self._records) - self._limit
        if excess > 0:
            for cid in list(itertools.islice(self._records, excess)):
                self._drop(cid)

    def _put(self, cid: str, record: CustomerRecord) -> None:
        self._records[cid] = record
        if record.cluster is not None:
            self._by_cluster.setdefault(record.cluster, set()).add(cid)

    def _drop(self, cid: str) -> None:
        record = self._records.pop(cid, None)
        if record is not None and record.cluster is not None:
            members = self._by_cluster.get(record.cluster)
            if members is not None:
                members.discard(cid)
                if not members:
                    del self._by_cluster[record.cluster]

    def _forget(self) -> None:
        self._records.clear()
        self._by_cluster.clear()
        self._by_cluster.clear()


class _Remembering:
    """*tx*, answering reads of customers from the session and telling it what was written."""

    __slots__ = ("_session", "_tx")

    def __init__(self, tx: IngestTransaction, session: LoadSession) -> None:
        self._tx = tx
        self._session = session

    def seen(self, message_ids: Collection[str]) -> set[str]:
        return self._tx.seen(message_ids)

    def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        return self._tx.identities(keys)

    def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        return self._session.read(self._tx, ids)

    def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        return self._tx.clusters(ids)

    def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        return self._tx.splits(keys)

    def cluster_identities(self, cluster: str) -> list[IdKey]:
        return self._tx.cluster_identities(cluster)

    def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        return self._tx.cluster_customers(cluster)

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        return self._tx.customer_touchpoints(ids)

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        return self._tx.aliases(targets)

    def suppression_kinds(self) -> set[str]:
        return self._tx.suppression_kinds()

    def suppressed(self, digests: Collection[str]) -> set[str]:
        return self._tx.suppressed(digests)

    def apply(self, changes: Changes) -> None:
        self._tx.apply(changes)
        self._session.wrote(changes)
