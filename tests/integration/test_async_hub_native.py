"""`AsyncHub` over an `AsyncStore`: each verb's flow awaited on the event loop, no thread."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import itertools
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import omnikit
from _async_memory import AsyncMemoryStore, AsyncMemoryTransaction
from omnikit._engines.records import Changes
from omnikit.analytics import LeadScoring
from omnikit.errors import StoreUnavailableError, ValidationError
from omnikit.rules import Action, Cap, Rule, RuleSet, Segment, customer, event
from omnikit.stores import AsyncStore
from omnikit.stores.memory import MemoryStore
from omnikit.testing import FrozenClock

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
KEY = b"a suppression key of the host"
RULES = RuleSet(
    [
        Rule(
            id="promo",
            condition=event.name == "Product Viewed",
            actions=(Action.offer("x"),),
            cap=Cap(times=2, days=1),
        )
    ]
)
SEGMENTS = [Segment(id="viewers", condition=customer.stats.touchpoints >= 1)]


@pytest.fixture(name="anyio_backend")
def _anyio_backend() -> str:
    return "asyncio"  # AsyncHub is for asyncio services


def _message(mid: str, minute: int, event_name: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event_name,
        "messageId": mid,
        "timestamp": f"2026-11-01T09:{minute:02}:00Z",
        **fields,
    }


def _household() -> list[dict[str, Any]]:
    """Two people merged by the email they share (see `test_merge_and_unmerge`)."""
    return [
        _message(
            "m1",
            0,
            "Product Viewed",
            anonymousId="a1",
            context={"externalIds": [{"id": "L-1", "type": "loyalty_id"}]},
        ),
        _message(
            "m2",
            10,
            "Order Completed",
            anonymousId="a2",
            properties={"order_id": "o1", "total": 20, "products": [{"product_id": "p1"}]},
            context={"traits": {"email": "family@example.com"}},
        ),
        _message(
            "m3",
            20,
            "Cart Viewed",
            anonymousId="a1",
            context={"traits": {"email": "family@example.com"}},
        ),
    ]


Call = Callable[..., Awaitable[Any]]


async def _every_verb(call: Call) -> list[Any]:
    """Each verb of the hub once, through *call*(name, ...): what each returned."""
    got: list[Any] = [await call("ingest", {"batch": _household()})]
    merged = await call("customer", anonymous_id="a2")
    got += [merged, await call("touchpoints", merged), await call("orders", merged)]
    got += [await call("links", merged), merges := await call("merges", merged)]
    got.append(await call("unmerge", merged, merges[0].id))
    got.append(await call("track", "Product Viewed", anonymous_id="a9", message_id="t1"))
    a9 = await call("identify", anonymous_id="a9", traits={"name": "Ana"}, message_id="i1")
    got.append(a9)
    got.append(await call("set_consent", a9, purpose="marketing", granted=True, message_id="c1"))
    got.append(await call("decide", a9, "Product Viewed", record=True))
    got.append(await call("decide", a9, "Product Viewed"))
    got.append(await call("recommend", a9))
    got.append(vars(await call("bought_together")))
    got.append(await call("rfm", write_traits=True))
    scoring = LeadScoring(points={"Product Viewed": 5})
    got.append(await call("lead_scores", scoring, write_traits=True))
    got.append(await call("lead_score", a9, scoring))
    got.append(await call("refresh_segments"))
    got.append(await call("export", a9))
    got.append(await call("forget", a9, suppress=True))
    got.append(await call("unsuppress", anonymous_id="a9"))
    got.append(await call("customers"))
    return got


def _numbered_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub's own touchpoints get ids 1, 2, 3...: the same in two runs of the same verbs."""
    numbers = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(numbers)))


async def test_every_verb_awaited_gives_what_the_hub_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    Each verb, its flow awaited over an async store, returns what `Hub` returns over the
    same store kind, and leaves the same customers behind.
    """
    options: dict[str, Any] = {
        "clock": FrozenClock(T0),
        "ruleset": RULES,
        "segments": SEGMENTS,
        "suppression_key": KEY,
    }
    twins = MemoryStore(), MemoryStore()
    twins[1]._secret = twins[0].secret()
    _numbered_ids(monkeypatch)
    with omnikit.Hub(twins[0], **options) as hub:

        async def called(name: str, *args: Any, **kwargs: Any) -> Any:
            result = getattr(hub, name)(*args, **kwargs)
            return list(result) if name == "customers" else result

        expected = repr(await _every_verb(called))

    _numbered_ids(monkeypatch)
    store = AsyncMemoryStore(twins[1])
    async with omnikit.AsyncHub(store, **options) as awaited:

        async def awaiting(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == "customers":
                return [c async for c in awaited.customers(batch_size=1)]
            return await getattr(awaited, name)(*args, **kwargs)

        got = repr(await _every_verb(awaiting))

    assert expected == got
    assert store.calls > 0


async def test_the_verbs_run_on_the_event_loop() -> None:
    """Over an async store, no worker thread: the flow runs in the loop's thread."""
    loop_thread = threading.get_ident()
    seen: set[int] = set()

    def clock() -> dt.datetime:
        seen.add(threading.get_ident())
        return T0

    async with omnikit.AsyncHub(AsyncMemoryStore(), clock=clock) as hub:
        await hub.ingest(_message("m1", 0, "Product Viewed", anonymousId="a1"))
        assert await hub.customer(anonymous_id="a1") is not None

    assert {loop_thread} == seen


