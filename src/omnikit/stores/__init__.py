"""
Where a hub keeps customers, identities and touchpoints: the ports and their adapters.

```python
store = omnikit.stores.open_store("sqlite:///shop.db")  # or "postgresql://...", "memory://"
hub = omnikit.Hub(store)
```

A host application can keep omnikit's data in its own database by implementing `Store` (and
checking it with `omnikit.testing.StoreContract`), then registering it under a URL scheme:
`omnikit.stores.register("mystore", MyStore)`, or an entry point in the `omnikit.stores` group
of its package. The methods work on the rows of `omnikit.stores.records`; the hub does all
the deciding and hands the store `Changes` to apply atomically.

A store that also implements `OutboxStore` (as the shipped ones do) keeps the outbox that
`Hub.send()` and `Hub.dispatch()` need; the contract checks it too.

Async code opens stores with `await omnikit.stores.aopen_store(url)`: an `AsyncStore` (the
awaited twin of `Store`) where the adapter has one, as PostgreSQL has
(`omnikit.stores.postgres.AsyncPostgresStore`), else the sync `Store`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from omnikit._plugins import STORES
from omnikit.errors import PluginError, ValidationError
from omnikit.stores import records

if TYPE_CHECKING:
    import datetime as dt

    from omnikit._models.outbound import Delivery
    from omnikit._models.touchpoints import Touchpoint
    from omnikit.stores.records import (
        Changes,
        ClusterRow,
        CustomerRecord,
        IdentityRow,
        IdKey,
        MergeRow,
        SplitRow,
    )

__all__ = [
    "AsyncCustomerStore",
    "AsyncIngestTransaction",
    "AsyncOutboxStore",
    "AsyncOutboxTransaction",
    "AsyncStore",
    "AsyncTouchpointStore",
    "CustomerStore",
    "IngestTransaction",
    "OutboxStore",
    "OutboxTransaction",
    "Store",
    "TouchpointStore",
    "aopen_store",
    "open_store",
    "records",
    "register",
    "unregister",
]


@runtime_checkable
class IngestTransaction(Protocol):
    """
    One atomic unit of ingestion.

    Reads see the transaction's own writes, and either every `apply` lands or none does.
    Readers return copies the hub may change freely.

    Added in version 0.1.0.
    """

    def seen(self, message_ids: Collection[str]) -> set[str]:
        """The subset of *message_ids* already stored."""
        ...

    def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        """The stored rows of those identities that exist."""
        ...

    def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        """The stored customers with those ids (ids only, no alias lookup)."""
        ...

    def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        """The stored clusters with those ids."""
        ...

    def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        """Every split that names one of *keys* on either side."""
        ...

    def cluster_identities(self, cluster: str) -> list[IdKey]:
        """Every identity in *cluster*."""
        ...

    def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        """Every customer in *cluster*."""
        ...

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        """Every touchpoint of those customers, in any order."""
        ...

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        """
        The old ids that lead to those customers, each with the customer it leads to.

        Added in version 0.1.0.
        """
        ...

    def merges(self, customer_id: str) -> list[MergeRow]:
        """
        The merges that built that customer, oldest first, as `CustomerStore.merges()`.

        Read inside the transaction, with the rest of what a reader needs at one moment (an
        export of the customer).

        Added in version 0.1.0.
        """
        ...

    def suppression_kinds(self) -> set[str]:
        """
        The kinds of suppression held (`SuppressionRow.kind`); empty, and cheap, when none.

        Added in version 0.1.0.
        """
        ...

    def suppressed(self, digests: Collection[str]) -> set[str]:
        """
        The subset of *digests* under suppression.

        Added in version 0.1.0.
        """
        ...

    def apply(self, changes: Changes) -> None:
        """Write *changes* (see `Changes` for the order of its parts)."""
        ...


@runtime_checkable
class CustomerStore(Protocol):
    """
    Customers, their identities and the merge audit trail.

    Added in version 0.1.0.
    """

    def transaction(self) -> AbstractContextManager[IngestTransaction]:
        """Begin a write transaction; concurrent writers wait for each other."""
        ...

    def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following the ids of merged profiles to the survivor."""
        ...

    def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        ...

    def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored (an index probe: it must be cheap)."""
        ...

    def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        ...

    def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        ...

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[CustomerRecord]:
        """Every customer, in id order."""
        ...

    def secret(self) -> bytes:
        """
        This store's own random key, made with the store and never changed.

        The hub keys what it derives from data with it (ids of messages that carry none,
        hashes of erased message ids), so that those ids confirm no guess outside the store.

        Added in version 0.1.0.
        """
        ...

    def scrub(self) -> bool:
        """
        After an erasure: remove what deleted rows left in the store's files, if it can now.

        Returns whether nothing of them is left: the memory store, always; SQLite, once it has
        rebuilt its file and truncated its write-ahead log; PostgreSQL, never (its dead rows
        stay until a `VACUUM FULL`, see `PostgresStore.compact()`).

        Added in version 0.1.0.
        """
        ...


@runtime_checkable
class TouchpointStore(Protocol):
    """
    Touchpoints, by customer and time.

    Added in version 0.1.0.
    """

    def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        """The customer's touchpoints with `since <= occurred_at < until`, oldest first."""
        ...

    def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        ...

    def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        ...


