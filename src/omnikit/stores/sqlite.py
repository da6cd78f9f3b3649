"""The SQLite store: omnikit's embedded default, one file, no server."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omnikit.errors import StoreError, StoreRefusedError, StoreUnavailableError, ValidationError
from omnikit.stores._sql import Dialect, SQLStore

__all__ = ["SQLiteStore"]

_PASSING = frozenset(
    {
        5,  # SQLITE_BUSY: another writer holds the lock past the busy timeout
        6,  # SQLITE_LOCKED
        8,  # SQLITE_READONLY: the file or its directory cannot be written now
        9,  # SQLITE_INTERRUPT
        10,  # SQLITE_IOERR
        13,  # SQLITE_FULL: the disk (or max_page_count) is full
        14,  # SQLITE_CANTOPEN
        15,  # SQLITE_PROTOCOL
    }
)
"""SQLite's result codes for failures that pass: the operation may succeed if retried."""


class _SQLiteDialect(Dialect):
    name = "sqlite"


class SQLiteStore(SQLStore):
    """
    Keeps everything in one SQLite file, in write-ahead-log mode.

    Deleted rows are overwritten with zeros (`PRAGMA secure_delete`), and after an erasure the
    file is rebuilt and the write-ahead log checkpointed and truncated (`scrub()`), so an
    erased customer leaves no trace in the files.

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
        self._owed: str | None = None  # what an erasure's scrub still owes
        if str(path) == ":memory:":
            raise ValidationError(
                "url: sqlite ':memory:' is per connection; use 'memory://' instead"
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
            raise ValidationError(
                f"url: not an SQLite URL: {url!r} (expected 'sqlite:///path/to.db')"
            )
        return cls(path[1:])

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        where = f"sqlite {str(self.path)!r}"
        try:
            yield
        except (sqlite3.DataError, sqlite3.IntegrityError) as exc:  # too big, a constraint
            raise StoreRefusedError(f"{where}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", -1) & 0xFF  # the primary result code
            if code in _PASSING or "unable to open" in str(exc):
                raise StoreUnavailableError(f"{where}: {exc}") from exc
            raise StoreError(f"{where}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{where}: {exc}") from exc
        except UnicodeEncodeError as exc:  # text UTF-8 cannot hold (a lone surrogate)
            raise StoreRefusedError(f"{where}: {exc}") from exc

    def _connect(self) -> Any:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")
        if self._owed is not None:  # an erasure's scrub could not complete: try again
            with contextlib.suppress(sqlite3.Error):  # never fail the write that committed
                self._scrub(conn, vacuum=self._owed == "vacuum", wait_ms=0)

    def _scrub(self, conn: Any, *, vacuum: bool, wait_ms: int | None) -> bool:
        """Rebuild the file if asked, then checkpoint and truncate the log; whether both did."""
        self._owed = "vacuum" if vacuum else "checkpoint"
        normal = int(self.timeout * 1000)
        try:
            if vacuum:
                conn.execute(f"PRAGMA busy_timeout={normal if wait_ms is None else wait_ms}")
                conn.execute("VACUUM")
                self._owed = "checkpoint"
            conn.execute(f"PRAGMA busy_timeout={min(1000, normal) if wait_ms is None else 0}")
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:  # busy, or a statement of this thread still open
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout={normal}")
        if busy:
            return False
        self._owed = None
        return True

    def scrub(self) -> bool:
        """
        Leave nothing of deleted rows in the files: rebuild the database, truncate the log.

        Deleted rows are overwritten with zeros as they go, but SQLite leaves copies of rows
        it moved between pages (as tables grow) in the pages' unused space, and the
        write-ahead log keeps the pages as they were before. So this rebuilds the database
        file (`VACUUM`: about a second per 100 MB, writers wait meanwhile), then checkpoints
        the log into it and truncates the log.

        A reader in the middle of a read (another thread or process) keeps the log alive:
        then this waits up to a second and returns `False`, and the next write on this store
        tries again (as does closing its last connection).

        Added in version 0.1.0.
        """
        with self._errors():
            return self._scrub(self._conn(), vacuum=True, wait_ms=None)

    def _rollback(self, conn: Any) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