async def test_concurrent_tasks_keep_to_the_cap_and_lose_no_update() -> None:
    """Tasks ingesting and deciding at once: every event counts, a cap holds."""
    async with omnikit.AsyncHub(AsyncMemoryStore(), ruleset=RULES, max_concurrency=8) as hub:
        await asyncio.gather(
            *(
                hub.ingest(_message(f"m{n}", n, "Product Viewed", anonymousId="a1"))
                for n in range(20)
            )
        )
        found = await hub.customer(anonymous_id="a1")
        assert found is not None
        decisions = await asyncio.gather(
            *(hub.decide(found, "Product Viewed", record=True) for _ in range(16))
        )

    assert 20 == found.stats.touchpoints
    assert 2 == sum(bool(d.rule_ids) for d in decisions)


async def test_concurrent_ingests_enter_a_segment_once() -> None:
    """Tasks ingesting one customer's events at once record one `Segment Entered`."""
    async with omnikit.AsyncHub(AsyncMemoryStore(), segments=SEGMENTS, max_concurrency=8) as hub:
        await asyncio.gather(
            *(
                hub.ingest(_message(f"m{i}-{n}", n, "Product Viewed", anonymousId=f"c{i}"))
                for i in range(10)
                for n in range(3)
            )
        )
        for i in range(10):
            found = await hub.customer(anonymous_id=f"c{i}")
            assert found is not None
            names = [tp.name for tp in await hub.touchpoints(found)]

            assert 1 == names.count("Segment Entered"), f"c{i}"


class HeldStore(AsyncMemoryStore):
    """An async store whose writes wait for *release* once *held* is set."""

    def __init__(self) -> None:
        super().__init__()
        self.held, self.release = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncMemoryTransaction]:
        async with super().transaction() as tx:
            yield _Held(tx, self)


class _Held(AsyncMemoryTransaction):
    def __init__(self, tx: AsyncMemoryTransaction, store: HeldStore) -> None:
        super().__init__(tx._tx)
        self._store = store

    async def apply(self, changes: Changes) -> None:
        self._store.held.set()
        await self._store.release.wait()
        await super().apply(changes)


async def test_a_cancelled_call_rolls_back_its_transaction_whole() -> None:
    """Cancelling a call whose transaction is under way stores nothing of it."""
    store = HeldStore()
    async with omnikit.AsyncHub(store) as hub:
        task = asyncio.create_task(
            hub.ingest(
                {
                    "batch": [
                        _message(f"m{n}", n, "Product Viewed", anonymousId="a1") for n in range(5)
                    ]
                }
            )
        )
        await store.held.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        store.release.set()

        assert await hub.customer(anonymous_id="a1") is None
        assert {} == await store.touchpoint_counts()


async def test_the_configuration_is_on_the_async_hub_and_sync_is_refused() -> None:
    """Over an async store the hub's rule set, segments and places are on `AsyncHub`; no `sync`."""
    store = AsyncMemoryStore()
    hub = omnikit.AsyncHub(store, ruleset=RULES, segments=SEGMENTS)

    assert isinstance(store, AsyncStore)
    assert RULES is hub.ruleset
    assert ["viewers"] == [s.id for s in hub.segments.segments]
    assert {} == hub.places
    assert store is hub.store
    with pytest.raises(ValidationError, match="sync: this async hub runs on an AsyncStore"):
        hub.sync  # noqa: B018 - the property raises
    await hub.aclose()


async def test_a_closed_hub_refuses_and_leaves_the_store_given_open() -> None:
    """After `aclose()` calls raise `StoreUnavailableError`; a store given is not closed."""
    store = AsyncMemoryStore()
    hub = omnikit.AsyncHub(store)
    await hub.ingest(_message("m1", 0, "Product Viewed", anonymousId="a1"))
    await hub.aclose()

    with pytest.raises(StoreUnavailableError, match="closed"):
        await hub.customer(anonymous_id="a1")
    with pytest.raises(StoreUnavailableError, match="closed"):
        [c async for c in hub.customers()]
    assert not store.closed


