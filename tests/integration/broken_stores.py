"""
Stores with the faults a host's own store could have, for the contracts to catch.

Each behaves well on the simple checks (an earlier contract passed the three first sync ones);
each breaks one promise of the port. The async ones are async twins of the memory store, as a host
might write one over a store it has: `AsyncMemoryStore` keeps every promise, and each of its
subclasses breaks one.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs

from omnikit.stores import Store, records
from omnikit.stores._drive import Statements
from omnikit.stores._sql import SQLQueries
from omnikit.stores.memory import MemoryStore
from omnikit.stores.sqlite import SQLiteStore


class MutatingStore(MemoryStore):
    """
    Updates a customer in place: the row it was first given turns into each later one.

    Everything it returns is right; but the hub's row, handed over in an earlier
    transaction, changes under it (and rolling back restores the changed object).
    """

    def _apply(self, changes: records.Changes) -> None:
        held = {cid: self._customers[cid] for cid in changes.customers if cid in self._customers}
        super()._apply(changes)
        for cid, old in held.items():
            new = self._customers[cid]
            for field in attrs.fields(type(new)):
                setattr(old, field.name, getattr(new, field.name))
            self._customers[cid] = old


class EmailKeepingStore(MemoryStore):
    """Erases identity rows, except emails: the erased email survives `forget`."""

    def _erase_identity(self, key: records.IdKey) -> None:
        if key[0] != "email":
            super()._erase_identity(key)


class _AlwaysFree(dict[str, str]):
    """Keys to ids that never say a key is taken: the last delivery saved under it wins."""

    def get(self, key: str, default: Any = None) -> Any:  # noqa: ARG002 - no key is taken
        return default


class KeyReusingStore(MemoryStore):
    """Lets a second delivery take a key another holds: the same key sends twice."""

    def __init__(self) -> None:
        super().__init__()
        self._outbox.keys = _AlwaysFree()


class DeliveryKeepingStore(MemoryStore):
    """Erases a customer, except their deliveries: the address and content survive `forget`."""

    def _erase_customer(self, cid: str) -> None:
        kept = [row for row in self._outbox.rows.values() if row.customer_id == cid]
        super()._erase_customer(cid)
        journal = self._require_journal()
        for row in kept:
            journal.put(self._outbox.rows, row.id, row)


class _LosingQueries(SQLQueries):
    def apply(self, changes: Any) -> Statements[None]:
        return super().apply(attrs.evolve(changes, touchpoint_owners={}))


class WriteLosingStore(SQLiteStore):
    """
    An SQLite store that loses one kind of write: touchpoints moving to another customer.

    New touchpoints, merges and reassignments of whole customers land; only the moves of
    single touchpoints a late event or an unmerge makes are lost.
    """

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self._queries = _LosingQueries(self._dialect)


def open_kind(kind: str, folder: Path) -> Store:
    """A new store of *kind* (a class of this module, or a shipped store), in *folder*."""
    if kind == "SQLiteStore":
        return SQLiteStore(folder / "contract.db")
    if kind == "WriteLosingStore":
        return WriteLosingStore(folder / "contract.db")
    memory: dict[str, type[MemoryStore]] = {
        "MemoryStore": MemoryStore,
        "MutatingStore": MutatingStore,
        "EmailKeepingStore": EmailKeepingStore,
        "KeyReusingStore": KeyReusingStore,
        "DeliveryKeepingStore": DeliveryKeepingStore,
    }
    return memory[kind]()


class AsyncMemoryStore:
    """
    An `AsyncStore` over a `MemoryStore`: writers take turns on an asyncio lock, and whatever
    ends a transaction early (an error, a cancellation) rolls it back.
    """

    url = "async-memory://"
    rolls_back_on: tuple[type[BaseException], ...] = (BaseException,)
    takes_turns = True

    def __init__(self) -> None:
        self.sync = MemoryStore()
        self._turn = asyncio.Lock()

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._transaction()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        async with self._turn if self.takes_turns else contextlib.nullcontext():
            manager = self.sync.transaction()
            tx = manager.__enter__()
            rolled_back = False
            try:
                yield _Awaited(tx)
            except self.rolls_back_on as exc:
                rolled_back = True
                manager.__exit__(type(exc), exc, exc.__traceback__)
                raise
            finally:
                if not rolled_back:  # the block ended, or ended in what is not rolled back
                    manager.__exit__(None, None, None)

    def __getattr__(self, name: str) -> Any:
        if name not in _ASYNC_READS:
            raise AttributeError(name)
        return getattr(_Awaited(self.sync), name)

    async def iter_customers(self, *, batch_size: int = 1000) -> AsyncIterator[Any]:
        for record in self.sync.iter_customers(batch_size=batch_size):
            await asyncio.sleep(0)
            yield record

    async def aclose(self) -> None:
        self.sync.close()


class _Awaited:
    """A sync object's methods, awaited (each gives the other tasks a turn first)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            return method(*args, **kwargs)

        return awaited


_ASYNC_READS = frozenset(
    {"customer", "find", "has_identity_kind", "merges", "merge", "secret", "scrub"}
    | {"touchpoints", "touchpoint", "touchpoint_counts"}
)


class UnlockedAsyncStore(AsyncMemoryStore):
    """Writers do not take turns: tasks of one thread all pass the memory store's lock."""

    takes_turns = False


class CancelCommittingAsyncStore(AsyncMemoryStore):
    """
    Rolls back on errors only, and commits otherwise: a cancelled task's writes are committed
    (`CancelledError` is no `Exception`).
    """

    rolls_back_on = (Exception,)


class TaskJoiningAsyncStore(AsyncMemoryStore):
    """
    Lets a task that holds a transaction join it rather than wait for itself, and never
    forgets which task held one: a task's later transactions join its first, long committed,
    and write without taking turns (or rolling back).

    Where each transaction runs in a task of its own, this cannot show; it shows where one
    task runs transaction after transaction, as `AsyncHub` runs a verb in the caller's task.
    """

    def __init__(self) -> None:
        super().__init__()
        self._holder: contextvars.ContextVar[tuple[Any, Any] | None] = contextvars.ContextVar(
            "holder", default=None
        )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        held = self._holder.get()
        if held is not None and held[0] is asyncio.current_task():
            yield held[1]
            return
        async with super()._transaction() as tx:
            self._holder.set((asyncio.current_task(), tx))  # never reset
            yield tx
