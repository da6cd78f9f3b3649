"""The PostgreSQL store, for retailers who outgrow one machine (extra `omnikit[postgres]`)."""

from __future__ import annotations

import contextlib
import hashlib
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from omnikit.errors import StoreError, StoreRefusedError, StoreUnavailableError
from omnikit.stores._sql import Dialect, SQLStore

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the environment
    msg = "the PostgreSQL store needs psycopg: pip install 'omnikit[postgres]'"
    raise StoreUnavailableError(msg) from exc

__all__ = ["PostgresStore"]

_REFUSALS = (
    psycopg.DataError,  # NUL in text, a number out of range, JSON it cannot read
    psycopg.IntegrityError,  # a constraint the content breaks
    psycopg.errors.ProgramLimitExceeded,  # a value too large for an index, or a statement
    UnicodeEncodeError,  # text UTF-8 cannot hold (a lone surrogate)
)
"""What PostgreSQL refuses for the content it was given: the same content fails again."""
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TABLES = (
    "touchpoints",
    "identities",
    "customers",
    "clusters",
    "aliases",
    "merges",
    "splits",
    "suppressions",
    "meta",
)


class _PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"
    json_param = "%s::jsonb"
    json_type = "JSONB"
    big_type = "BIGINT"


class PostgresStore(SQLStore):
    """
    Keeps everything in PostgreSQL tables (`omnikit_*`), optionally in their own schema.

    Each thread gets its own connection, and a forked child process its own ones (psycopg
    connections must not cross a fork). Writers serialise on a transaction-level advisory
    lock, so concurrent writers in any number of processes lose no update. The schema is
    created and migrated on open.

    Args:
        conninfo: A libpq connection string or `postgresql://` URL.
        schema: The schema for omnikit's tables (created if missing); default `public`.

    Added in version 0.1.0.
    """

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        super().__init__(_PostgresDialect())
        if schema is not None and not _SCHEMA.match(schema):
            raise StoreUnavailableError(
                f"postgresql: {schema!r} is not a schema name (lower-case, digits, '_')"
            )
        self.conninfo = conninfo
        self.schema = schema
        shown = _redact(conninfo)
        joint = "&" if urllib.parse.urlsplit(shown).query else "?"
        self.url = shown + (f"{joint}schema={schema}" if schema else "")
        name = f"omnikit:{schema or 'public'}"
        self._lock_key = int.from_bytes(
            hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
        )
        self._migrate()

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """
        Open `postgresql://user:password@host:port/db`.

        `?schema=name` keeps omnikit's tables in their own schema; other query parameters go
        to libpq.

        Added in version 0.1.0.
        """
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), None)
        # libpq reads `%20` as a space but `+` as itself (`options=-c%20lock_timeout%3D500`)
        rest = urllib.parse.urlencode(
            [(k, v) for k, v in query if k != "schema"], quote_via=urllib.parse.quote
        )
        scheme = "postgresql"
        return cls(
            urllib.parse.urlunsplit((scheme, parts.netloc, parts.path, rest, "")), schema=schema
        )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except _REFUSALS as exc:
            raise StoreRefusedError(f"postgresql {self.url}: {exc}") from exc
        except psycopg.OperationalError as exc:  # connection, locks, disk, conflicts, timeouts
            raise StoreUnavailableError(f"postgresql {self.url}: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"postgresql {self.url}: {exc}") from exc

    def _usable(self, conn: Any) -> bool:
        return not conn.closed

    def _connect(self) -> Any:
        conn = psycopg.connect(self.conninfo, autocommit=True)
        if self.schema:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [self._lock_key])

    def _commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def _rollback(self, conn: Any) -> None:
        conn.execute("ROLLBACK")

    def scrub(self) -> bool:
        """
        Nothing cheap removes deleted rows' bytes from PostgreSQL's files: returns `False`.

        They stay in the tables' pages until reused or rewritten (`compact()`), and in the
        write-ahead log until it is recycled (see the erasure guide).

        Added in version 0.1.0.
        """
        return False

    def compact(self) -> None:
        """
        Rewrite omnikit's tables (`VACUUM FULL`), so erased rows leave their data files.

        PostgreSQL keeps a deleted row's bytes in its table's pages until they are reused or
        the table is rewritten; run this after erasures, at a quiet time: it locks each table
        while rewriting it. The write-ahead log, its archive, replicas and backups keep their
        copies until they are recycled (see the erasure guide).

        Added in version 0.1.0.
        """
        conn = self._conn()
        with self._errors():
            for table in _TABLES:
                conn.execute(f"VACUUM FULL omnikit_{table}")


def _redact(conninfo: str) -> str:
    parts = urllib.parse.urlsplit(conninfo)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return conninfo
