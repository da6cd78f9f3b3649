"""
The async store contract: what every `omnikit.stores.AsyncStore` must do, as a pytest suite.

```python
import pytest
from omnikit.testing import AsyncStoreContract


class TestMyAsyncStore(AsyncStoreContract):
    @pytest.fixture
    def open_async_store(self):
        async def open_store():
            return await MyAsyncStore.aopen("...")  # fresh and empty for every test

        return open_store
```

Every check of `StoreContract` runs on the async store, seen as a sync one: its coroutines
run on an event loop in a thread of the suite's own (`store_loop`), each transaction in a task
of its own. Then `omnikit.AsyncHub` drives the store itself on that loop, awaiting each call
in the caller's task as a service would: shuffled histories end as in the memory store, and
tasks using the hub's verbs at once find, read and cap as one task would. Then the checks
only an async store can fail: many tasks writing at once lose no update, and a task cancelled
inside a transaction, or while waiting to begin one, leaves nothing behind and the store usable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from omnikit import AsyncHub, Hub
from omnikit.rules import Action, Cap, Rule, RuleSet, event
from omnikit.stores import (
    AsyncCustomerStore,
    AsyncIngestTransaction,
    AsyncOutboxStore,
    AsyncOutboxTransaction,
    AsyncStore,
    AsyncTouchpointStore,
    IngestTransaction,
    Store,
)
from omnikit.stores.memory import MemoryStore
from omnikit.stores.records import Changes
from omnikit.testing._clock import FrozenClock
from omnikit.testing._contract import StoreContract, _one_customer, assert_same_holdings
from omnikit.testing._streams import T0, aplay, holdings, memory_holdings, message_ids, shop_steps

__all__ = ["AsyncStoreContract"]

_T = TypeVar("_T")
_TASKS = 20
"""How many tasks write at once."""
_CANCELS = 12
"""How many transactions are cancelled in a row: more than a small pool has connections."""
_NATIVE_SEEDS = (6, 7)
"""The shuffled histories `AsyncHub` plays on the store itself."""
_CAPPED = RuleSet(
    [
        Rule(
            id="promo",
            condition=event.name == "Product Viewed",
            actions=(Action.offer("promo"),),
            cap=Cap(times=2, days=1),
        )
    ]
)
"""A rule that may choose a customer twice a day."""


class _LoopThread:
    """An event loop running in a thread of its own; other threads run coroutines on it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run *coro* on the loop, in a task of its own; its result."""
        return self.wait(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def wait(self, future: concurrent.futures.Future[_T]) -> _T:
        """The result of *future*; an `AssertionError` if it takes longer than the timeout."""
        try:
            return future.result(self.timeout)
        except TimeoutError:
            if future.done():  # the store's own TimeoutError
                raise
        future.cancel()
        msg = f"the store did not answer within {self.timeout} s (waiting for itself?)"
        raise AssertionError(msg)

    def send(self, queue: asyncio.Queue[Any], item: Any) -> None:
        """Put *item* in *queue*, which lives on the loop."""
        self.loop.call_soon_threadsafe(queue.put_nowait, item)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _RolledBackError(Exception):
    """Raised inside a held transaction to make the store roll it back."""


_Call = Callable[[AsyncIngestTransaction], Awaitable[Any]]


async def _hold(
    store: AsyncStore, inbox: asyncio.Queue[Any], entered: concurrent.futures.Future[None]
) -> None:
    """Hold one transaction open in this task, running the calls that come in, then commit."""
    async with store.transaction() as tx:
        entered.set_result(None)
        while True:
            call, done = await inbox.get()
            if call is None:
                return
            if call is _RolledBackError:
                raise _RolledBackError
            try:
                done.set_result(await call(tx))
            except Exception as exc:  # noqa: BLE001 - the caller's thread raises it
                done.set_exception(exc)


class _SyncStore:
    """
    An `AsyncStore` seen as a sync `Store`, over an event loop in another thread.

    Each transaction is held by a task of its own, which runs the calls made inside it, and
    the store's reads a thread makes while it holds a transaction (as a task would make them).
    Other calls run in tasks of their own.
    """

    def __init__(self, store: AsyncStore, loop: _LoopThread) -> None:
        self.async_store = store
        self.url = store.url
        self._loop = loop
        self._held = threading.local()
        self._closed = False

    def _run(self, make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run the coroutine *make* makes: in this thread's transaction's task, if it holds one."""
        call = getattr(self._held, "call", None)
        if call is None:
            return self._loop.run(make())
        return call(lambda _: make())  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        if name not in _READS:
            raise AttributeError(name)
        method = getattr(self.async_store, name)
        return lambda *args, **kwargs: self._run(lambda: method(*args, **kwargs))

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[Any]:
        """Every customer, one `__anext__` at a time."""
        customers = self.async_store.iter_customers(batch_size=batch_size).__aiter__()
        while True:
            try:
                yield self._run(lambda: _next(customers))
            except StopAsyncIteration:
                return

    @contextlib.contextmanager
    def transaction(self) -> Iterator[IngestTransaction]:
        """A transaction held by a task of its own; rolled back if the block raises."""
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        entered: concurrent.futures.Future[None] = concurrent.futures.Future()
        held = asyncio.run_coroutine_threadsafe(
            _hold(self.async_store, inbox, entered), self._loop.loop
        )
        concurrent.futures.wait(
            [entered, held], self._loop.timeout, concurrent.futures.FIRST_COMPLETED
        )
        if not entered.done():
            self._loop.wait(held)  # raises what beginning raised, or says it took too long

        def call(fn: _Call) -> Any:
            done: concurrent.futures.Future[Any] = concurrent.futures.Future()
            self._loop.send(inbox, (fn, done))
            return self._loop.wait(done)

        outer, self._held.call = getattr(self._held, "call", None), call
        try:
            yield _SyncTransaction(call)
        except BaseException:
            self._loop.send(inbox, (_RolledBackError, None))
            with contextlib.suppress(_RolledBackError):
                self._loop.wait(held)
            raise
        finally:
            self._held.call = outer
        self._loop.send(inbox, (None, None))
        self._loop.wait(held)

    def close(self) -> None:
        """`aclose()` the store, once."""
        if not self._closed:
            self._closed = True
            self._loop.run(self.async_store.aclose())


