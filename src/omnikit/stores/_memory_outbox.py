"""
The memory store's outbox: deliveries in dictionaries, written through the store's journal.

Deliveries are frozen values, so the store keeps the very objects it is given and hands them
out again: nobody can change them in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from omnikit._models.outbound import Delivery, DeliveryStatus
from omnikit.errors import ConflictError

if TYPE_CHECKING:
    from omnikit.stores.memory import MemoryStore

__all__ = ["MemoryOutbox", "MemoryOutboxTransaction"]

_DUE = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED})
_SUPPRESSING = frozenset({DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED})


class MemoryOutbox:
    """The outbox's tables, and its reads outside a transaction."""

    def __init__(self) -> None:
        self.rows: dict[str, Delivery] = {}
        self.keys: dict[str, str] = {}
        self.by_provider: dict[tuple[str, str], str] = {}

    def delivery(self, delivery_id: str) -> Delivery | None:
        return self.rows.get(delivery_id)

    def listed(
        self, statuses: Collection[str] | None, customer_id: str | None, limit: int
    ) -> list[Delivery]:
        wanted = None if statuses is None else {DeliveryStatus(s) for s in statuses}
        found = [
            row
            for row in self.rows.values()
            if (wanted is None or row.status in wanted)
            and (customer_id is None or row.customer_id == customer_id)
        ]
        found.sort(key=lambda row: (row.created_at, row.id), reverse=True)
        return found[:limit]


class MemoryOutboxTransaction:
    """`omnikit.stores.OutboxTransaction` over a `MemoryStore`'s outbox (the store's lock held)."""

    __slots__ = ("_store",)

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    @property
    def _outbox(self) -> MemoryOutbox:
        return self._store._outbox  # noqa: SLF001

    def deliveries(self, ids: Collection[str]) -> dict[str, Delivery]:
        rows = self._outbox.rows
        return {i: rows[i] for i in ids if i in rows}

    def delivery_keys(self, keys: Collection[str]) -> dict[str, Delivery]:
        outbox = self._outbox
        return {k: outbox.rows[outbox.keys[k]] for k in keys if k in outbox.keys}

    def delivery_history(self, customer_id: str, since: dt.datetime) -> list[Delivery]:
        found = [
            row
            for row in self._outbox.rows.values()
            if row.customer_id == customer_id and row.created_at > since
        ]
        return sorted(found, key=lambda row: (row.created_at, row.id))

    def due_deliveries(self, now: dt.datetime, limit: int) -> list[Delivery]:
        due = [row for row in self._outbox.rows.values() if _is_due(row, now)]
        due.sort(key=lambda row: (row.due_at or row.lease_until or row.created_at, row.id))
        return due[:limit]

    def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Delivery]:
        outbox = self._outbox
        return {r: outbox.rows[outbox.by_provider[r]] for r in refs if r in outbox.by_provider}

    def suppressed_addresses(self, refs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(refs)
        return {
            (row.channel, row.address)
            for row in self._outbox.rows.values()
            if row.status in _SUPPRESSING
            and row.address is not None
            and (row.channel, row.address) in wanted
        }

    def save_deliveries(self, deliveries: Collection[Delivery]) -> None:
        journal = self._store._require_journal()  # noqa: SLF001
        outbox = self._outbox
        for row in deliveries:
            if row.key is not None and outbox.keys.get(row.key, row.id) != row.id:
                raise ConflictError(f"key: {row.key!r} already names another delivery")
            old = outbox.rows.get(row.id)
            if old is not None and old.key is not None and old.key != row.key:
                journal.remove(outbox.keys, old.key)
            journal.put(outbox.rows, row.id, row)
            if row.key is not None:
                journal.put(outbox.keys, row.key, row.id)
            if row.connector is not None and row.provider_message_id is not None:
                journal.put(outbox.by_provider, (row.connector, row.provider_message_id), row.id)


def _is_due(row: Delivery, now: dt.datetime) -> bool:
    if row.status in _DUE:
        return (row.due_at is None or row.due_at <= now) and (
            row.lease_until is None or row.lease_until <= now
        )
    return row.status == DeliveryStatus.SENDING and (
        row.lease_until is None or row.lease_until <= now
    )


def erase_deliveries(store: MemoryStore, customer_id: str) -> None:
    """Erase every delivery to *customer_id*: its address and content are theirs."""
    journal = store._require_journal()  # noqa: SLF001
    outbox: MemoryOutbox = store._outbox  # noqa: SLF001
    gone: list[Any] = [row for row in outbox.rows.values() if row.customer_id == customer_id]
    for row in gone:
        journal.remove(outbox.rows, row.id)
        if row.key is not None:
            journal.remove(outbox.keys, row.key)
        if row.connector is not None and row.provider_message_id is not None:
            journal.remove(outbox.by_provider, (row.connector, row.provider_message_id))
