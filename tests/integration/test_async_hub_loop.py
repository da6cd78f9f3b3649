"""
`AsyncHub` over an `AsyncStore` keeps the event loop free, and keeps to *max_concurrency*.

A large payload is read and validated in a worker thread while other tasks go on; the calls
under way at once never outnumber *max_concurrency*, whatever kind of call they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import omnikit
from _async_memory import AsyncMemoryStore
from omnikit._engines.records import CustomerRecord
from omnikit.errors import ValidationError
from omnikit.stores.postgres import AsyncPostgresStore
from omnikit.testing import FrozenClock

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
EVENTS = 3000
"""Messages in a large payload: tens of milliseconds of reading and validating."""


@pytest.fixture(name="anyio_backend")
def _anyio_backend() -> str:
    return "asyncio"  # AsyncHub is for asyncio services


def _message(n: int) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"m{n}",
        "anonymousId": f"a{n % 500}",
        "timestamp": f"2026-11-01T09:{n % 60:02}:00Z",
        "properties": {"product_id": f"p{n % 40}", "price": 10 + n % 7},
    }


def _messages() -> list[dict[str, Any]]:
    """A large batch, two of its messages invalid."""
    messages = [_message(n) for n in range(EVENTS)]
    messages[7] = {**messages[7], "timestamp": "yesterday"}
    messages[2999] = {"type": "track", "messageId": "no-event", "anonymousId": "a1"}
    return messages


def _payloads() -> Iterator[Any]:
    messages = _messages()
    ndjson = "\n".join(json.dumps(m) for m in messages)
    yield pytest.param(ndjson, id="ndjson-text")
    yield pytest.param(ndjson.encode(), id="ndjson-bytes")
    yield pytest.param(json.dumps({"batch": messages}), id="envelope-text")
    yield pytest.param({"batch": messages}, id="envelope")
    yield pytest.param(messages, id="list")


class Ticker:
    """A task that counts the turns the event loop gives it."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0)


class Ticked:
    """An async store that notes the ticker's count each time a transaction is asked for."""

    ticker: Ticker | None = None
    ticks: list[int]

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.ticker is not None:
            self.ticks.append(self.ticker.ticks)
        return super().transaction()  # type: ignore[misc, no-any-return]


class TickedMemoryStore(Ticked, AsyncMemoryStore):
    """The memory store, awaited, ticks noted."""


class TickedPostgresStore(Ticked, AsyncPostgresStore):
    """The async PostgreSQL store, ticks noted."""


async def _ingest_beside_a_ticker(payload: Any, store: Any = None) -> tuple[Any, list[int]]:
    """Ingest *payload* with a ticker on the same loop: the result, and the ticks seen."""
    store = TickedMemoryStore() if store is None else store
    store.ticker, store.ticks = Ticker(), []
    async with omnikit.AsyncHub(store, clock=FrozenClock(T0)) as hub:
        ingesting = asyncio.ensure_future(hub.ingest(payload))  # runs first: it is older
        ticking = asyncio.ensure_future(store.ticker.run())
        try:
            result = await ingesting
        finally:
            ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticking
    return result, store.ticks


@pytest.mark.parametrize("payload", list(_payloads()))
async def test_a_large_payload_is_read_off_the_event_loop(payload: Any) -> None:
    """
    While a large payload is read and validated, the other tasks of the loop go on: they
    have had turns before its first transaction is asked for. The result is the `Hub`'s.
    """
    with omnikit.Hub(clock=FrozenClock(T0)) as hub:
        expected = hub.ingest(payload)

    result, ticks = await _ingest_beside_a_ticker(payload)

    assert ticks[0] > 0
    assert expected.accepted == result.accepted
    assert [(r.index, r.message_id, r.error.errors) for r in expected.rejected] == [
        (r.index, r.message_id, r.error.errors) for r in result.rejected
    ]
    assert 2 == len(result.rejected)


@pytest.mark.postgres
async def test_a_large_payload_is_read_off_the_loop_on_postgresql(postgres_url: str) -> None:
    """On the async PostgreSQL store too, the loop goes on while a large payload is read."""
    payload = "\n".join(json.dumps(m) for m in _messages())
    store = await TickedPostgresStore.aopen(f"{postgres_url}?schema=t_{uuid.uuid4().hex[:12]}")
    try:
        result, ticks = await _ingest_beside_a_ticker(payload, store)
    finally:
        await store.aclose()

    assert ticks[0] > 0
    assert EVENTS - 2 == len(result.accepted)


async def test_a_small_payload_is_read_on_the_loop() -> None:
    """A payload of a few messages costs no trip to a thread: it is read in place."""
    messages = [_message(n) for n in range(3)]

    result, ticks = await _ingest_beside_a_ticker({"batch": messages})

    assert 0 == ticks[0]
    assert 3 == len(result.accepted)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("{" + " " * 40_000 + '"type": ', id="not-json"),
        pytest.param(b"\xff" * 40_000, id="not-utf8"),
        pytest.param(json.dumps({**_message(1), "padding": "x" * 40_000}), id="too-large"),
        pytest.param(json.dumps({**_message(1), "timestamp": "x" * 40_000}), id="invalid"),
    ],
)
async def test_a_large_payload_refused_raises_the_hubs_error(payload: Any) -> None:
    """A large payload that is no valid message raises what `Hub.ingest()` raises."""
    with omnikit.Hub(clock=FrozenClock(T0)) as hub, pytest.raises(ValidationError) as expected:
        hub.ingest(payload)

    async with omnikit.AsyncHub(AsyncMemoryStore(), clock=FrozenClock(T0)) as awaited:
        with pytest.raises(ValidationError) as got:
            await awaited.ingest(payload)

    assert expected.value.errors == got.value.errors