@runtime_checkable
class Store(CustomerStore, TouchpointStore, Protocol):
    """
    Everything a hub stores. The adapters (memory, SQLite, PostgreSQL) implement it all.

    Added in version 0.1.0.
    """

    url: str

    def close(self) -> None:
        """Release connections; the data stays (except in memory)."""
        ...


@runtime_checkable
class OutboxTransaction(Protocol):
    """
    The outbox's reads and writes inside a store's write transaction.

    A store that keeps an outbox (`OutboxStore`) hands its `transaction()` an object with
    these methods too, so that the decision to send, the delivery it records and the
    touchpoint it leaves (`IngestTransaction.apply`) commit together, one writer at a time:
    that is what makes a frequency cap and an idempotency key hold across processes.
    Deliveries cross the port as `omnikit.Delivery` values, never shared objects.

    Added in version 0.1.0.
    """

    def deliveries(self, ids: Collection[str]) -> dict[str, Delivery]:
        """The deliveries with these *ids*, by id."""
        ...

    def delivery_keys(self, keys: Collection[str]) -> dict[str, Delivery]:
        """The deliveries sent with these idempotency *keys*, by key."""
        ...

    def delivery_history(self, customer_id: str, since: dt.datetime) -> list[Delivery]:
        """The customer's deliveries created after *since*, oldest first."""
        ...

    def due_deliveries(self, now: dt.datetime, limit: int) -> list[Delivery]:
        """
        Up to *limit* deliveries an attempt may take at *now*, oldest due first.

        Queued and deferred ones whose `due_at` has come, and `sending` ones whose
        `lease_until` has passed (their sender stopped), none with a lease in force.
        """
        ...

    def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Delivery]:
        """The deliveries by `(connector, provider_message_id)`."""
        ...

    def suppressed_addresses(self, refs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which `(channel, address)` pairs had a delivery bounce or draw a complaint."""
        ...

    def save_deliveries(self, deliveries: Collection[Delivery]) -> None:
        """
        Insert or replace each delivery, by id, in order.

        Raises:
            ConflictError: If a delivery's key names another delivery (one a delivery
                before it in *deliveries* gave up is free).
        """
        ...


@runtime_checkable
class OutboxStore(Protocol):
    """
    A store that keeps the outbox: what `Hub.send()` and `Hub.dispatch()` need.

    Its `transaction()` yields an `OutboxTransaction` as well as an `IngestTransaction`;
    `forget()` erasing a customer erases their deliveries too.

    Added in version 0.1.0.
    """

    def delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery by id."""
        ...

    def list_deliveries(
        self,
        *,
        statuses: Collection[str] | None = None,
        customer_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, of these *statuses* and *customer_id* when given."""
        ...


@runtime_checkable
class AsyncIngestTransaction(Protocol):
    """
    `IngestTransaction`, awaited: the same methods, the same answers, the same atomicity.

    Added in version 0.1.0.
    """

    async def seen(self, message_ids: Collection[str]) -> set[str]:
        """The subset of *message_ids* already stored."""
        ...

    async def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        """The stored rows of those identities that exist."""
        ...

    async def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        """The stored customers with those ids (ids only, no alias lookup)."""
        ...

    async def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        """The stored clusters with those ids."""
        ...

    async def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        """Every split that names one of *keys* on either side."""
        ...

    async def cluster_identities(self, cluster: str) -> list[IdKey]:
        """Every identity in *cluster*."""
        ...

    async def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        """Every customer in *cluster*."""
        ...

    async def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        """Every touchpoint of those customers, in any order."""
        ...

    async def aliases(self, targets: Collection[str]) -> dict[str, str]:
        """The old ids that lead to those customers, each with the customer it leads to."""
        ...

    async def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first, as `CustomerStore.merges()`."""
        ...

    async def suppression_kinds(self) -> set[str]:
        """The kinds of suppression held; empty, and cheap, when none."""
        ...

    async def suppressed(self, digests: Collection[str]) -> set[str]:
        """The subset of *digests* under suppression."""
        ...

    async def apply(self, changes: Changes) -> None:
        """Write *changes* (see `Changes` for the order of its parts)."""
        ...


@runtime_checkable
class AsyncCustomerStore(Protocol):
    """
    `CustomerStore`, awaited.

    Added in version 0.1.0.
    """

    def transaction(self) -> AbstractAsyncContextManager[AsyncIngestTransaction]:
        """Begin a write transaction (`async with`); concurrent writers wait for each other."""
        ...

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following the ids of merged profiles to the survivor."""
        ...

    async def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        ...

    async def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored (an index probe: it must be cheap)."""
        ...

    async def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        ...

    async def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        ...

    def iter_customers(self, *, batch_size: int = 1000) -> AsyncIterator[CustomerRecord]:
        """Every customer, in id order (`async for`)."""
        ...

    async def secret(self) -> bytes:
        """This store's own random key (see `CustomerStore.secret`)."""
        ...

    async def scrub(self) -> bool:
        """After an erasure: remove what deleted rows left behind (see `CustomerStore.scrub`)."""
        ...


@runtime_checkable
class AsyncTouchpointStore(Protocol):
    """
    `TouchpointStore`, awaited.

    Added in version 0.1.0.
    """

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
        ...

    async def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        ...

    async def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        ...


@runtime_checkable
class AsyncStore(AsyncCustomerStore, AsyncTouchpointStore, Protocol):
    """
    `Store`, awaited: what `AsyncHub` drives natively (the PostgreSQL store's async twin).

    A sync `Store` given to `AsyncHub` is driven in the hub's worker threads instead.

    Added in version 0.1.0.
    """

    url: str

    async def aclose(self) -> None:
        """Release connections; the data stays (except in memory)."""
        ...


@runtime_checkable
class AsyncOutboxTransaction(Protocol):
    """
    `OutboxTransaction`, awaited: what an `AsyncOutboxStore`'s transactions also do.

    Added in version 0.1.0.
    """

    async def deliveries(self, ids: Collection[str]) -> dict[str, Delivery]:
        """The deliveries with these *ids*, by id."""
        ...

    async def delivery_keys(self, keys: Collection[str]) -> dict[str, Delivery]:
        """The deliveries sent with these idempotency *keys*, by key."""
        ...

    async def delivery_history(self, customer_id: str, since: dt.datetime) -> list[Delivery]:
        """The customer's deliveries created after *since*, oldest first."""
        ...

    async def due_deliveries(self, now: dt.datetime, limit: int) -> list[Delivery]:
        """Up to *limit* deliveries an attempt may take at *now* (see `OutboxTransaction`)."""
        ...

    async def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Delivery]:
        """The deliveries by `(connector, provider_message_id)`."""
        ...

    async def suppressed_addresses(self, refs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which `(channel, address)` pairs had a delivery bounce or draw a complaint."""
        ...

    async def save_deliveries(self, deliveries: Collection[Delivery]) -> None:
        """Insert or replace each delivery, by id, in order (see `OutboxTransaction`)."""
        ...


@runtime_checkable
class AsyncOutboxStore(Protocol):
    """
    `OutboxStore`, awaited: an `AsyncStore` that keeps the outbox.

    Its `transaction()` yields an `AsyncOutboxTransaction` as well as an
    `AsyncIngestTransaction`, and `AsyncHub.send()` and `AsyncHub.dispatch()` run on it
    natively, as `AsyncPostgresStore` does.

    Added in version 0.1.0.
    """

    async def delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery by id."""
        ...

    async def list_deliveries(
        self,
        *,
        statuses: Collection[str] | None = None,
        customer_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, of these *statuses* and *customer_id* when given."""
        ...


def open_store(url: str) -> Store:
    """
    Open the store *url* names, picking the adapter by its scheme.

    - `memory://`: in this process only (tests, notebooks);
    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`: the embedded default;
    - `postgresql://user:password@host:5432/db` (or `postgres://`): PostgreSQL, with the
      `omnikit[postgres]` extra;
    - any scheme registered with `register()`, or declared by an installed package in the
      `omnikit.stores` entry-point group (see `register()`).

    Raises:
        StoreNotFoundError: For a scheme no store answers to (it lists those that do), or a
            built-in store whose extra is not installed (it names the extra).
        ValidationError: For a URL that is not one (`"shop.db"`, `"sqlite:///:memory:"`).
        StoreUnavailableError: For a store that cannot be opened now (a server that does
            not answer, a directory that does not exist).
        PluginError: If two installed packages declare the scheme, or the store's package
            fails to import, or what it opens is not a `Store`.

    Added in version 0.1.0.
    """
    scheme = _scheme(url)
    opener = STORES.load(scheme)
    store = getattr(opener, "from_url", opener)(url)
    if not isinstance(store, Store):
        raise _not_a(Store, store, scheme, _STORE_MEMBERS)
    return store


async def aopen_store(url: str) -> AsyncStore | Store:
    """
    Open the store *url* names for async code: an `AsyncStore` where its adapter has one.

    The adapter is found as `open_store()` finds it. If it has an async opener (an `aopen(url)`
    class method or function, as `PostgresStore` has: it opens `AsyncPostgresStore`), this
    awaits it and returns the `AsyncStore`; otherwise it opens the sync `Store` in a worker
    thread and returns it (`AsyncHub` drives a sync store in its own threads).

    ```python
    store = await omnikit.stores.aopen_store("postgresql://shop@db/omnikit")
    try:
        record = await store.find(("email", "ana@example.com"))
    finally:
        await store.aclose()
    ```

    A store package gives its store an async twin by adding `aopen` to the class (or object)
    it registers:

    ```python
    class MyStore:
        @classmethod
        def from_url(cls, url: str) -> MyStore: ...

        @classmethod
        async def aopen(cls, url: str) -> MyAsyncStore: ...
    ```

    Raises:
        StoreNotFoundError: As `open_store()`.
        ValidationError: As `open_store()`.
        StoreUnavailableError: As `open_store()`.
        PluginError: As `open_store()`, or if the async opener returns no `AsyncStore`.

    Added in version 0.1.0.
    """
    scheme = _scheme(url)
    opener = STORES.load(scheme)
    aopen = getattr(opener, "aopen", None)
    if aopen is None:
        return await asyncio.to_thread(open_store, url)
    store = await aopen(url)
    if not isinstance(store, AsyncStore):
        raise _not_a(AsyncStore, store, scheme, _ASYNC_STORE_MEMBERS)
    return store


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValidationError(f"url: not a store URL: {url!r} (expected e.g. 'sqlite:///shop.db')")
    return scheme


def _not_a(protocol: type, store: object, scheme: str, members: frozenset[str]) -> PluginError:
    missing = sorted(name for name in members if not hasattr(store, name))
    return PluginError(
        f"the store for scheme {scheme.lower()!r} opened a {type(store).__name__}, "
        f"which is not an omnikit.stores.{protocol.__name__} (it lacks {', '.join(missing)})",
        group=STORES.group,
        name=scheme.lower(),
    )


def register(scheme: str, target: type[Store] | Callable[[str], Store] | str) -> None:
    """
    Make `open_store()` and `Hub.open()` open URLs of *scheme* with *target*.

    *target* is a class with a `from_url(url)` class method, or any callable that takes the
    URL and returns a `Store`; or where one is, as `"module:attribute"`, imported when first
    needed. If *target* also has an `aopen(url)` coroutine returning an `AsyncStore`,
    `aopen_store()` opens that. A registered scheme comes before omnikit's own and before installed packages', and
    registering one again replaces it.

    ```python
    omnikit.stores.register("mystore", MyStore)
    hub = omnikit.Hub.open("mystore://inventory-db/omnikit")  # MyStore.from_url(that URL)
    ```

    A package can declare its store instead, so that installing it is enough:

    ```toml
    [project.entry-points."omnikit.stores"]
    mystore = "my_package.store:MyStore"
    ```

    Raises:
        ValidationError: If *scheme* is not a URL scheme, or *target* is not a class,
            a callable or `"module:attribute"`.

    Added in version 0.1.0.
    """
    STORES.register(scheme, target)


def unregister(scheme: str) -> None:
    """
    Undo `register()` for *scheme* (omnikit's own and installed packages' stores stay).

    Added in version 0.1.0.
    """
    STORES.unregister(scheme)


def _members(*protocols: type) -> frozenset[str]:
    return frozenset(
        name
        for protocol in protocols
        for name in (*vars(protocol), *protocol.__annotations__)
        if not name.startswith("_")
    )


_STORE_MEMBERS = _members(CustomerStore, TouchpointStore, Store)
_ASYNC_STORE_MEMBERS = _members(AsyncCustomerStore, AsyncTouchpointStore, AsyncStore)
