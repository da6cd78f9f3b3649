"""
`AsyncPostgresStore` and `aopen_store()`: what the async contract does not say.

Errors mapped as the sync store maps them, a lost connection replaced, the pool bounded,
the writers' lock shared with the sync store, and the async opener found by the plugin loader.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from omnikit import stores
from omnikit.errors import (
    PluginError,
    StoreError,
    StoreNotFoundError,
    StoreRefusedError,
    StoreUnavailableError,
    ValidationError,
)
from omnikit.stores import AsyncStore, Store, aopen_store
from omnikit.stores.memory import MemoryStore
from omnikit.stores.postgres import AsyncPostgresStore, PostgresStore
from omnikit.stores.records import Changes
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing._contract import _one_customer

pytestmark = pytest.mark.anyio


@pytest.fixture(name="anyio_backend")
def _anyio_backend() -> str:
    return "asyncio"  # psycopg's async connections are asyncio's


@pytest.fixture(name="schema_url")
def _schema_url(postgres_url: str) -> str:
    """A URL of the test server with a schema of its own, its connections named after it."""
    schema = f"a_{uuid.uuid4().hex[:12]}"
    return f"{postgres_url}?schema={schema}&application_name={schema}"


@pytest.fixture(name="astore")
async def _astore(schema_url: str) -> AsyncIterator[AsyncPostgresStore]:
    store = await AsyncPostgresStore.aopen(schema_url)
    yield store
    await store.aclose()


def _name(url: str) -> str:
    return url.rpartition("application_name=")[2]


def _connections(postgres_url: str, name: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s", [name]
        ).fetchone()
        return int(row[0]) if row else 0


def _terminate(postgres_url: str, name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [name],
        )


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_content_postgres_cannot_hold_is_a_refusal(astore: AsyncPostgresStore) -> None:
    """A NUL character, or a lone surrogate, is StoreRefusedError, as on the sync store."""
    for bad, says in (("a\x00b", "NUL"), ("\ud800", "surrogates")):
        with pytest.raises(StoreRefusedError, match=says):
            async with astore.transaction() as tx:
                await tx.seen([bad])

    assert {} == await astore.touchpoint_counts()


@pytest.mark.postgres
async def test_a_lost_connection_is_retryable(
    astore: AsyncPostgresStore, schema_url: str, postgres_url: str
) -> None:
    """A connection the server ended is StoreUnavailableError; the next call opens a new one."""
    assert await astore.customer("cus_x") is None
    _terminate(postgres_url, _name(schema_url))

    with pytest.raises(StoreUnavailableError):
        await astore.customer("cus_x")
    async with astore.transaction() as tx:
        await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))

    assert await astore.customer("cus_x") is not None


@pytest.mark.postgres
async def test_a_lock_timeout_is_retryable_and_leaves_nothing(
    schema_url: str, postgres_url: str
) -> None:
    """Waiting past `lock_timeout` is StoreUnavailableError, nothing written; the retry lands."""
    url = f"{schema_url}&options=-c%20lock_timeout%3D200"
    schema = schema_url.split("schema=")[1].split("&", maxsplit=1)[0]
    store = await AsyncPostgresStore.aopen(url)
    try:
        with psycopg.connect(postgres_url) as other:
            other.execute(f'LOCK TABLE "{schema}".omnikit_customers IN ACCESS EXCLUSIVE MODE')
            with pytest.raises(StoreUnavailableError, match="lock timeout"):
                async with store.transaction() as tx:
                    await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
            other.rollback()
        assert await store.find(("email", "x@example.com")) is None
        async with store.transaction() as tx:
            await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
        assert await store.find(("email", "x@example.com")) is not None
    finally:
        await store.aclose()


@pytest.mark.postgres
async def test_a_schema_newer_than_omnikit_is_refused(schema_url: str) -> None:
    """Opening a store whose schema a later omnikit migrated raises StoreUnavailableError."""
    sync = PostgresStore.from_url(schema_url)
    with sync.transaction() as tx:
        tx.cur.execute("UPDATE omnikit_meta SET value = '99' WHERE key = 'schema_version'")
    sync.close()

    with pytest.raises(StoreUnavailableError, match="schema version 99"):
        await AsyncPostgresStore.aopen(schema_url)


@pytest.mark.postgres
async def test_a_closed_store_says_so(astore: AsyncPostgresStore) -> None:
    """After `aclose()`, calls raise StoreUnavailableError naming the store."""
    await astore.aclose()

    with pytest.raises(StoreUnavailableError, match="closed"):
        await astore.customer("cus_x")


@pytest.mark.parametrize("size", ["0", "-1", "ten"])
async def test_max_connections_must_be_a_positive_integer(size: str) -> None:
    """`max_connections` in the URL, or given, must be at least 1."""
    with pytest.raises(ValidationError, match="max_connections"):
        await AsyncPostgresStore.aopen(f"postgresql://nobody@127.0.0.1:1/x?max_connections={size}")
    with pytest.raises(ValidationError, match="max_connections"):
        AsyncPostgresStore("postgresql://nobody@127.0.0.1:1/x", max_connections=0)


# -- the pool --------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_the_pool_opens_at_most_max_connections(schema_url: str, postgres_url: str) -> None:
    """Twenty tasks reading at once share three connections; closing closes them."""
    url = f"{schema_url}&max_connections=3"
    store = await AsyncPostgresStore.aopen(url)
    try:
        found = await asyncio.gather(*(store.customer(f"cus_{n}") for n in range(20)))
        opened = _connections(postgres_url, _name(schema_url))
    finally:
        await store.aclose()
    for _ in range(50):  # a server process ends a moment after its client left
        if not _connections(postgres_url, _name(schema_url)):
            break
        await asyncio.sleep(0.1)

    assert [None] * 20 == found
    assert 1 <= opened <= 3
    assert 0 == _connections(postgres_url, _name(schema_url))


@pytest.mark.postgres
async def test_a_task_reads_its_own_writes_on_one_connection(schema_url: str) -> None:
    """Inside its transaction a task's store reads see its writes, even with one connection."""
    store = await AsyncPostgresStore.aopen(f"{schema_url}&max_connections=1")
    try:
        async with asyncio.timeout(10), store.transaction() as tx:
            await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
            inside = await store.find(("email", "x@example.com"))
            listed = [record.id async for record in store.iter_customers()]
    finally:
        await store.aclose()

    assert inside is not None
    assert ["cus_x"] == listed


