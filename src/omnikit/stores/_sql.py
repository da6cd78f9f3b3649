"""
What the SQLite and PostgreSQL stores share: the `Store` methods over a connection per thread.

The schema and its migrations are in `_schema`, the queries in `_queries`; each adapter supplies
a `Dialect` and connections.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import os
import threading
import weakref
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

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
from omnikit.errors import StoreUnavailableError
from omnikit.stores._drive import Statements, run
from omnikit.stores._outbox_queries import SQLOutboxReads, SQLOutboxTransaction
from omnikit.stores._queries import SQLQueries
from omnikit.stores._schema import MIGRATIONS, Cursor, Dialect, migrate

__all__ = ["MIGRATIONS", "Cursor", "Dialect", "SQLQueries", "SQLStore", "SQLTransaction"]

_T = TypeVar("_T")


_OPEN_STORES: weakref.WeakSet[SQLStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._forked()  # noqa: SLF001 - the stores' own hook


if hasattr(os, "register_at_fork"):  # pragma: no branch - every POSIX system has it
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLStore(SQLOutboxReads, abc.ABC):
    """
    The `Store` methods, written once over a connection per thread.

    The adapters say how to connect, begin, commit and roll back, and which driver errors mean
    what. A process forked from one using the store opens its own connections.
    """

    url: str

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._queries = SQLQueries(dialect)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._inherited: list[Any] = []
        self._closed = False
        self._secret = b""
        _OPEN_STORES.add(self)

    def _forked(self) -> None:
        """
        In a forked child: leave the parent's connections be, and open new ones when needed.

        A connection is a socket (or file handles) the child shares with the parent: using
        it from both interleaves two conversations with the server, and closing it from the
        child may end the parent's. The child keeps the inherited objects, untouched, so that
        nothing closes them when they are collected. Runs while the child has one thread.
        """
        self._inherited.extend(self._connections)
        self._connections = []
        self._local = threading.local()
        self._lock = threading.Lock()  # another thread of the parent may have held it

    # -- the adapter's part ------------------------------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new connection, configured."""

    @abc.abstractmethod
    def _begin(self, conn: Any) -> None:
        """Begin a write transaction that waits for other writers."""

    @abc.abstractmethod
    def _commit(self, conn: Any) -> None:
        """Commit it."""

    @abc.abstractmethod
    def _rollback(self, conn: Any) -> None:
        """Roll it back."""

    @abc.abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Turn the driver's errors into `StoreError`s."""

    # -- connections -------------------------------------------------------------------------

    def _usable(self, conn: Any) -> bool:  # noqa: ARG002 - adapters whose connections break
        """Whether *conn* can still be used (not closed after a lost connection)."""
        return True

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._usable(conn):  # lost: a retry gets a new one
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn = None
        if conn is None:
            if self._closed:
                raise StoreUnavailableError(f"store {self.url!r} is closed")
            with self._errors():
                conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        with self._errors():
            self._begin(conn)
            try:
                self._secret = run(conn.cursor(), migrate(self._dialect, self.url))
            except BaseException:
                self._rollback(conn)
                raise
            self._commit(conn)

    def close(self) -> None:
        """Close every connection this store opened; the data stays."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(Exception):  # closing is best effort
                conn.close()
        self._local = type(self._local)()

    # -- transactions ------------------------------------------------------------------------

    def transaction(self) -> Any:
        """Begin a write transaction; writers in other threads and processes wait."""

        @contextmanager
        def tx() -> Iterator[SQLTransaction]:
            conn = self._conn()
            with self._errors():
                self._begin(conn)
            try:
                yield SQLTransaction(self, conn.cursor())
            except BaseException:
                with self._errors():
                    self._rollback(conn)
                raise
            with self._errors():
                self._commit(conn)

        return tx()

    # -- reads -------------------------------------------------------------------------------

    def _read(self, query: Statements[_T]) -> _T:
        conn = self._conn()
        with self._errors():
            return run(conn.cursor(), query)

    def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following merged ids to the survivor."""
        return self._read(self._queries.customer(customer_id))

    def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        return self._read(self._queries.find(key))

    def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored."""
        return self._read(self._queries.has_identity_kind(kind))

    def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        return self._read(self._queries.merges(customer_id))

    def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        return self._read(self._queries.merge(merge_id))

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[CustomerRecord]:
        """Every customer, in id order, fetched a page at a time."""
        after = ""
        while True:
            page = self._read(self._queries.customer_page(after, batch_size))
            yield from page
            if len(page) < batch_size:
                return
            after = page[-1].id

    def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        """The customer's touchpoints with `since <= occurred_at < until`, oldest first."""
        return self._read(
            self._queries.touchpoints(
                customer_id, since=since, until=until, limit=limit, newest_first=newest_first
            )
        )

    def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        return self._read(self._queries.touchpoint(message_id))

    def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        return self._read(self._queries.touchpoint_counts())

    def secret(self) -> bytes:
        """This store's own random key (see `CustomerStore.secret`), read when it opened."""
        return self._secret

    @abc.abstractmethod
    def scrub(self) -> bool:
        """Overwrite what deleted rows left in the files, if it can (`CustomerStore.scrub`)."""


class SQLTransaction(SQLOutboxTransaction):
    """`IngestTransaction` and `OutboxTransaction` over one cursor of an open transaction."""

    __slots__ = ("cur", "queries", "store")

    def __init__(self, store: SQLStore, cur: Cursor) -> None:
        self.store = store
        self.cur = cur
        self.queries = store._queries  # noqa: SLF001 - the transaction is the store's

    def _run(self, query: Statements[_T]) -> _T:
        with self.store._errors():  # noqa: SLF001 - the transaction is the store's
            return run(self.cur, query)

    def seen(self, message_ids: Collection[str]) -> set[str]:
        return self._run(self.queries.seen(message_ids))

    def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        return self._run(self.queries.identities(keys))

    def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        return self._run(self.queries.customers(ids))

    def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        return self._run(self.queries.clusters(ids))

    def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        return self._run(self.queries.splits(keys))

    def cluster_identities(self, cluster: str) -> list[IdKey]:
        return self._run(self.queries.cluster_identities(cluster))

    def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        return self._run(self.queries.cluster_customers(cluster))

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        return self._run(self.queries.customer_touchpoints(ids))

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        return self._run(self.queries.aliases(targets))

    def merges(self, customer_id: str) -> list[MergeRow]:
        return self._run(self.queries.merges(customer_id))

    def suppression_kinds(self) -> set[str]:
        return self._run(self.queries.suppression_kinds())

    def suppressed(self, digests: Collection[str]) -> set[str]:
        return self._run(self.queries.suppressed(digests))

    def apply(self, changes: Changes) -> None:
        self._run(self.queries.apply(changes))