async def test_errors_and_context_variables_are_the_callers() -> None:
    """A bad message raises `Hub.ingest`'s error; the caller's context variables hold."""
    request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rid", default=None)
    seen: list[str | None] = []

    def clock() -> dt.datetime:
        seen.append(request_id.get())
        return T0

    async with omnikit.AsyncHub(AsyncMemoryStore(), clock=clock) as hub:
        with pytest.raises(ValidationError, match="type: required field is missing"):
            await hub.ingest({"event": "Product Viewed", "anonymousId": "a1"})
        seen.clear()
        request_id.set("req-7")
        await hub.ingest(_message("m1", 0, "Product Viewed", anonymousId="a1"))

    assert {"req-7"} == set(seen)


async def test_load_reads_files_in_a_thread_and_awaits_each_batch(tmp_path: Path) -> None:
    """`load()` over an async store gives the report and customers `Hub.load()` gives."""
    path = tmp_path / "history.ndjson"
    lines = [_message(f"m{n}", n, "Product Viewed", anonymousId=f"a{n % 3}") for n in range(7)]
    path.write_text("\n".join(map(repr, lines)).replace("'", '"') + "\nnot json\n")
    with omnikit.Hub(clock=FrozenClock(T0)) as hub:
        expected = hub.load(path, batch_size=2)

    async with omnikit.AsyncHub(AsyncMemoryStore(), clock=FrozenClock(T0)) as awaited:
        report = await awaited.load(path, batch_size=2)
        ids = [c.id async for c in awaited.customers()]

    assert expected == report
    assert [c.id for c in hub.customers()] == ids
    assert 3 == len(ids)


async def test_a_customer_given_is_decided_for_without_reading_them_again() -> None:
    """
    `decide(customer)` reads only the history its rules need; an id, a recorded decision and
    experiments read what the store holds now.
    """
    plain = RuleSet([Rule(id="viewer", condition=event.name == "Product Viewed")])
    store = AsyncMemoryStore()
    async with omnikit.AsyncHub(store, clock=FrozenClock(T0)) as hub:
        await hub.ingest(_message("m1", 0, "Product Viewed", anonymousId="a1"))
        found = await hub.customer(anonymous_id="a1", recent=0)
        assert found is not None

        def reads(count: int) -> int:
            return store.calls - count

        before = store.calls
        assert ("viewer",) == (await hub.decide(found, "Product Viewed", ruleset=plain)).rule_ids
        assert 0 == reads(before)

        before = store.calls
        await hub.decide(found, "Product Viewed", ruleset=RULES)  # a cap reads the history
        assert 1 == reads(before)

        before = store.calls
        await hub.decide(found.id, "Product Viewed", ruleset=plain)
        assert 1 == reads(before)

        before = store.calls
        await hub.decide(found, "Product Viewed", ruleset=RULES, record=True)
        assert 2 == reads(before)  # the customer, then the transaction


