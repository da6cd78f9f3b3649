"""
A load's transactions: the chunks of a load, each committed in a transaction of its own.

For the duration of a load on SQLite, the write-ahead log is checkpointed less often (every
`CHECKPOINT_PAGES` pages instead of SQLite's thousand): the same commits, as durable, with
fewer copies of the same pages into the database file. The connection gets its own setting
back when the load ends, whether it finished or not.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final, Self

from omnikit._engines.ingest import IngestConfig, ingest
from omnikit._hub.flows import drive

if TYPE_CHECKING:
    from omnikit._models.results import IngestResult
    from omnikit._models.touchpoints import Touchpoint
    from omnikit.stores import IngestTransaction

__all__ = ["CHECKPOINT_PAGES", "LoadSession"]

CHECKPOINT_PAGES: Final = 16_384
"""SQLite's `wal_autocheckpoint` during a load: 64 MB of log at the default page size."""


def _sqlite_connection(tx: object) -> sqlite3.Connection | None:
    """The SQLite connection *tx* runs on, if it is one of the SQLite store's transactions."""
    cursor = getattr(tx, "cur", None)
    connection = getattr(cursor, "connection", None)
    return connection if isinstance(connection, sqlite3.Connection) else None


class LoadSession:
    """
    Runs a load's chunks, each in a transaction of its own.

    Args:
        transaction: Begins a store transaction (the hub's).
        config: The ingestion configuration, asked for each chunk.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[IngestTransaction]],
        config: Callable[[], IngestConfig],
    ) -> None:
        self._transaction = transaction
        self._config = config
        self._connection: sqlite3.Connection | None = None
        self._checkpoint: int | None = None  # the connection's own setting, to restore

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Give the connection its own checkpoint setting back."""
        connection, self._connection = self._connection, None
        if connection is not None and self._checkpoint is not None:
            with contextlib.suppress(sqlite3.Error):  # closed, or another thread's
                connection.execute(f"PRAGMA wal_autocheckpoint={self._checkpoint}")

    def ingest_chunk(self, chunk: list[Touchpoint]) -> tuple[IngestResult, set[str]]:
        """Store *chunk* in one transaction: what it did, and the customers that changed."""
        with self._transaction() as tx:
            self._tune(tx)
            return drive(ingest(chunk, self._config()), tx)

    def _tune(self, tx: IngestTransaction) -> None:
        """Checkpoint less often on the connection of *tx*, if it is SQLite's."""
        connection = _sqlite_connection(tx)
        if connection is None or connection is self._connection:
            return
        self.close()
        (self._checkpoint,) = connection.execute("PRAGMA wal_autocheckpoint").fetchone()
        connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        self._connection = connection
