"""
The PostgreSQL store, for retailers who outgrow one machine (extra `omnikit[postgres]`).

`PostgresStore` for sync code and `Hub`; `AsyncPostgresStore`, its twin over psycopg's async
connections, for `AsyncHub` (`await omnikit.stores.aopen_store(url)` opens it). Both run the
same queries (`_queries`), schema and migrations, and serialise writers on the same lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from omnikit.errors import StoreError, StoreRefusedError, StoreUnavailableError, ValidationError
from omnikit.stores._drive import EXECUTE, Statements, arun, run
from omnikit.stores._outbox_queries import AsyncSQLOutboxReads, AsyncSQLOutboxTransaction
from omnikit.stores._schema import migrate
from omnikit.stores._sql import Dialect, SQLQueries, SQLStore

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Collection

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

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the environment
    msg = "the PostgreSQL store needs psycopg: pip install 'omnikit[postgres]'"
    raise StoreUnavailableError(msg) from exc

__all__ = ["AsyncPostgresStore", "PostgresStore"]

_REFUSALS = (
    psycopg.DataError,  # NUL in text, a number out of range, JSON it cannot read
    psycopg.IntegrityError,  # a constraint the content breaks
    psycopg.errors.ProgramLimitExceeded,  # a value too large for an index, or a statement
    UnicodeEncodeError,  # text UTF-8 cannot hold (a lone surrogate)
)
"""What PostgreSQL refuses for the content it was given: the same content fails again."""
_T = TypeVar("_T")
_IDLE = psycopg.pq.TransactionStatus.IDLE
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
    "deliveries",
    "meta",
)


class _PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"
    json_param = "%s::jsonb"
    json_type = "JSONB"
    big_type = "BIGINT"


@contextlib.contextmanager
def _errors(url: str) -> Iterator[None]:
    """Turn psycopg's errors into `StoreError`s: refused content, or a store unavailable now."""
    try:
        yield
    except _REFUSALS as exc:
        raise StoreRefusedError(f"postgresql {url}: {exc}") from exc
    except psycopg.OperationalError as exc:  # connection, locks, disk, conflicts, timeouts
        raise StoreUnavailableError(f"postgresql {url}: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"postgresql {url}: {exc}") from exc


def _checked_schema(schema: str | None) -> str | None:
    if schema is not None and not _SCHEMA.match(schema):
        raise StoreUnavailableError(
            f"postgresql: {schema!r} is not a schema name (lower-case, digits, '_')"
        )
    return schema


def _shown(conninfo: str, schema: str | None) -> str:
    """The store's URL, password hidden, with its schema."""
    shown = _redact(conninfo)
    joint = "&" if urllib.parse.urlsplit(shown).query else "?"
    return shown + (f"{joint}schema={schema}" if schema else "")


def _lock_key(schema: str | None) -> int:
    """The advisory lock writers of one schema take, whichever store (sync or async) they use."""
    name = f"omnikit:{schema or 'public'}"
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def _split_url(url: str, *own: str) -> tuple[str, dict[str, str]]:
    """
    A `postgresql://` URL's conninfo for libpq, and the query parameters named *own*.

    The parameters not named go to libpq as written.
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in own}
    # libpq reads `%20` as a space but `+` as itself (`options=-c%20lock_timeout%3D500`)
    rest = urllib.parse.urlencode(
        [(k, v) for k, v in query if k not in own], quote_via=urllib.parse.quote
    )
    return urllib.parse.urlunsplit(("postgresql", parts.netloc, parts.path, rest, "")), ours


def _setup(schema: str | None) -> Statements[None]:
    """What a new connection runs: into the store's schema, made if missing."""
    if schema:
        yield EXECUTE, f'CREATE SCHEMA IF NOT EXISTS "{schema}"', ()
        yield EXECUTE, f'SET search_path TO "{schema}"', ()


def _begin(lock_key: int) -> Statements[None]:
    """Begin a write transaction and wait for the other writers (any process, either store)."""
    yield EXECUTE, "BEGIN", ()
    yield EXECUTE, "SELECT pg_advisory_xact_lock(%s)", [lock_key]


def _compact() -> Statements[None]:
    for table in _TABLES:
        yield EXECUTE, f"VACUUM FULL omnikit_{table}", ()


class PostgresStore(SQLStore):
    """
    Keeps everything in PostgreSQL tables (`omnikit_*`), optionally in their own schema.

    Each thread gets its own connection, and a forked child process its own ones (psycopg
    connections must not cross a fork). Writers serialise on a transaction-level advisory
    lock, so concurrent writers in any number of processes lose no update. The schema is
    created and migrated on open. `AsyncPostgresStore` is its async twin.

    Args:
        conninfo: A libpq connection string or `postgresql://` URL.
        schema: The schema for omnikit's tables (created if missing); default `public`.

    Added in version 0.1.0.
    """

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        super().__init__(_PostgresDialect())
        self.conninfo = conninfo
        self.schema = _checked_schema(schema)
        self.url = _shown(conninfo, schema)
        self._lock_key = _lock_key(schema)
        self._migrate()

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        """
        Open `postgresql://user:password@host:port/db`.

        `?schema=name` keeps omnikit's tables in their own schema; other query parameters go
        to libpq.

        Added in version 0.1.0.
        """
        conninfo, ours = _split_url(url, "schema")
        return cls(conninfo, schema=ours.get("schema"))

    @classmethod
    async def aopen(cls, url: str) -> AsyncPostgresStore:
        """
        Open *url* with the async twin, `AsyncPostgresStore.aopen()`; what `aopen_store()` calls.

        Added in version 0.1.0.
        """
        return await AsyncPostgresStore.aopen(url)

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return _errors(self.url)

    def _usable(self, conn: Any) -> bool:
        return not conn.closed

    def _connect(self) -> Any:
        conn = psycopg.connect(self.conninfo, autocommit=True)
        run(conn.cursor(), _setup(self.schema))
        return conn

    def _begin(self, conn: Any) -> None:
        run(conn.cursor(), _begin(self._lock_key))

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
        self._read(_compact())


_HIDDEN = "***"
_KEYWORD_PASSWORD = re.compile(r"""(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)""", re.IGNORECASE)


def _redact(conninfo: str) -> str:
    """
    *conninfo* with every password hidden.

    In a URL, `user:password@` and `?password=`; in a key=value connection string, `password=`.
    """
    if "://" not in conninfo:
        return _KEYWORD_PASSWORD.sub(rf"\g<1>{_HIDDEN}", conninfo)
    parts = urllib.parse.urlsplit(conninfo)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{_HIDDEN}@{host}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower() == "password" for key, _ in query):
        shown = [(k, _HIDDEN if k.lower() == "password" else v) for k, v in query]
        query_text = urllib.parse.urlencode(shown, quote_via=urllib.parse.quote, safe="*")
    else:
        query_text = parts.query
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query_text, ""))


