"""
A store that fails for a while is not a store that refuses messages.

Only a refusal of what a message holds (`StoreRefusedError`) is narrowed down to the messages
refused. A locked database, a full disk or a lost connection raised `StoreError` too, and a
batch was cut into single messages that were each marked rejected ("the store refused it")
though nothing was wrong with them: they now raise `StoreUnavailableError` at once, with none
of the chunk stored, and a retry of the same batch stores every message once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

import omnikit
from _faults import FaultyStore, write_locked
from omnikit.errors import StoreError, StoreRefusedError, StoreUnavailableError
from omnikit.stores import open_store
from omnikit.stores.sqlite import SQLiteStore
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def track(message_id: str, *, note: str = "") -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"a-{message_id}",
        "messageId": message_id,
        "timestamp": "2026-11-01T10:00:00Z",
        "properties": {"note": note},
    }


def stored_ids(hub: omnikit.Hub) -> list[str]:
    return sorted(tp.message_id for c in hub.customers() for tp in hub.touchpoints(c))


# -- SQLite ---------------------------------------------------------------------------------------


class _SmallDisk(SQLiteStore):
    """Real SQLite whose connections may not grow the file past *max_pages* (a full disk)."""

    max_pages: int | None = None

    def _connect(self) -> Any:
        conn = super()._connect()
        if self.max_pages is not None:
            conn.execute(f"PRAGMA max_page_count={self.max_pages}")
        return conn


def _pages(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])


def test_a_full_disk_marks_no_message_rejected(tmp_path: Path) -> None:
    """
    SQLite out of space raises StoreUnavailableError for the chunk: no message is rejected,
    none of the chunk is stored, and once there is space the retry stores them all.
    """
    path = tmp_path / "shop.db"
    SQLiteStore(path).close()
    _SmallDisk.max_pages = _pages(path) + 8  # room for a few messages, not for forty
    batch = [track(f"m{i:02d}", note="x" * 2000) for i in range(40)]
    with omnikit.Hub(_SmallDisk(path), clock=FrozenClock(T0)) as hub:
        with pytest.raises(StoreUnavailableError, match="full") as info:
            hub.ingest(batch)

        assert omnikit.IngestResult() == info.value.partial
        assert [] == stored_ids(hub)
    _SmallDisk.max_pages = None
    with omnikit.Hub(_SmallDisk(path), clock=FrozenClock(T0)) as hub:
        retry = hub.ingest(batch)

        assert 40 == len(retry.accepted)
        assert () == retry.rejected
        assert sorted(retry.accepted) == stored_ids(hub)


def test_a_locked_sqlite_database_raises_and_the_retry_stores_once(tmp_path: Path) -> None:
    """
    A writer holding the lock past the store's busy timeout is StoreUnavailableError, with
    nothing stored and nothing rejected; the same batch, retried, is stored once.
    """
    path = tmp_path / "shop.db"
    batch = [track(f"m{i}") for i in range(6)]
    with omnikit.Hub(SQLiteStore(path, timeout=0.05), clock=FrozenClock(T0), batch_size=2) as hub:
        with write_locked(path), pytest.raises(StoreUnavailableError, match="locked") as info:
            hub.ingest(batch)

        assert omnikit.IngestResult() == info.value.partial
        assert [] == stored_ids(hub)
        assert tuple(f"m{i}" for i in range(6)) == hub.ingest(batch).accepted
        assert tuple(f"m{i}" for i in range(6)) == hub.ingest(batch).duplicates


@pytest.mark.stores("sqlite", "postgres")
def test_text_no_store_can_encode_is_a_refusal(store_url: str) -> None:
    """A lone surrogate reaching SQLite or PostgreSQL is StoreRefusedError, not a Unicode error."""
    store = open_store(store_url)
    try:
        with pytest.raises(StoreRefusedError, match="surrogates"), store.transaction() as tx:
            tx.seen(["\ud800"])
    finally:
        store.close()


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.stores("postgres")
def test_postgres_nul_is_a_refusal(store_url: str) -> None:
    """A NUL character reaching PostgreSQL is StoreRefusedError: the store cannot hold it."""
    store = open_store(store_url)
    try:
        with pytest.raises(StoreRefusedError, match="NUL"), store.transaction() as tx:
            tx.seen(["a\x00b"])
    finally:
        store.close()


@pytest.fixture(name="named_store_url")
def _named_store_url(store_url: str) -> tuple[str, str]:
    """The store URL, its connections named so that a test can find them on the server."""
    name = f"omnikit_{uuid.uuid4().hex[:12]}"
    return f"{store_url}&application_name={name}", name


def _terminate(postgres_url: str, application_name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )


@pytest.mark.stores("postgres")
def test_postgres_url_parameters_reach_libpq_as_written(named_store_url: tuple[str, str]) -> None:
    """
    `options=-c%20lock_timeout%3D250` reaches the server as `-c lock_timeout=250` (it was
    passed on as `-c+lock_timeout...`, which the server refused), and the store's URL, as
    errors show it, keeps one `?`.
    """
    url, _ = named_store_url
    store = open_store(f"{url}&options=-c%20lock_timeout%3D250")
    try:
        with store.transaction() as tx:
            tx.cur.execute("SHOW lock_timeout")
            assert ("250ms",) == tx.cur.fetchone()
        assert 1 == store.url.count("?")
        assert "&schema=t_" in store.url
    finally:
        store.close()


@pytest.mark.stores("postgres")
def test_a_lost_postgres_connection_is_retryable(
    named_store_url: tuple[str, str], postgres_url: str
) -> None:
    """
    A connection the server ended is StoreUnavailableError with nothing stored; the retry
    opens a new one and stores the batch, once.
    """
    url, name = named_store_url
    batch = [track(f"m{i}") for i in range(4)]
    with omnikit.Hub(url, clock=FrozenClock(T0)) as hub:
        hub.ingest(track("before"))
        _terminate(postgres_url, name)

        with pytest.raises(StoreUnavailableError) as info:
            hub.ingest(batch)
        assert omnikit.IngestResult() == info.value.partial
        retry = hub.ingest(batch)

        assert ("m0", "m1", "m2", "m3") == retry.accepted
        assert ["before", "m0", "m1", "m2", "m3"] == stored_ids(hub)


@pytest.mark.stores("postgres")
def test_a_postgres_lock_timeout_is_retryable(
    named_store_url: tuple[str, str], postgres_url: str
) -> None:
    """
    Waiting past `lock_timeout` for a table another session locked is StoreUnavailableError:
    nothing rejected, nothing stored; the retry after the lock is released stores the batch.
    """
    url, _ = named_store_url
    schema = url.split("schema=")[1].split("&")[0]
    batch = [track(f"m{i}") for i in range(4)]
    url = f"{url}&options=-c%20lock_timeout%3D200"  # libpq reads %20 as a space
    with omnikit.Hub(url, clock=FrozenClock(T0), batch_size=2) as hub:
        with psycopg.connect(postgres_url) as other:
            other.execute(f'LOCK TABLE "{schema}".omnikit_touchpoints IN ACCESS EXCLUSIVE MODE')
            with pytest.raises(StoreUnavailableError, match="lock timeout") as info:
                hub.ingest(batch)
            other.rollback()

        assert omnikit.IngestResult() == info.value.partial
        assert ("m0", "m1", "m2", "m3") == hub.ingest(batch).accepted


# -- what is narrowed down, and what is not -----------------------------------------------------


def test_a_store_error_that_is_no_refusal_is_not_narrowed_down(tmp_path: Path) -> None:
    """
    A StoreError that does not say the store refused the content (a schema out of date, a
    driver's bug) is raised for its chunk: the chunks before are stored, no message of it.
    """
    error = StoreError("sqlite: no such table: omnikit_touchpoints")
    store = FaultyStore(tmp_path / "shop.db", lambda ids: error if "m3" in ids else None)
    batch = [track(f"m{i}") for i in range(6)]
    with omnikit.Hub(store, clock=FrozenClock(T0), batch_size=2) as hub:
        with pytest.raises(StoreError, match="no such table") as info:
            hub.ingest(batch)

        assert ("m0", "m1") == info.value.partial.accepted
        assert () == info.value.partial.rejected
        assert ["m0", "m1"] == stored_ids(hub)


def test_a_refusal_is_narrowed_down_to_the_message(tmp_path: Path) -> None:
    """A StoreRefusedError rejects the message refused, and only it."""
    error = StoreRefusedError("sqlite: string or blob too big")
    store = FaultyStore(tmp_path / "shop.db", lambda ids: error if "m3" in ids else None)
    batch = [track(f"m{i}") for i in range(6)]
    with omnikit.Hub(store, clock=FrozenClock(T0), batch_size=6) as hub:
        result = hub.ingest(batch)

        assert ("m0", "m1", "m2", "m4", "m5") == result.accepted
        assert ["m3"] == [r.message_id for r in result.rejected]
        assert ["m0", "m1", "m2", "m4", "m5"] == stored_ids(hub)