class _SyncTransaction:
    """An `AsyncIngestTransaction` held by a task, called from another thread."""

    def __init__(self, call: Callable[[_Call], Any]) -> None:
        self._call = call

    def __getattr__(self, name: str) -> Any:
        if name not in _TRANSACTION:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(lambda tx: getattr(tx, name)(*args, **kwargs))


async def _next(customers: Any) -> Any:
    return await customers.__anext__()


def _names(protocol: type) -> frozenset[str]:
    return frozenset(name for name in vars(protocol) if not name.startswith("_"))


_READS = (_names(AsyncCustomerStore) | _names(AsyncTouchpointStore) | _names(AsyncOutboxStore)) - {
    "transaction",
    "iter_customers",
}
_TRANSACTION = _names(AsyncIngestTransaction) | _names(AsyncOutboxTransaction)


class AsyncStoreContract(StoreContract):
    """
    The contract every async store passes; subclass it with an `open_async_store` fixture.

    The fixture returns an async function that opens a fresh, empty store; the suite opens
    it on its own event loop (`store_loop`) and closes it (`aclose()`) after each test. Every
    check of `StoreContract` runs on it, then the async checks below.

    Added in version 0.1.0.
    """

    timeout = 120.0
    """Seconds any one call may take before the suite calls it a deadlock."""

    @pytest.fixture
    def open_async_store(self) -> Callable[[], Awaitable[AsyncStore]]:  # pragma: no cover
        """An async function opening a fresh, empty store; subclasses must override this."""
        msg = "subclass AsyncStoreContract and define an `open_async_store` fixture"
        raise TypeError(msg)

    @pytest.fixture
    def store_loop(self) -> Iterator[_LoopThread]:
        """The event loop the store lives on, in a thread of its own."""
        loop = _LoopThread(self.timeout)
        yield loop
        loop.close()

    @pytest.fixture
    def async_store(
        self,
        open_async_store: Callable[[], Coroutine[Any, Any, AsyncStore]],
        store_loop: _LoopThread,
    ) -> Iterator[AsyncStore]:
        """The store `open_async_store` opens, on `store_loop`; closed afterwards."""
        store = store_loop.run(open_async_store())
        yield store
        store_loop.run(store.aclose())

    @pytest.fixture
    def store(self, async_store: AsyncStore, store_loop: _LoopThread) -> Store:
        """The async store seen as a sync one, for the checks of `StoreContract`."""
        return _SyncStore(async_store, store_loop)

    # -- the async hub on the store itself ---------------------------------------------------

    @pytest.mark.parametrize("seed", _NATIVE_SEEDS)
    def test_a_shuffled_history_through_the_async_hub_ends_as_in_the_memory_store(
        self, async_store: AsyncStore, store_loop: _LoopThread, store: Store, seed: int
    ) -> None:
        """
        `AsyncHub`, awaiting the store in one task, leaves what `Hub` leaves in the memory store.

        The history of `test_a_shuffled_history_ends_as_in_the_memory_store`: merges, late and
        repeated events in batches, an unmerge, an erasure; then everything held is compared.
        """
        steps, keys = shop_steps(seed)

        async def played() -> None:
            async with AsyncHub(async_store, clock=FrozenClock(T0)) as hub:
                await aplay(hub, steps)

        store_loop.run(played())
        with Hub(store, clock=FrozenClock(T0)) as hub:
            held = holdings(hub, keys, message_ids(steps))

        assert_same_holdings(memory_holdings(steps, keys), held)

    def test_the_async_hub_s_verbs_from_many_tasks_at_once(
        self, async_store: AsyncStore, store_loop: _LoopThread
    ) -> None:
        """
        Tasks calling `AsyncHub`'s verbs at once get what one `Hub` gets from the memory store.

        A shopper's events, ingested by a task each, merge into one customer, found by every
        identifier with the same touchpoints and merges; then tasks each ingest a view and
        decide with `record=True`, each task in two transactions: a cap of two holds.
        """
        steps, keys = shop_steps(8, people=2, events=12)
        events = [e for kind, arg in steps if kind == "ingest" for e in arg.get("batch", [arg])]
        views = [_view(n) for n in range(_TASKS)]
        with Hub(MemoryStore(), clock=FrozenClock(T0)) as reference:
            reference.ingest({"batch": events})
            expected = _seen_by(reference, keys)

        async def check() -> tuple[list[Any], list[Any], Any]:
            async with AsyncHub(
                async_store, clock=FrozenClock(T0), ruleset=_CAPPED, max_concurrency=8
            ) as hub:
                await asyncio.gather(*(hub.ingest(e) for e in events))
                found = await asyncio.gather(*(_aseen(hub, key) for key in sorted(keys)))
                shopper = await hub.customer(anonymous_id="s8-p0-web")
                assert shopper is not None

                async def visit(view: dict[str, Any]) -> Any:
                    await hub.ingest(view)
                    return await hub.decide(shopper.id, "Product Viewed", record=True)

                decided = await asyncio.gather(*(visit(v) for v in views))
                after = await hub.touchpoints(shopper.id)
            return found, decided, after

        found, decided, after = store_loop.run(check())
        names = [tp.name for tp in after]

        assert expected == found
        assert 2 == sum(bool(d.rule_ids) for d in decided), "the cap did not hold"
        assert 2 == names.count("Decision Made")
        assert {v["messageId"] for v in views} <= {tp.message_id for tp in after}

    # -- what only an async store can get wrong ----------------------------------------------

    def test_is_an_async_store(self, async_store: AsyncStore) -> None:
        """The store has every method of `AsyncStore`."""
        assert isinstance(async_store, AsyncStore)

    def test_many_tasks_writing_at_once_lose_no_update(
        self, async_store: AsyncStore, store_loop: _LoopThread
    ) -> None:
        """
        Tasks reading and rewriting one customer at once each see the last one's write.

        Each task yields to the others between its read and its write; a store whose
        writers do not wait for each other loses updates.
        """

        async def bump() -> None:
            async with async_store.transaction() as tx:
                record = (await tx.customers(["cus_x"]))["cus_x"]
                await asyncio.sleep(0)
                record.profile.count += 1
                await tx.apply(Changes(customers={"cus_x": record}))

        async def check() -> int:
            async with async_store.transaction() as tx:
                await tx.apply(_one_customer("cus_x", ("email", "x@example.com")))
            await asyncio.gather(*(bump() for _ in range(_TASKS)))
            record = await async_store.customer("cus_x")
            return -1 if record is None else record.profile.count

        assert _TASKS == store_loop.run(check())

    def test_a_task_cancelled_inside_a_transaction_leaves_nothing(
        self, async_store: AsyncStore, store_loop: _LoopThread
    ) -> None:
        """
        Cancelling a task after its writes rolls them back; the cancellation reaches the task.

        Many times over, so that a store which lost a connection each time would run out;
        then a write lands as usual.
        """

        async def write_then_wait(n: int, applied: asyncio.Event) -> None:
            async with async_store.transaction() as tx:
                await tx.apply(_one_customer(f"cus_{n}", ("email", f"{n}@example.com")))
                applied.set()
                await asyncio.Event().wait()  # until cancelled

        async def check() -> tuple[list[bool], list[Any], Any]:
            cancelled = []
            for n in range(_CANCELS):
                applied = asyncio.Event()
                task = asyncio.create_task(write_then_wait(n, applied))
                await applied.wait()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                cancelled.append(task.cancelled())
            left = [await async_store.find(("email", f"{n}@example.com")) for n in range(_CANCELS)]
            async with async_store.transaction() as tx:
                await tx.apply(_one_customer("cus_after", ("email", "after@example.com")))
            return cancelled, left, await async_store.customer("cus_after")

        cancelled, left, after = store_loop.run(check())

        assert [True] * _CANCELS == cancelled
        assert [None] * _CANCELS == left
        assert after is not None

    def test_a_task_cancelled_waiting_for_a_writer_leaves_the_store_usable(
        self, async_store: AsyncStore, store_loop: _LoopThread
    ) -> None:
        """
        A task cancelled while it waits to begin a transaction writes nothing and holds nothing.

        The writer it waited for commits; the next writer begins at once.
        """

        async def first(applied: asyncio.Event, release: asyncio.Event) -> None:
            async with async_store.transaction() as tx:
                await tx.apply(_one_customer("cus_first", ("email", "first@example.com")))
                applied.set()
                await release.wait()

        async def second() -> None:
            async with async_store.transaction() as tx:
                await tx.apply(_one_customer("cus_second", ("email", "second@example.com")))

        async def check() -> tuple[bool, list[Any]]:
            applied, release = asyncio.Event(), asyncio.Event()
            holding = asyncio.create_task(first(applied, release))
            await applied.wait()
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.2)  # until it waits for the first writer
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            release.set()
            await holding
            async with asyncio.timeout(self.timeout / 4), async_store.transaction() as tx:
                await tx.apply(_one_customer("cus_third", ("email", "third@example.com")))
            found = [
                await async_store.customer(c) for c in ("cus_first", "cus_second", "cus_third")
            ]
            return waiting.cancelled(), found

        cancelled, (first_found, second_found, third_found) = store_loop.run(check())

        assert cancelled
        assert first_found is not None
        assert second_found is None
        assert third_found is not None


def _view(n: int) -> dict[str, Any]:
    """The *n*th view of shopper 0's web device, on the day of `T0`."""
    moment = T0.replace(hour=0) + dt.timedelta(minutes=n)
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": f"view-{n}",
        "timestamp": moment.isoformat(),
        "anonymousId": "s8-p0-web",
    }


def _seen_by(hub: Hub, keys: Any) -> list[Any]:
    """What each of *keys* finds: the customer, their touchpoints and merges; or `None`."""
    seen: list[Any] = []
    for kind, value in sorted(keys):
        customer = hub.customer(**{kind: value})
        held = None if customer is None else (hub.touchpoints(customer), hub.merges(customer))
        seen.append(None if held is None else (customer, *held))
    return seen


async def _aseen(hub: AsyncHub, key: Any) -> Any:
    """`_seen_by` for one key, awaited."""
    kind, value = key
    customer = await hub.customer(**{kind: value})
    if customer is None:
        return None
    return customer, await hub.touchpoints(customer), await hub.merges(customer)
