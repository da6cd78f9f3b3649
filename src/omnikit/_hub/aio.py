"""
`AsyncHub`: the hub's verbs, awaited, for asyncio services.

Each verb is the `Hub` verb of its name, written once as a flow (see `omnikit._hub._base`).
Over an `AsyncStore`, the async hub awaits the verb's flow on the event loop (`adrive`, which
does the flow's `Blocking` work in a worker thread); over a sync `Store` (SQLite, memory, a
host's own), it runs the `Hub` verb, which drives the same flow, in one of its worker
threads. Either way at most *max_concurrency* calls are under way at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
import inspect
import itertools
import types
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Self, TypeVar, Unpack, cast

import attrs

from omnikit._deprecated import warn_moved
from omnikit._hub._core import require_positive
from omnikit._hub.flows import HubFlow, adrive, adrive_pages, drive
from omnikit._hub.messaging import Messaging
from omnikit._hub.personalize import Personalization
from omnikit._hub.privacy import Privacy
from omnikit._hub.sync import Hub
from omnikit._plugins import STORES
from omnikit.errors import StoreUnavailableError, ValidationError
from omnikit.stores import AsyncStore, Store, aopen_store

if TYPE_CHECKING:
    from omnikit._hub._core import HubOptions
    from omnikit._models.customers import Customer
    from omnikit.rules._domain import Place
    from omnikit.rules._rules import RuleSet
    from omnikit.rules._segments import SegmentSet

__all__ = ["AsyncHub"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_CALLS = 4
"""Calls under way at once when *max_concurrency* is not given."""


def _has_async_twin(url: str) -> bool:
    """Whether the store adapter for *url* opens an `AsyncStore` (it has `aopen`)."""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and hasattr(STORES.load(scheme), "aopen")


@attrs.frozen
class _Deferred:
    """A store URL whose `AsyncStore` opens on the event loop, when the hub is first used."""

    url: str


def is_async_store(store: object) -> bool:
    """Whether *store* is an `AsyncStore` (its methods awaited), not a sync `Store`."""
    return isinstance(store, AsyncStore) and inspect.iscoroutinefunction(store.customer)


class _Flows(Messaging, Personalization, Privacy):
    """
    The hub's verbs, each returning its flow instead of running it: what `AsyncHub` awaits.

    A verb checks its arguments, then hands its flow to `_run` and returns what `_run`
    returns; here that is the flow itself, for the async hub to drive.
    """

    def _run(self, flow: HubFlow[_R]) -> _R:
        return cast("_R", flow)


def _awaited(
    method: Callable[Concatenate[Hub, _P], _R],
) -> Callable[Concatenate[AsyncHub, _P], Coroutine[Any, Any, _R]]:
    """`Hub.<method>`, awaited: its flow over an `AsyncStore`, or the verb in a thread."""
    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncHub, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self._hub is not None:  # a sync store: the `Hub` verb (a subclass's) in a thread
            verb: Callable[_P, _R] = getattr(self._hub, name)
            return await self._in_thread(functools.partial(verb, *args, **kwargs))
        async with self._native():
            await self._ready()
            flow: HubFlow[_R] = getattr(self._flows, name)(*args, **kwargs)
            return await self._await(flow)

    call.__qualname__ = f"AsyncHub.{name}"
    call.__doc__ = (
        f"Await `Hub.{name}()`: same arguments, result and errors.\n\nAdded in version 0.1.0."
    )
    return call


def _connected(
    method: Callable[Concatenate[Hub, _P], _R],
) -> Callable[Concatenate[AsyncHub, _P], Coroutine[Any, Any, _R]]:
    """
    `Hub.<method>` awaited, its connector calls awaited on the event loop.

    Connectors are awaited (`asend`, many at once) whatever the store: over a sync store,
    only the store's calls go to the threads.
    """
    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncHub, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self._hub is not None:
            view = copy.copy(self._hub)  # the hub's state, its verbs returning their flows
            view._run = _flow_of  # type: ignore[method-assign,assignment]  # noqa: SLF001
            flow: HubFlow[_R] = getattr(view, name)(*args, **kwargs)
            return await adrive(flow, _Threaded(self, self._hub.store))
        async with self._native():
            await self._ready()
            flow = getattr(self._flows, name)(*args, **kwargs)
            return await self._await(flow)

    call.__qualname__ = f"AsyncHub.{name}"
    call.__doc__ = (
        f"Await `Hub.{name}()`: same arguments, result and errors; connectors are awaited "
        "(`asend`), many at once.\n\nAdded in version 0.1.0."
    )
    return call


def _flow_of(flow: HubFlow[_R]) -> HubFlow[_R]:
    return flow


class _Threaded:
    """A sync store for `adrive`: each call, and each transaction whole, in the hub's threads."""

    def __init__(self, hub: AsyncHub, store: Store) -> None:
        self._hub = hub
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._hub._in_thread(functools.partial(method, *args, **kwargs))  # noqa: SLF001

        return call

    async def run_transaction(self, flow: HubFlow[_R]) -> _R:
        return await self._hub._in_thread(functools.partial(_in_transaction, self._store, flow))  # noqa: SLF001