# -- calls under way at once ----------------------------------------------------------------------


class GaugedStore(AsyncMemoryStore):
    """
    An async store whose reads take a few turns of the loop, without the memory store's
    turn-taking: it counts the reads under way at once, and the most it saw.
    """

    def __init__(self) -> None:
        super().__init__()
        self.under_way = self.most = 0

    @contextlib.asynccontextmanager
    async def _gauged(self) -> AsyncIterator[None]:
        self.under_way += 1
        self.most = max(self.most, self.under_way)
        try:
            for _ in range(5):
                await asyncio.sleep(0)
            yield
        finally:
            self.under_way -= 1

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        async with self._gauged():
            return self.sync.customer(customer_id)

    async def find(self, key: tuple[str, str]) -> CustomerRecord | None:
        async with self._gauged():
            return self.sync.find(key)

    async def iter_customers(self, *, batch_size: int = 1000) -> AsyncIterator[CustomerRecord]:
        for record in self.sync.iter_customers(batch_size=batch_size):
            async with self._gauged():  # fetching the record, not holding it
                pass
            yield record


@pytest.mark.parametrize("limit", [1, 3])
async def test_max_concurrency_bounds_the_calls_under_way(limit: int) -> None:
    """
    Over an async store, at most *max_concurrency* calls are under way at once, and as
    many as that when more wait; every call completes.
    """
    store = GaugedStore()
    async with omnikit.AsyncHub(store, max_concurrency=limit) as hub:
        await hub.ingest({"batch": [_message(n) for n in range(10)]})
        found = await asyncio.gather(
            *(hub.customer(anonymous_id=f"a{n}") for n in range(10)),
            *(hub.customer(f"cus_nobody{n}") for n in range(10)),
        )

    assert limit == store.most
    assert 10 == sum(customer is not None for customer in found)


async def test_a_stream_counts_one_call_per_page() -> None:
    """A `customers()` stream is under way while it reads a page, not while it is held."""
    store = GaugedStore()
    async with omnikit.AsyncHub(store, max_concurrency=1) as hub:
        await hub.ingest({"batch": [_message(n) for n in range(10)]})
        seen = []
        async for customer in hub.customers(batch_size=3):
            # The stream holds no call here: another call of the hub gets its turn.
            again = await asyncio.wait_for(hub.customer(customer.id), 5)
            assert again is not None
            seen.append(again.id)
        gathered = await asyncio.gather(
            _read_all(hub), _read_all(hub), hub.customer(anonymous_id="a1")
        )

    assert 10 == len(seen)
    assert 1 == store.most
    assert gathered[0] == gathered[1] == seen


async def _read_all(hub: omnikit.AsyncHub) -> list[str]:
    return [customer.id async for customer in hub.customers(batch_size=4)]


async def test_a_load_is_one_call_under_way(tmp_path: Path) -> None:
    """A `load()` holds one call from start to end: with one allowed, others wait for it."""
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(json.dumps(_message(n)) for n in range(400)) + "\n")
    store = GaugedStore()
    order: list[str] = []

    async def load(hub: omnikit.AsyncHub) -> None:
        report = await hub.load(path, batch_size=100)
        order.append(f"load {report.accepted}")

    async def look(hub: omnikit.AsyncHub) -> None:
        await asyncio.sleep(0)  # the load has started
        await hub.customer(anonymous_id="a1")
        order.append("look")

    async with omnikit.AsyncHub(store, max_concurrency=1) as hub:
        await asyncio.gather(load(hub), look(hub))

    assert ["load 400", "look"] == order


def test_max_threads_is_the_old_name_of_max_concurrency() -> None:
    """`max_threads` still works, with a `DeprecationWarning` pointing at the caller."""
    with pytest.warns(DeprecationWarning, match=r"max_threads.*max_concurrency") as warned:
        hub = omnikit.AsyncHub(max_threads=2)
    assert __file__ == warned[0].filename
    with pytest.warns(DeprecationWarning, match=r"max_threads.*max_concurrency") as warned:
        opened = omnikit.AsyncHub.open("memory://", max_threads=2)
    assert __file__ == warned[0].filename

    for each in (hub, opened):
        assert 2 == each._executor._max_workers
    asyncio.run(hub.aclose())
    asyncio.run(opened.aclose())


async def test_aopen_takes_the_old_name_too() -> None:
    """`aopen(max_threads=...)` warns once, at the caller's line."""
    with pytest.warns(DeprecationWarning, match=r"max_threads.*max_concurrency") as warned:
        hub = await omnikit.AsyncHub.aopen("memory://", max_threads=3)
    await hub.aclose()

    assert 1 == len(warned)
    assert __file__ == warned[0].filename


@pytest.mark.parametrize("bad", [0, -1, 1.5, "4", True])
def test_max_concurrency_must_be_a_positive_integer(bad: object) -> None:
    """A *max_concurrency* that is not a positive integer is refused, by name."""
    with pytest.raises(ValidationError, match="max_concurrency: expected a positive integer"):
        omnikit.AsyncHub(max_concurrency=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_concurrency: expected a positive integer"):
        omnikit.AsyncHub.open("memory://", max_concurrency=bad)  # type: ignore[arg-type]


def test_both_names_at_once_are_refused() -> None:
    """`max_threads` and another *max_concurrency* together: which one was meant is unclear."""
    with pytest.raises(ValidationError, match="max_threads: the old name of max_concurrency"):
        omnikit.AsyncHub(max_concurrency=2, max_threads=3)
