"""
The outbox of the SQLite and PostgreSQL stores: its queries, written once as flows (`_drive`).

A delivery is stored whole as the converter's JSON (`data`), with the columns its queries
select and order by beside it (`omnikit_deliveries`, see `_schema`). The mixins below give
the SQL stores and their transactions, sync and async, the methods of the outbox ports
(`OutboxStore`, `OutboxTransaction` and their async twins), each running one flow.

The customer a delivery is for is the `customer_id` column's: a merge moves it there (as it
moves touchpoints), and an erasure deletes the rows by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from omnikit._engines.times import to_us
from omnikit._models.outbound import Delivery, DeliveryStatus
from omnikit.converters import default_converter
from omnikit.errors import ConflictError
from omnikit.stores._drive import EXECUTE_MANY, FETCH_ALL, FETCH_ONE, Statements

if TYPE_CHECKING:
    from omnikit.stores._schema import Dialect

__all__ = [
    "AsyncSQLOutboxReads",
    "AsyncSQLOutboxTransaction",
    "OutboxQueries",
    "SQLOutboxReads",
    "SQLOutboxTransaction",
    "outbox_queries",
]

_T = TypeVar("_T")
_CHUNK = 500
_PAIRS = 100
"""Pairs per statement: two parameters, and a term of an `OR` chain, each."""
_COLUMNS = (
    "id, key, customer_id, channel, connector, provider_message_id, address, status, "
    "due_us, lease_us, created_us, data"
)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _us(moment: dt.datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


class OutboxQueries:
    """The outbox's reads and writes in one dialect, each a flow any cursor can run."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        q = dialect.sql
        # Ids in code-point order, as Python sorts them (PostgreSQL's default collation
        # follows the locale's rules instead).
        self.by_id = ' COLLATE "C"' if dialect.name == "postgresql" else ""
        select = "SELECT customer_id, data FROM omnikit_deliveries"
        self.q_by_id = q(f"{select} WHERE id IN ({{in}})")
        self.q_by_key = q(f"{select} WHERE key IN ({{in}})")
        self.q_owners = q("SELECT id, key FROM omnikit_deliveries WHERE key IN ({in})")
        self.q_history = q(
            f"{select} WHERE customer_id = ? AND created_us > ? ORDER BY created_us, id{self.by_id}"
        )
        self.q_due = q(
            f"{select} WHERE (status IN ('queued', 'deferred') "
            "AND (due_us IS NULL OR due_us <= ?) AND (lease_us IS NULL OR lease_us <= ?)) "
            "OR (status = 'sending' AND (lease_us IS NULL OR lease_us <= ?)) "
            f"ORDER BY COALESCE(due_us, lease_us, created_us), id{self.by_id} LIMIT ?"
        )
        self.q_provider = (
            "SELECT connector, provider_message_id, customer_id, data FROM omnikit_deliveries "
            "WHERE (connector, provider_message_id) IN (VALUES {pairs}) "
            f"ORDER BY created_us, id{self.by_id}"
        )
        # Each pair spelled out: SQLite then seeks `omnikit_deliveries_address` per pair.
        self.q_suppressed = (
            "SELECT DISTINCT channel, address FROM omnikit_deliveries "
            "WHERE status IN ('bounced', 'complained') AND ({either})"
        )
        self.q_one = q(f"{select} WHERE id = ?")
        self.i_delivery = q(
            f"INSERT INTO omnikit_deliveries ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {json}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", ")[1:])
        )

    def _in(self, template: str, n: int) -> str:
        return template.replace("{in}", ", ".join([self.d.placeholder] * n))

    def _pairs(self, template: str, n: int) -> str:
        pair = f"({self.d.placeholder}, {self.d.placeholder})"
        return template.replace("{pairs}", ", ".join([pair] * n))

    def _either(self, template: str, n: int) -> str:
        pair = f"(channel = {self.d.placeholder} AND address = {self.d.placeholder})"
        return template.replace("{either}", " OR ".join([pair] * n))

    def _delivery(self, customer_id: str, data: Any) -> Delivery:
        fields = self.d.load(data)
        fields["customer_id"] = customer_id
        return default_converter().structure(fields, Delivery)

    def _params(self, row: Delivery) -> tuple[Any, ...]:
        return (
            row.id,
            row.key,
            row.customer_id,
            row.channel,
            row.connector,
            row.provider_message_id,
            row.address,
            row.status.value,
            _us(row.due_at),
            _us(row.lease_until),
            to_us(row.created_at),
            self.d.dump(default_converter().unstructure(row)),
        )

    # -- inside a transaction ----------------------------------------------------------------

    def deliveries(self, ids: Collection[str]) -> Statements[dict[str, Delivery]]:
        found: dict[str, Delivery] = {}
        for chunk in _chunks(sorted(set(ids))):
            rows = yield FETCH_ALL, self._in(self.q_by_id, len(chunk)), chunk
            for cid, data in rows:
                delivery = self._delivery(cid, data)
                found[delivery.id] = delivery
        return found

    def delivery_keys(self, keys: Collection[str]) -> Statements[dict[str, Delivery]]:
        found: dict[str, Delivery] = {}
        for chunk in _chunks(sorted(set(keys))):
            rows = yield FETCH_ALL, self._in(self.q_by_key, len(chunk)), chunk
            for cid, data in rows:
                delivery = self._delivery(cid, data)
                found[str(delivery.key)] = delivery
        return found

    def delivery_history(self, customer_id: str, since: dt.datetime) -> Statements[list[Delivery]]:
        rows = yield FETCH_ALL, self.q_history, [customer_id, to_us(since)]
        return [self._delivery(cid, data) for cid, data in rows]

    def due_deliveries(self, now: dt.datetime, limit: int) -> Statements[list[Delivery]]:
        at = to_us(now)
        rows = yield FETCH_ALL, self.q_due, [at, at, at, limit]
        return [self._delivery(cid, data) for cid, data in rows]

    def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> Statements[dict[tuple[str, str], Delivery]]:
        found: dict[tuple[str, str], Delivery] = {}
        for chunk in _chunks(sorted(set(refs)), _PAIRS):
            sql = self._pairs(self.q_provider, len(chunk))
            rows = yield FETCH_ALL, sql, [part for ref in chunk for part in ref]
            for connector, message_id, cid, data in rows:  # the newest last: it stands
                found[(connector, message_id)] = self._delivery(cid, data)
        return found

    def suppressed_addresses(
        self, refs: Collection[tuple[str, str]]
    ) -> Statements[set[tuple[str, str]]]:
        found: set[tuple[str, str]] = set()
        for chunk in _chunks(sorted(set(refs)), _PAIRS):
            sql = self._either(self.q_suppressed, len(chunk))
            rows = yield FETCH_ALL, sql, [part for ref in chunk for part in ref]
            found.update((channel, address) for channel, address in rows)
        return found

    def save_deliveries(self, deliveries: Collection[Delivery]) -> Statements[None]:
        """
        Insert or replace each delivery by id, in order; a key another one holds is a conflict.

        Checked before anything is written, row by row as the rows will be written: a row
        that gives up its key frees it for the rows after it.
        """
        rows = list(deliveries)
        if not rows:
            return
        owners: dict[str, str] = {}  # key -> the id holding it
        held: dict[str, str] = {}  # id -> the key it holds, for the keys above
        for chunk in _chunks(sorted({r.key for r in rows if r.key is not None})):
            found = yield FETCH_ALL, self._in(self.q_owners, len(chunk)), chunk
            for delivery_id, key in found:
                owners[key], held[delivery_id] = delivery_id, key
        for row in rows:
            if row.key is not None and owners.get(row.key, row.id) != row.id:
                raise ConflictError(f"key: {row.key!r} already names another delivery")
            old = held.pop(row.id, None)
            if old is not None and old != row.key:
                owners.pop(old, None)
            if row.key is not None:
                owners[row.key], held[row.id] = row.id, row.key
        yield EXECUTE_MANY, self.i_delivery, [self._params(r) for r in rows]

    # -- outside transactions ----------------------------------------------------------------

    def delivery(self, delivery_id: str) -> Statements[Delivery | None]:
        row = yield FETCH_ONE, self.q_one, [delivery_id]
        return None if row is None else self._delivery(row[0], row[1])

    def listed(
        self, statuses: Collection[str] | None, customer_id: str | None, limit: int
    ) -> Statements[list[Delivery]]:
        """Deliveries, newest first, of these *statuses* and *customer_id* when given."""
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            wanted = sorted({DeliveryStatus(s).value for s in statuses})
            if not wanted:
                return []
            where.append(f"status IN ({', '.join(['?'] * len(wanted))})")
            params.extend(wanted)
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        sql = "SELECT customer_id, data FROM omnikit_deliveries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_us DESC, id{self.by_id} DESC LIMIT ?"
        rows = yield FETCH_ALL, self.d.sql(sql), [*params, limit]
        return [self._delivery(cid, data) for cid, data in rows]