class AsyncPostgresStore(AsyncSQLOutboxReads):
    """
    `PostgresStore`, awaited: an `omnikit.stores.AsyncStore` over psycopg's async connections.

    Open it with `await AsyncPostgresStore.aopen(url)` (or `await
    omnikit.stores.aopen_store(url)`), which creates and migrates the schema, and close it
    with `await store.aclose()`. It runs the sync store's queries, schema and migrations, on
    the same tables, and its writers take the same advisory lock, so sync and async stores
    (in any number of processes) can share one database.

    The store owns a small pool of at most *max_connections* connections, opened as needed;
    each is used by one task at a time, and a task inside a transaction uses its
    transaction's connection for the store's reads too. Cancelling a task inside a
    transaction rolls it back; a connection whose state is in doubt after a cancellation or
    an error is closed rather than reused, and a lost connection is replaced on the next call.
    It is for asyncio (psycopg's async connections do not run under trio): use it on the event
    loop that opened it.

    Args:
        conninfo: A libpq connection string or `postgresql://` URL.
        schema: The schema for omnikit's tables (created if missing); default `public`.
        max_connections: The most connections open at once; callers beyond it wait.

    Raises:
        ValidationError: If *max_connections* is not a positive integer.
        StoreUnavailableError: If *schema* is not a schema name.

    Added in version 0.1.0.
    """

    def __init__(
        self, conninfo: str, *, schema: str | None = None, max_connections: int = 10
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError("max_connections: must be a positive integer")
        if max_connections < 1:
            raise ValidationError(f"max_connections: must be at least 1, not {max_connections}")
        self.conninfo = conninfo
        self.schema = _checked_schema(schema)
        self.url = _shown(conninfo, schema)
        self.max_connections = max_connections
        self._dialect = _PostgresDialect()
        self._queries = SQLQueries(self._dialect)
        self._lock_key = _lock_key(schema)
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open: set[psycopg.AsyncConnection[Any]] = set()
        self._owned: dict[asyncio.Task[Any], psycopg.AsyncConnection[Any]] = {}
        self._closed = False
        self._secret = b""

    @classmethod
    async def aopen(cls, url: str) -> AsyncPostgresStore:
        """
        Open `postgresql://user:password@host:port/db`, creating and migrating the schema.

        `?schema=name` keeps omnikit's tables in their own schema and `?max_connections=N`
        bounds the pool (10 by default); other query parameters go to libpq.

        Raises:
            ValidationError: If `max_connections` is not a positive integer.
            StoreUnavailableError: If the server cannot be reached, or its schema is newer
                than this omnikit.

        Added in version 0.1.0.
        """
        conninfo, ours = _split_url(url, "schema", "max_connections")
        size = ours.get("max_connections", "10")
        if not size.isdigit():
            raise ValidationError(f"max_connections: must be a positive integer, not {size!r}")
        store = cls(conninfo, schema=ours.get("schema"), max_connections=int(size))
        try:
            async with store.transaction() as tx:
                store._secret = await tx.run(migrate(store._dialect, store.url))
        except BaseException:
            await store.aclose()
            raise
        return store

    async def aclose(self) -> None:
        """
        Close the pool's connections; those in use close when their task is done with them.

        Added in version 0.1.0.
        """
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open.discard(conn)
            await conn.close()

    # -- connections -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for the calling task: its transaction's, or one from the pool."""
        held = self._owned.get(_task())
        if held is not None:
            yield held
            return
        async with self._slots:
            conn = await self._take()
            try:
                yield conn
            finally:
                await self._give_back(conn)

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        if self._closed:
            raise StoreUnavailableError(f"store {self.url!r} is closed")
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._open.discard(conn)
        with _errors(self.url):
            conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            try:
                await arun(conn.cursor(), _setup(self.schema))
            except BaseException:
                await conn.close()
                raise
        self._open.add(conn)
        return conn

    async def _give_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Back to the pool if clean; closed if lost, in a transaction, or the store closed."""
        if self._closed or conn.closed or conn.info.transaction_status != _IDLE:
            self._open.discard(conn)
            await conn.close()  # never waits: a cancelled task still closes it
        else:
            self._idle.append(conn)

    async def _read(self, query: Statements[_T]) -> _T:
        async with self._connection() as conn:
            with _errors(self.url):
                return await arun(conn.cursor(), query)

    # -- transactions ------------------------------------------------------------------------

    def transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncSQLTransaction]:
        """
        Begin a write transaction (`async with`); writers anywhere wait for each other.

        Raises:
            StoreError: If the calling task is already inside a transaction of this store.

        Added in version 0.1.0.
        """
        return self._transaction()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSQLTransaction]:
        task = _task()
        if task in self._owned:
            raise StoreError(f"store {self.url!r}: this task is already inside a transaction")
        async with self._connection() as conn:
            self._owned[task] = conn
            try:
                with _errors(self.url):
                    await arun(conn.cursor(), _begin(self._lock_key))
                yield AsyncSQLTransaction(self.url, self._queries, conn.cursor())
            except BaseException:
                await _rollback(conn)
                raise
            finally:
                del self._owned[task]
            with _errors(self.url):
                await conn.execute("COMMIT")

    # -- reads -------------------------------------------------------------------------------

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following merged ids to the survivor."""
        return await self._read(self._queries.customer(customer_id))

    async def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        return await self._read(self._queries.find(key))

    async def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored."""
        return await self._read(self._queries.has_identity_kind(kind))

    async def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        return await self._read(self._queries.merges(customer_id))

    async def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        return await self._read(self._queries.merge(merge_id))

    async def iter_customers(self, *, batch_size: int = 1000) -> AsyncIterator[CustomerRecord]:
        """Every customer, in id order, fetched a page at a time (`async for`)."""
        after = ""
        while True:
            page = await self._read(self._queries.customer_page(after, batch_size))
            for record in page:
                yield record
            if len(page) < batch_size:
                return
            after = page[-1].id

    async def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        """The customer's touchpoints with `since <= occurred_at < until`, oldest first."""
        return await self._read(
            self._queries.touchpoints(
                customer_id, since=since, until=until, limit=limit, newest_first=newest_first
            )
        )

    async def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        return await self._read(self._queries.touchpoint(message_id))

    async def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        return await self._read(self._queries.touchpoint_counts())

    async def secret(self) -> bytes:
        """This store's own random key (see `CustomerStore.secret`), read when it opened."""
        return self._secret

    async def scrub(self) -> bool:
        """Like `PostgresStore.scrub()`: `False`, see `compact()`."""
        return False

    async def compact(self) -> None:
        """
        Rewrite omnikit's tables (`VACUUM FULL`), as `PostgresStore.compact()` does.

        Added in version 0.1.0.
        """
        await self._read(_compact())


class AsyncSQLTransaction(AsyncSQLOutboxTransaction):
    """`AsyncIngestTransaction` and `AsyncOutboxTransaction` over one cursor of a transaction."""

    __slots__ = ("cur", "queries", "url")

    def __init__(self, url: str, queries: SQLQueries, cur: Any) -> None:
        self.url = url
        self.queries = queries
        self.cur = cur

    async def run(self, query: Statements[_T]) -> _T:
        """Run *query* in this transaction."""
        with _errors(self.url):
            return await arun(self.cur, query)

    async def seen(self, message_ids: Collection[str]) -> set[str]:
        return await self.run(self.queries.seen(message_ids))

    async def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        return await self.run(self.queries.identities(keys))

    async def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        return await self.run(self.queries.customers(ids))

    async def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        return await self.run(self.queries.clusters(ids))

    async def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        return await self.run(self.queries.splits(keys))

    async def cluster_identities(self, cluster: str) -> list[IdKey]:
        return await self.run(self.queries.cluster_identities(cluster))

    async def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        return await self.run(self.queries.cluster_customers(cluster))

    async def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        return await self.run(self.queries.customer_touchpoints(ids))

    async def aliases(self, targets: Collection[str]) -> dict[str, str]:
        return await self.run(self.queries.aliases(targets))

    async def merges(self, customer_id: str) -> list[MergeRow]:
        return await self.run(self.queries.merges(customer_id))

    async def suppression_kinds(self) -> set[str]:
        return await self.run(self.queries.suppression_kinds())

    async def suppressed(self, digests: Collection[str]) -> set[str]:
        return await self.run(self.queries.suppressed(digests))

    async def apply(self, changes: Changes) -> None:
        await self.run(self.queries.apply(changes))


def _task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - every coroutine asyncio runs is in a task
        msg = "the async PostgreSQL store runs in asyncio tasks"
        raise StoreError(msg)
    return task


async def _rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    """Roll back; if that fails or is cancelled too, close the connection (the server rolls back)."""
    try:
        await conn.execute("ROLLBACK")
    except BaseException:  # noqa: BLE001 - the error being handled is the one to raise
        await conn.close()  # never waits