@pytest.mark.postgres
async def test_a_transaction_inside_a_transaction_of_one_task_is_an_error(
    astore: AsyncPostgresStore,
) -> None:
    """A task beginning a second transaction would wait for itself: StoreError instead."""
    async with astore.transaction():
        with pytest.raises(StoreError, match="already inside a transaction"):
            async with astore.transaction():
                pass


@pytest.mark.postgres
async def test_a_task_cancelled_mid_query_gives_its_connection_back(schema_url: str) -> None:
    """A cancelled slow statement is cancelled on the server; the one connection serves on."""
    store = await AsyncPostgresStore.aopen(f"{schema_url}&max_connections=1")
    try:

        async def slow() -> None:
            async with store.transaction() as tx:
                await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
                await tx.cur.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(10):
            left = await store.customer("cus_x")
            async with store.transaction() as tx:
                await tx.apply(_one_customer("cus_y", ("email", "y@example.com")))
            after = await store.customer("cus_y")
    finally:
        await store.aclose()

    assert left is None
    assert after is not None


@pytest.mark.postgres
async def test_sync_and_async_writers_take_turns(schema_url: str) -> None:
    """An async writer waits for a sync one on the same schema (the same advisory lock)."""
    sync = PostgresStore.from_url(schema_url)
    store = await AsyncPostgresStore.aopen(schema_url)
    try:
        with sync.transaction() as held:
            held.apply(_one_customer("cus_x", ("email", "x@example.com")))
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5), store.transaction() as tx:
                    await tx.customers(["cus_x"])
        async with store.transaction() as tx:
            record = (await tx.customers(["cus_x"]))["cus_x"]
            record.profile.count += 1
            await tx.apply(Changes(customers={"cus_x": record}))
        found = sync.customer("cus_x")
    finally:
        await store.aclose()
        sync.close()

    assert found is not None
    assert 1 == found.profile.count
    assert await store.secret() == sync.secret()


# -- aopen_store -----------------------------------------------------------------------------


@pytest.fixture(name="_forget_registered")
def _forget_registered_fixture() -> Iterator[None]:
    yield
    for scheme in ("apair", "abroken"):
        stores.unregister(scheme)


@pytest.mark.postgres
async def test_aopen_store_opens_the_async_twin_where_there_is_one(schema_url: str) -> None:
    """PostgreSQL URLs open `AsyncPostgresStore`, with the URL's options."""
    store = await aopen_store(f"{schema_url}&max_connections=2")
    try:
        assert isinstance(store, AsyncPostgresStore)
        assert isinstance(store, AsyncStore)
        assert 2 == store.max_connections
        assert "max_connections" not in store.url
    finally:
        await store.aclose()


async def test_aopen_store_opens_a_sync_store_where_there_is_no_twin(tmp_path: Path) -> None:
    """Memory and SQLite have no async twin: the sync store comes back, opened in a thread."""
    memory = await aopen_store("memory://")
    sqlite = await aopen_store(f"sqlite:///{tmp_path / 'shop.db'}")
    try:
        assert isinstance(memory, MemoryStore)
        assert isinstance(sqlite, SQLiteStore)
        assert isinstance(sqlite, Store)
        assert sqlite.customer("cus_x") is None
    finally:
        sqlite.close()


@pytest.mark.usefixtures("_forget_registered")
async def test_aopen_store_uses_a_registered_async_opener() -> None:
    """A registered class with `aopen` is opened through it; one opening no store is named."""

    class Pair(MemoryStore):
        @classmethod
        async def aopen(cls, url: str) -> AsyncStore:
            return await AsyncPostgresStore.aopen(url.replace("apair://", "postgresql://"))

    class Broken(MemoryStore):
        @classmethod
        async def aopen(cls, url: str) -> object:
            return MemoryStore.from_url(url)

    stores.register("apair", Pair)
    stores.register("abroken", Broken)

    with pytest.raises(StoreUnavailableError):  # Pair's opener ran: no server there
        await aopen_store("apair://nobody@127.0.0.1:1/x?connect_timeout=1")
    with pytest.raises(PluginError, match=r"not an omnikit\.stores\.AsyncStore .*aclose"):
        await aopen_store("abroken://x")
    assert isinstance(stores.open_store("abroken://x"), MemoryStore)


async def test_aopen_store_rejects_what_open_store_rejects() -> None:
    """An unknown scheme and a non-URL fail as in `open_store()`."""
    with pytest.raises(StoreNotFoundError):
        await aopen_store("nosuch://x")
    with pytest.raises(ValidationError, match="not a store URL"):
        await aopen_store("shop.db")
