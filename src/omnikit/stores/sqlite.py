"""The SQLite store: omnikit's embedded default, one file, no server."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omnikit.errors import StoreError, StoreUnavailableError
from omnikit.stores._sql import Dialect, SQLStore

__all__ = ["SQLiteStore"]


class _SQLiteDialect(Dialect):
    name = "sqlite"


class SQLiteStore(SQLStore):
    """
    Keeps everything in one SQLite file, in write-ahead-log mode.

    Each thread gets its own connection; writers (threads or processes) take the database's
    write lock for a whole transaction, so no update is lost, and wait up to *timeout* seconds
    for each other. The schema is created and migrated on open.

    Args:
        path: The database file (created if missing).
        timeout: How long a writer waits for the lock, in seconds.

    Added in version 0.1.0.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        super().__init__(_SQLiteDialect())
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.timeout = timeout
        if str(path) == ":memory:":
            raise StoreUnavailableError(
                "sqlite: ':memory:' is per connection; use 'memory://' instead"
            )
        if not self.path.parent.exists():
            raise StoreUnavailableError(
                f"sqlite: directory {str(self.path.parent)!r} does not exist"
            )
        self._migrate()

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """
        Open `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`.

        Added in version 0.1.0.
        """
        _, _, rest = url.partition("://")
        path, _, _query = rest.partition("?")
        if not path.startswith("/") or len(path) < 2:
            raise StoreUnavailableError(
                f"not an SQLite URL: {url!r} (expected 'sqlite:///path/to.db')"
            )
        return cls(path[1:])

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text or "unable to open" in text:
                raise StoreUnavailableError(f"sqlite {str(self.path)!r}: {text}") from exc
            raise StoreError(f"sqlite {str(self.path)!r}: {text}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite {str(self.path)!r}: {exc}") from exc
        except UnicodeEncodeError as exc:  # text UTF-8 cannot hold (a lone surrogate)
            raise StoreError(f"sqlite {str(self.path)!r}: {exc}") from exc

    def _connect(self) -> Any:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
