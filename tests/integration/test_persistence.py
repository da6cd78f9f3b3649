"""Data outlives the hub, and writers in separate processes lose nothing."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

import omnikit
from omnikit.errors import StoreNotFoundError, StoreUnavailableError, ValidationError
from omnikit.stores import open_store
from omnikit.stores._sql import MIGRATIONS


def _writer(url: str, worker: int, count: int) -> None:
    with omnikit.Hub.open(url) as hub:
        for i in range(count):
            hub.ingest(
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "messageId": f"w{worker}-{i}",
                    "userId": "shared-user",
                    "anonymousId": f"browser-{worker}",
                    "timestamp": f"2026-11-01T10:{i:02d}:{worker:02d}Z",
                }
            )


@pytest.mark.stores("sqlite", "postgres")
def test_two_processes_lose_no_update(store_url: str) -> None:
    """Two processes writing the same customer into one database lose nothing."""
    omnikit.Hub.open(store_url).close()  # create the schema once, up front
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(store_url, n, 30)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [0, 0] == [w.exitcode for w in workers]
    with omnikit.Hub.open(store_url) as hub:
        customer = hub.customer(user_id="shared-user")
        assert customer is not None
        assert 60 == customer.stats.touchpoints
        assert 60 == len(hub.touchpoints(customer))


@pytest.mark.stores("sqlite", "postgres")
def test_data_is_there_when_the_url_is_opened_again(store_url: str) -> None:
    """Close the hub, open the same URL: customers, history and merges are all there."""
    with omnikit.Hub.open(store_url) as hub:
        hub.identify(
            user_id="u1", anonymous_id="a1", traits={"email": "ana@example.com"}, message_id="m1"
        )
        hub.track(
            "Order Completed",
            anonymous_id="a2",
            email="ana@example.com",
            properties={"order_id": "o1", "total": 5},
            message_id="m2",
        )
        before = hub.customer(user_id="u1")

    with omnikit.Hub.open(store_url) as hub:
        after = hub.customer(email="ana@example.com")
        assert before == after
        assert ["m1", "m2"] == [tp.message_id for tp in hub.touchpoints(after)]  # type: ignore[arg-type]
        assert "o1" == hub.orders(after)[0].order_id  # type: ignore[arg-type]


def test_sqlite_schema_is_versioned(tmp_path: Path) -> None:
    """The SQLite file records its schema version, and a newer one is refused clearly."""
    path = tmp_path / "v.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute(
            "SELECT value FROM omnikit_meta WHERE key = 'schema_version'"
        ).fetchone()
        conn.execute("UPDATE omnikit_meta SET value = '999' WHERE key = 'schema_version'")

    with pytest.raises(StoreUnavailableError, match="schema version 999, newer than this omnikit"):
        open_store(f"sqlite:///{path}")
    assert str(len(MIGRATIONS)) == version


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("shop.db", ValidationError, "not a store URL"),
        ("mongodb://localhost", StoreNotFoundError, "no store for scheme 'mongodb'"),
        ("sqlite:///no/such/dir/x.db", StoreUnavailableError, "does not exist"),
        ("sqlite:///:memory:", ValidationError, "use 'memory://' instead"),
        ("sqlite://x.db", ValidationError, "not an SQLite URL"),
    ],
)
def test_bad_store_urls_say_why(url: str, error: type[Exception], message: str) -> None:
    """
    A store URL that cannot work is refused with the reason; only a store that may work
    later is unavailable (retrying a mistyped URL never helps).
    """
    with pytest.raises(error, match=message) as caught:
        open_store(url)
    assert isinstance(caught.value, StoreUnavailableError) == (error is StoreUnavailableError)


@pytest.mark.postgres
def test_postgres_that_cannot_be_reached_is_unavailable() -> None:
    """A PostgreSQL server that is not there raises StoreUnavailableError, with no password shown."""
    with pytest.raises(StoreUnavailableError) as info:
        open_store("postgresql://omnikit:secret@127.0.0.1:1/nowhere?connect_timeout=2")

    assert "secret" not in str(info.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "where",
    [
        "postgresql://omnikit:hunter2@127.0.0.1:1/nowhere?connect_timeout=2",
        "postgresql://omnikit@127.0.0.1:1/nowhere?password=hunter2&connect_timeout=2",
        "host=127.0.0.1 port=1 dbname=nowhere password=hunter2 connect_timeout=2",
        "host=127.0.0.1 port=1 dbname=nowhere password='hunter2 x' connect_timeout=2",
    ],
)
def test_no_form_of_password_shows_in_urls_reprs_or_errors(where: str) -> None:
    """Wherever a connection string puts the password, the stores' URLs and errors hide it."""
    from omnikit.stores.postgres import AsyncPostgresStore, PostgresStore  # noqa: PLC0415

    with pytest.raises(StoreUnavailableError) as sync_error:
        PostgresStore(where)
    astore = AsyncPostgresStore(where)
    with pytest.raises(StoreUnavailableError) as async_error:
        asyncio.run(astore.customer("cus_1"))
    shown = [
        str(sync_error.value),
        str(async_error.value),
        astore.url,
        repr(omnikit.AsyncHub(astore)),
    ]

    assert not [text for text in shown if "hunter2" in text]