def _in_transaction(store: Store, flow: HubFlow[_R]) -> _R:
    with store.transaction() as tx:
        return drive(flow, tx)


def _calls_at_once(max_concurrency: int, max_threads: int | None) -> int:
    """*max_concurrency*, checked; or *max_threads*, its deprecated name, when given."""
    if max_threads is None:
        require_positive("max_concurrency", max_concurrency)
        return max_concurrency
    require_positive("max_threads", max_threads)
    if max_concurrency != _CALLS:
        raise ValidationError(
            "max_threads: the old name of max_concurrency; give max_concurrency only"
        )
    # The caller's caller: the line that called `AsyncHub(...)` or `open()`.
    warn_moved("AsyncHub(max_threads=...)", "max_concurrency=...", stacklevel=4)
    return max_threads


class AsyncHub:
    """
    `Hub` for asyncio services: the same verbs, awaited.

    ```python
    async with omnikit.AsyncHub.open("postgresql://shop@db/omnikit", ruleset=rules) as hub:
        await hub.ingest(message)
        customer = await hub.customer(email="ana@example.com")
        decision = await hub.decide(customer, "Product Viewed")
    ```

    Every verb takes the arguments of the `Hub` verb of the same name and gives its result
    and its errors (see `Hub` for each): `ingest`, `track`, `identify`, `set_consent`,
    `customer`, `touchpoints`, `orders`, `merges`, `links`, `unmerge`, `forget`, `unsuppress`,
    `export`, `decide`, `recommend`, `bought_together`, `rfm`, `lead_scores`, `lead_score`,
    `refresh_segments`, `load`; and `customers`, an async iterator. A verb is written once, as
    a flow of store requests, and runs in one of two ways, by the store:

    - **An `AsyncStore`** (PostgreSQL through psycopg's async connections, a host's own async
      store): the verb's flow runs on the event loop, awaiting each store call. Work that
      would hold the loop up (reading and validating a payload of more than 64 messages or
      16 KiB of text, reading a load's files) runs in a worker thread meanwhile. At most
      *max_concurrency* calls are under way at once; the others wait their turn.
      Cancelling a call rolls back the transaction under way, whole (what earlier
      transactions of a batch committed stays, as when `Hub.ingest()` fails).
    - **A sync `Store`** (SQLite, memory, a host's own): the `Hub` verb runs in one of the
      hub's own *max_concurrency* threads, so the event loop never waits on the store. The
      threads live as long as the hub, each with its own store connection (plus the one
      opening made: *max_concurrency* + 1 in all). Cancelling a call that has not started
      yet means it never runs; a call already under way completes in its thread, whole or
      not at all (a batch commits chunk by chunk, as `Hub.ingest()` does); its result, or
      its error, is dropped.

    Either way, the caller's context variables (a request id, a tracing span) hold while the
    verb runs. Opening connects and migrates the schema: open the hub at start-up, not per
    request. The hub's configuration is on it (`ruleset`, `segments`, `places`, `store`);
    over a sync store, `AsyncHub.sync` is the `Hub` underneath, for synchronous code sharing
    the same store.

    Args:
        store: An `AsyncStore`, a `Store`, a store URL, or `None` for a fresh in-memory store,
            as for `Hub`; or a `Hub` to serve (then it stays open when the async hub closes).
        max_concurrency: The most calls under way at once, 4 by default; the others wait
            their turn, first come first served. A call is under way from its start to its
            result, its store calls and its work in worker threads included (a `load()`
            is one call; a `customers()` stream is one call per page read). Over a sync
            store it is also the number of the hub's threads, hence of its store
            connections (plus one); over an `AsyncStore` it bounds calls, not connections
            (the store's own pool does: `AsyncPostgresStore`'s *max_connections*).
        max_threads: The old name of *max_concurrency*: deprecated, to be removed in
            omnikit 0.2.0.
        **options: `Hub`'s options (*identity_rules*, *default_region*, *ruleset*, ...).

    Added in version 0.1.0.
    """

    def __init__(
        self,
        store: Hub | Store | AsyncStore | str | _Deferred | None = None,
        *,
        max_concurrency: int = 4,
        max_threads: int | None = None,
        **options: Unpack[HubOptions],
    ) -> None:
        max_concurrency = _calls_at_once(max_concurrency, max_threads)
        self._hub: Hub | None = None
        self._astore: AsyncStore | None = None
        self._deferred: str | None = None
        self._owns = True
        self._flows: Messaging
        if isinstance(store, _Deferred):
            self._deferred = store.url
            self._flows = _Flows(**options)
        elif isinstance(store, Hub):
            if options:
                raise ValidationError(f"{min(options)}: the Hub given has its options already")
            self._hub, self._owns = store, False
            self._flows = store
        elif is_async_store(store):
            self._astore, self._owns = cast("AsyncStore", store), False
            self._flows = _Flows(**options)
        elif store is not None and not isinstance(store, str | Store):
            raise ValidationError(
                f"store: a {type(store).__name__} is neither an omnikit.stores.Store nor an "
                "AsyncStore (see omnikit.testing.StoreContract and AsyncStoreContract)"
            )
        else:
            self._hub = Hub(store, **options)
            self._flows = self._hub
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="omnikit"
        )
        self._calls = asyncio.Semaphore(max_concurrency)
        self._secret_read = self._astore is None and self._deferred is None
        self._opening = asyncio.Lock()
        self._under_way = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._closing: asyncio.Future[None] | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        max_concurrency: int = 4,
        max_threads: int | None = None,
        **options: Unpack[HubOptions],
    ) -> Self:
        """
        An async hub on the store *url* names; it closes the store when it closes.

        ```python
        async with omnikit.AsyncHub.open("postgresql://shop@db/omnikit") as hub:
            ...
        ```

        Where the store's adapter has an async twin (`postgresql://`: `AsyncPostgresStore`),
        the hub runs on it, natively: it connects on the event loop when entered with
        `async with` (or at its first call), and opening errors are raised there. Otherwise
        (SQLite, memory, a sync host store) it opens the sync store now, as `Hub.open()`
        does, and serves it in its threads. Either way opening connects and migrates the
        schema once: do it at start-up. `aopen()` opens either kind at once, awaited.

        Raises:
            StoreNotFoundError: For a scheme no store answers to.
            ValidationError: For a URL that is not one, or a bad option.
            StoreUnavailableError: For a sync store that cannot be opened now.

        Added in version 0.1.0.
        """
        max_concurrency = _calls_at_once(max_concurrency, max_threads)
        if _has_async_twin(url):
            return cls(_Deferred(url), max_concurrency=max_concurrency, **options)
        hub = cls(Hub.open(url, **options), max_concurrency=max_concurrency)
        hub._owns = True
        return hub

    @classmethod
    async def aopen(
        cls,
        url: str,
        *,
        max_concurrency: int = 4,
        max_threads: int | None = None,
        **options: Unpack[HubOptions],
    ) -> Self:
        """
        `open()`, awaited: the store is connected (and its schema migrated) when it returns.

        A sync store is opened in a worker thread, so the event loop does not wait on it.

        ```python
        hub = await omnikit.AsyncHub.aopen("postgresql://shop@db/omnikit")
        try:
            ...
        finally:
            await hub.aclose()
        ```

        Raises:
            StoreNotFoundError: For a scheme no store answers to.
            ValidationError: For a URL that is not one, or a bad option.
            StoreUnavailableError: For a store that cannot be opened now.

        Added in version 0.1.0.
        """
        hub = await asyncio.to_thread(
            functools.partial(
                cls.open,
                url,
                max_concurrency=_calls_at_once(max_concurrency, max_threads),
                **options,
            )
        )
        try:
            await hub._ready()  # noqa: SLF001 - its own class's
        except BaseException:
            await hub.aclose()
            raise
        return hub

    # -- configuration -----------------------------------------------------------------------

    @property
    def sync(self) -> Hub:
        """
        The `Hub` underneath, over a sync store: for synchronous code on the same store.

        Raises:
            ValidationError: Over an `AsyncStore`, which no `Hub` drives.

        Added in version 0.1.0.
        """
        if self._hub is None:
            raise ValidationError(
                "sync: this async hub runs on an AsyncStore, which a Hub cannot drive; "
                "open a Hub on the store's URL for synchronous code"
            )
        return self._hub

    @property
    def store(self) -> Store | AsyncStore:
        """
        The store this hub reads and writes: an `AsyncStore`, or a sync `Store`.

        Added in version 0.1.0.
        """
        if self._hub is not None:
            return self._hub.store
        if self._astore is None:
            raise StoreUnavailableError(
                "store: not opened yet; enter the hub with `async with` or await a verb first"
            )
        return self._astore

    @property
    def ruleset(self) -> RuleSet | None:
        """
        The rule set `decide()` runs by default.

        Added in version 0.1.0.
        """
        return self._flows.ruleset

    @property
    def segments(self) -> SegmentSet:
        """
        The segments kept current as events arrive.

        Added in version 0.1.0.
        """
        return self._flows.segments

    @property
    def places(self) -> dict[str, Place]:
        """
        The places rules can measure distances to, by id.

        Added in version 0.1.0.
        """
        return self._flows.places

    # -- the two ways of running a verb --------------------------------------------------------

    async def _in_thread(self, call: Callable[[], _R]) -> _R:
        if self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        # The caller's context variables (a request id, a tracing span) hold in the thread.
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self._executor.submit(context.run, call))

    async def _ready(self) -> None:
        """Refuse calls once closed; read the async store's secret before the first one."""
        if self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        if self._secret_read:
            return
        async with self._opening:  # two first calls at once open the store once
            if self._closed:  # closed while this call waited for the opening
                raise StoreUnavailableError(f"{self!r} is closed")
            if self._astore is None and self._deferred is not None:
                opened = await aopen_store(self._deferred)
                if not is_async_store(opened):  # pragma: no cover - `open` checked the adapter
                    raise StoreUnavailableError(f"{self._deferred}: opened no AsyncStore")
                self._astore = cast("AsyncStore", opened)
            if not self._secret_read:
                store = cast("AsyncStore", self._astore)
                self._flows._use_secret(await store.secret())  # noqa: SLF001 - the driver's part
                self._secret_read = True

    async def _await(self, flow: HubFlow[_R]) -> _R:
        async with self._calls:
            return await adrive(flow, self._astore)

    @contextlib.asynccontextmanager
    async def _native(self) -> AsyncIterator[None]:
        """A call over the async store: refused once closed, and waited for by `aclose()`."""
        if self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        self._under_way += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._under_way -= 1
            if not self._under_way:
                self._idle.set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """
        Wait for the calls under way, then close the hub (and the store it opened).

        A `Hub` or a store the async hub was given stays open. Cancelling `aclose()` does not
        stop the closing; calling it again waits for the same one.

        Added in version 0.1.0.
        """
        if self._closing is None:
            self._closed = True
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        # The calls under way finish first (those in threads, then those awaited); then the
        # store closes.
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        await self._idle.wait()
        async with self._opening:  # a store being opened is open (or failed) when this runs
            pass
        if self._owns and self._hub is not None:
            await asyncio.to_thread(self._hub.close)
        elif self._owns and self._astore is not None:
            await self._astore.aclose()

    async def __aenter__(self) -> Self:
        if self._hub is None:
            await self._ready()  # an async store connects here
        elif self._closed:
            raise StoreUnavailableError(f"{self!r} is closed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        if self._hub is None and self._astore is None:
            return "<AsyncHub store=(not opened yet)>"
        return f"<AsyncHub store={self.store.url!r}>"

    # -- the verbs ---------------------------------------------------------------------------

    ingest = _awaited(Hub.ingest)
    """`Hub.ingest()`, awaited: the same arguments, result and errors."""
    track = _awaited(Hub.track)
    """`Hub.track()`, awaited: the same arguments, result and errors."""
    identify = _awaited(Hub.identify)
    """`Hub.identify()`, awaited: the same arguments, result and errors."""
    set_consent = _awaited(Hub.set_consent)
    """`Hub.set_consent()`, awaited: the same arguments, result and errors."""
    refresh_segments = _awaited(Hub.refresh_segments)
    """`Hub.refresh_segments()`, awaited: the same arguments, result and errors."""
    customer = _awaited(Hub.customer)
    """`Hub.customer()`, awaited: the same arguments, result and errors."""
    touchpoints = _awaited(Hub.touchpoints)
    """`Hub.touchpoints()`, awaited: the same arguments, result and errors."""
    orders = _awaited(Hub.orders)
    """`Hub.orders()`, awaited: the same arguments, result and errors."""
    merges = _awaited(Hub.merges)
    """`Hub.merges()`, awaited: the same arguments, result and errors."""
    links = _awaited(Hub.links)
    """`Hub.links()`, awaited: the same arguments, result and errors."""
    unmerge = _awaited(Hub.unmerge)
    """`Hub.unmerge()`, awaited: the same arguments, result and errors."""
    forget = _awaited(Hub.forget)
    """`Hub.forget()`, awaited: the same arguments, result and errors."""
    unsuppress = _awaited(Hub.unsuppress)
    """`Hub.unsuppress()`, awaited: the same arguments, result and errors."""
    export = _awaited(Hub.export)
    """`Hub.export()`, awaited: the same arguments, result and errors."""
    decide = _awaited(Hub.decide)
    """`Hub.decide()`, awaited: the same arguments, result and errors."""
    recommend = _awaited(Hub.recommend)
    """`Hub.recommend()`, awaited: the same arguments, result and errors."""
    bought_together = _awaited(Hub.bought_together)
    """`Hub.bought_together()`, awaited: the same arguments, result and errors."""
    rfm = _awaited(Hub.rfm)
    """`Hub.rfm()`, awaited: the same arguments, result and errors."""
    lead_scores = _awaited(Hub.lead_scores)
    """`Hub.lead_scores()`, awaited: the same arguments, result and errors."""
    lead_score = _awaited(Hub.lead_score)
    """`Hub.lead_score()`, awaited: the same arguments, result and errors."""
    send = _connected(Hub.send)
    """`Hub.send()`, awaited: the same arguments, result and errors; the connector awaited."""
    dispatch = _connected(Hub.dispatch)
    """`Hub.dispatch()`, awaited, with the due deliveries' sends awaited many at once."""
    receive = _awaited(Hub.receive)
    """`Hub.receive()`, awaited: the same arguments, result and errors."""
    delivery = _awaited(Hub.delivery)
    """`Hub.delivery()`, awaited: the same arguments, result and errors."""
    deliveries = _awaited(Hub.deliveries)
    """`Hub.deliveries()`, awaited: the same arguments, result and errors."""
    settle = _awaited(Hub.settle)
    """`Hub.settle()`, awaited: the same arguments, result and errors."""

    load = _awaited(Hub.load)
    """`Hub.load()`, awaited: the same arguments, result and errors."""

    def customers(self, *, batch_size: int = 500) -> AsyncIterator[Customer]:
        """
        Every customer, in id order, streamed from the store *batch_size* at a time.

        ```python
        async for customer in hub.customers():
            ...
        ```

        Each trip to the store for a page counts as one call under way (see
        *max_concurrency*); none is under way while the caller holds the page.

        Args:
            batch_size: Customers read per trip to the store (or to the hub's threads).

        Raises:
            ValidationError: If *batch_size* is not a positive integer.

        Added in version 0.1.0.
        """
        require_positive("batch_size", batch_size)
        if self._hub is None:
            return self._streamed(batch_size)
        return self._paged(self._hub, batch_size)

    async def _streamed(self, batch_size: int) -> AsyncIterator[Customer]:
        """`Hub.customers()`'s flow, awaited over the async store, one call per page."""
        await self._ready()
        pages = adrive_pages(self._flows._customer_pages(batch_size), self._astore)  # noqa: SLF001
        try:
            while True:
                async with self._calls:
                    page = await anext(pages, None)
                if page is None:
                    return
                for customer in page:
                    yield customer
        finally:
            await pages.aclose()

    async def _paged(self, hub: Hub, batch_size: int) -> AsyncIterator[Customer]:
        """`Hub.customers()`, a page at a time in one of the hub's threads."""
        stream = iter(hub.customers(batch_size=batch_size))
        while True:
            page = await self._in_thread(lambda: list(itertools.islice(stream, batch_size)))
            for customer in page:
                yield customer
            if len(page) < batch_size:
                return