def _copy_secret(from_url: str, to_url: str) -> None:
    """Give the store at *to_url* the secret of the one at *from_url* (ids keyed alike)."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL tests need it

    from omnikit.stores.postgres import PostgresStore  # noqa: PLC0415

    source, target = PostgresStore.from_url(from_url), PostgresStore.from_url(to_url)
    try:
        with psycopg.connect(target.conninfo, autocommit=True) as conn:
            conn.execute(
                f'UPDATE "{target.schema}".omnikit_meta SET value = %s WHERE key = %s',
                [source.secret().hex(), "secret"],
            )
    finally:
        source.close()
        target.close()


@pytest.mark.postgres
async def test_open_on_postgresql_awaits_every_verb_natively_as_the_hub_gives(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """
    `AsyncHub.open("postgresql://...")` runs on `AsyncPostgresStore`, on the event loop, and
    every verb gives what `Hub` gives on a PostgreSQL store of its own.
    """
    urls = [f"{postgres_url}?schema=t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    options: dict[str, Any] = {
        "clock": FrozenClock(T0),
        "ruleset": RULES,
        "segments": SEGMENTS,
        "suppression_key": KEY,
    }
    _copy_secret(urls[0], urls[1])
    _numbered_ids(monkeypatch)
    with omnikit.Hub.open(urls[0], **options) as hub:

        async def called(name: str, *args: Any, **kwargs: Any) -> Any:
            result = getattr(hub, name)(*args, **kwargs)
            return list(result) if name == "customers" else result

        expected = repr(await _every_verb(called))

    _numbered_ids(monkeypatch)
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    opened = omnikit.AsyncHub.open(urls[1], **options)
    assert "not opened yet" in repr(opened)
    async with opened as awaited:
        assert isinstance(awaited.store, omnikit.stores.postgres.AsyncPostgresStore)

        async def awaiting(name: str, *args: Any, **kwargs: Any) -> Any:
            threads.add(threading.get_ident())
            if name == "customers":
                return [c async for c in awaited.customers(batch_size=1)]
            return await getattr(awaited, name)(*args, **kwargs)

        got = repr(await _every_verb(awaiting))

    assert expected == got
    assert {loop_thread} == threads
    with pytest.raises(StoreUnavailableError, match="closed"):
        await awaited.customer(email="family@example.com")


@pytest.mark.postgres
async def test_aopen_connects_at_once_and_an_unreachable_server_fails_there(
    postgres_url: str,
) -> None:
    """`aopen()` returns a connected hub; a server that does not answer fails `aopen()`."""
    url = f"{postgres_url}?schema=t_{uuid.uuid4().hex[:12]}"
    hub = await omnikit.AsyncHub.aopen(url)
    try:
        assert "not opened yet" not in repr(hub)
        assert await hub.customer(email="nobody@example.com") is None
    finally:
        await hub.aclose()

    unreachable = "postgresql://shop:s3cret@127.0.0.1:1/omnikit?connect_timeout=2"
    lazy = omnikit.AsyncHub.open(unreachable)
    assert "s3cret" not in repr(lazy)
    with pytest.raises(StoreUnavailableError):
        async with lazy:
            pass  # pragma: no cover - entering fails
    with pytest.raises(StoreUnavailableError):
        await omnikit.AsyncHub.aopen(unreachable)


async def test_open_on_a_sync_store_serves_it_in_threads(tmp_path: Path) -> None:
    """`AsyncHub.open("sqlite:///...")` opens the sync store at once and runs verbs in threads."""
    hub = await omnikit.AsyncHub.aopen(f"sqlite:///{tmp_path / 'shop.db'}")
    async with hub:
        assert isinstance(hub.store, omnikit.stores.sqlite.SQLiteStore)
        await hub.track("Product Viewed", anonymous_id="a1", message_id="m1")
        assert (await hub.customer(anonymous_id="a1")) is not None
        assert hub.sync.store is hub.store


async def test_a_cancelled_load_stops_reading_and_storing(tmp_path: Path) -> None:
    """
    Cancelling `load()` over an async store stops it: no batch is stored afterwards, and the
    batch under way is stored whole or not at all.
    """
    path = tmp_path / "history.ndjson"
    lines = [
        json.dumps(_message(f"m{n}", n % 60, "Product Viewed", anonymousId=f"a{n}"))
        for n in range(4000)
    ]
    path.write_text("\n".join(lines) + "\n")
    first_batch = threading.Event()
    store = AsyncMemoryStore()
    async with omnikit.AsyncHub(store) as hub:
        task = asyncio.ensure_future(
            hub.load(path, batch_size=100, progress=lambda _: first_batch.set())
        )
        await asyncio.to_thread(first_batch.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stored = len([c async for c in hub.customers()])
        await asyncio.sleep(0.5)  # a load still running would store more by now
        later = len([c async for c in hub.customers()])

    assert 100 <= stored < 4000
    assert stored == later
    assert 0 == stored % 100  # whole batches only


@pytest.mark.postgres
async def test_closing_while_the_store_connects_ends_every_call(postgres_url: str) -> None:
    """
    `aclose()` while the first call is still connecting: that call ends (refused or done),
    the closing ends, and no connection of the hub stays open.
    """
    import psycopg  # noqa: PLC0415 - only PostgreSQL tests need it

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url}?schema={schema}"

    def connections() -> int:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
            return int(row[0]) if row else 0

    before = await asyncio.to_thread(connections)
    hub = omnikit.AsyncHub.open(url)
    call = asyncio.ensure_future(hub.customer(email="ana@example.com"))
    await asyncio.sleep(0)  # the call starts connecting
    await asyncio.wait_for(hub.aclose(), 20)
    with contextlib.suppress(StoreUnavailableError):
        await asyncio.wait_for(call, 20)
    for _ in range(50):  # the server notices closed connections a moment later
        if await asyncio.to_thread(connections) <= before:
            break
        await asyncio.sleep(0.1)

    assert await asyncio.to_thread(connections) <= before
    with pytest.raises(StoreUnavailableError, match="closed"):
        await hub.customer(email="ana@example.com")


async def test_a_store_that_is_neither_sync_nor_async_is_refused_by_name() -> None:
    """Half an async store (some methods missing) is refused, naming both ports."""

    class HalfAsync:
        url = "half://"

        async def customer(self, customer_id: str) -> None:
            del customer_id

    with pytest.raises(
        ValidationError, match=r"neither an omnikit\.stores\.Store nor an AsyncStore"
    ):
        omnikit.AsyncHub(HalfAsync())  # type: ignore[arg-type]