_BY_DIALECT: dict[type[Dialect], OutboxQueries] = {}


def outbox_queries(dialect: Dialect) -> OutboxQueries:
    """The outbox's queries in *dialect*'s spelling, made once per kind of dialect."""
    kind = type(dialect)
    found = _BY_DIALECT.get(kind)
    if found is None:
        found = _BY_DIALECT[kind] = OutboxQueries(dialect)
    return found


class SQLOutboxTransaction:
    """`OutboxTransaction`, for a sync SQL transaction (it runs flows with `_run`)."""

    __slots__ = ()

    if TYPE_CHECKING:
        queries: Any

        def _run(self, flow: Statements[_T]) -> _T: ...

    @property
    def _outbox(self) -> OutboxQueries:
        return outbox_queries(self.queries.d)

    def deliveries(self, ids: Collection[str]) -> dict[str, Delivery]:
        return self._run(self._outbox.deliveries(ids))

    def delivery_keys(self, keys: Collection[str]) -> dict[str, Delivery]:
        return self._run(self._outbox.delivery_keys(keys))

    def delivery_history(self, customer_id: str, since: dt.datetime) -> list[Delivery]:
        return self._run(self._outbox.delivery_history(customer_id, since))

    def due_deliveries(self, now: dt.datetime, limit: int) -> list[Delivery]:
        return self._run(self._outbox.due_deliveries(now, limit))

    def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Delivery]:
        return self._run(self._outbox.provider_deliveries(refs))

    def suppressed_addresses(self, refs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        return self._run(self._outbox.suppressed_addresses(refs))

    def save_deliveries(self, deliveries: Collection[Delivery]) -> None:
        self._run(self._outbox.save_deliveries(deliveries))


class AsyncSQLOutboxTransaction:
    """`AsyncOutboxTransaction`, for an async SQL transaction (it awaits flows with `run`)."""

    __slots__ = ()

    if TYPE_CHECKING:
        queries: Any

        async def run(self, flow: Statements[_T]) -> _T: ...

    @property
    def _outbox(self) -> OutboxQueries:
        return outbox_queries(self.queries.d)

    async def deliveries(self, ids: Collection[str]) -> dict[str, Delivery]:
        return await self.run(self._outbox.deliveries(ids))

    async def delivery_keys(self, keys: Collection[str]) -> dict[str, Delivery]:
        return await self.run(self._outbox.delivery_keys(keys))

    async def delivery_history(self, customer_id: str, since: dt.datetime) -> list[Delivery]:
        return await self.run(self._outbox.delivery_history(customer_id, since))

    async def due_deliveries(self, now: dt.datetime, limit: int) -> list[Delivery]:
        return await self.run(self._outbox.due_deliveries(now, limit))

    async def provider_deliveries(
        self, refs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Delivery]:
        return await self.run(self._outbox.provider_deliveries(refs))

    async def suppressed_addresses(self, refs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        return await self.run(self._outbox.suppressed_addresses(refs))

    async def save_deliveries(self, deliveries: Collection[Delivery]) -> None:
        await self.run(self._outbox.save_deliveries(deliveries))


class SQLOutboxReads:
    """`OutboxStore`'s reads, for a sync SQL store (it reads flows with `_read`)."""

    if TYPE_CHECKING:
        _dialect: Dialect

        def _read(self, flow: Statements[_T]) -> _T: ...

    def delivery(self, delivery_id: str) -> Delivery | None:
        """
        One delivery of the outbox by id (see `omnikit.stores.OutboxStore`).

        Added in version 0.1.0.
        """
        return self._read(outbox_queries(self._dialect).delivery(delivery_id))

    def list_deliveries(
        self,
        *,
        statuses: Collection[str] | None = None,
        customer_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """
        Deliveries, newest first (see `omnikit.stores.OutboxStore`).

        Added in version 0.1.0.
        """
        return self._read(outbox_queries(self._dialect).listed(statuses, customer_id, limit))


class AsyncSQLOutboxReads:
    """`AsyncOutboxStore`'s reads, for an async SQL store (it awaits flows with `_read`)."""

    if TYPE_CHECKING:
        _dialect: Dialect

        async def _read(self, flow: Statements[_T]) -> _T: ...

    async def delivery(self, delivery_id: str) -> Delivery | None:
        """
        One delivery of the outbox by id (see `omnikit.stores.AsyncOutboxStore`).

        Added in version 0.1.0.
        """
        return await self._read(outbox_queries(self._dialect).delivery(delivery_id))

    async def list_deliveries(
        self,
        *,
        statuses: Collection[str] | None = None,
        customer_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """
        Deliveries, newest first (see `omnikit.stores.AsyncOutboxStore`).

        Added in version 0.1.0.
        """
        query = outbox_queries(self._dialect).listed(statuses, customer_id, limit)
        return await self._read(query)
