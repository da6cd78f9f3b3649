"""
What the SQLite and PostgreSQL stores share: the schema, its migrations, and every query.

Each adapter supplies a `_Dialect` (placeholders, JSON columns, `IN` lists) and connections;
the SQL here is written once with `?` placeholders and `{json}` for a JSON parameter.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import json
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from omnikit._engines.profile import ProfileState, to_us
from omnikit._engines.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    IdentityRow,
    IdKey,
    MergeRow,
    SplitRow,
)
from omnikit._models.customers import LinkRecord, MergeRecord
from omnikit._models.touchpoints import Touchpoint
from omnikit.converters import default_converter
from omnikit.errors import StoreUnavailableError
from omnikit.stores._codec import encode, touchpoint_from, touchpoint_json, touchpoint_text

__all__ = ["MIGRATIONS", "Cursor", "Dialect", "SQLQueries"]

_CHUNK = 500
_MAX_ALIAS_HOPS = 64

# Each migration is a list of statements, applied in order, once. Never edit a released one:
# add the next. `{json}` is the dialect's JSON column type, `{big}` its 64-bit integer.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE omnikit_touchpoints (
            message_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            occurred_us {big} NOT NULL,
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            data {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_touchpoints_customer ON omnikit_touchpoints (customer_id, occurred_us, message_id)",
        """CREATE TABLE omnikit_identities (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            owner TEXT,
            cluster TEXT NOT NULL,
            PRIMARY KEY (kind, value)
        )""",
        "CREATE INDEX omnikit_identities_cluster ON omnikit_identities (cluster)",
        """CREATE TABLE omnikit_customers (
            id TEXT PRIMARY KEY,
            cluster TEXT,
            first_us {big} NOT NULL,
            first_message_id TEXT NOT NULL,
            members {jsontype} NOT NULL,
            profile {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_customers_cluster ON omnikit_customers (cluster)",
        """CREATE TABLE omnikit_clusters (
            id TEXT PRIMARY KEY,
            max_us {big} NOT NULL,
            max_message_id TEXT NOT NULL,
            size INTEGER NOT NULL
        )""",
        "CREATE TABLE omnikit_aliases (source TEXT PRIMARY KEY, target TEXT NOT NULL)",
        "CREATE INDEX omnikit_aliases_target ON omnikit_aliases (target)",
        """CREATE TABLE omnikit_merges (
            id TEXT PRIMARY KEY,
            root TEXT NOT NULL,
            cluster TEXT NOT NULL,
            at_us {big} NOT NULL,
            data {jsontype} NOT NULL
        )""",
        "CREATE INDEX omnikit_merges_root ON omnikit_merges (root)",
        "CREATE INDEX omnikit_merges_cluster ON omnikit_merges (cluster)",
        """CREATE TABLE omnikit_splits (
            a_kind TEXT NOT NULL,
            a_value TEXT NOT NULL,
            b_kind TEXT NOT NULL,
            b_value TEXT NOT NULL,
            merge_id TEXT NOT NULL,
            at_us {big} NOT NULL,
            PRIMARY KEY (a_kind, a_value, b_kind, b_value)
        )""",
        "CREATE INDEX omnikit_splits_b ON omnikit_splits (b_kind, b_value)",
    ),
    (
        """CREATE TABLE omnikit_suppressions (
            digest TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            at_us {big} NOT NULL
        )""",
        "CREATE INDEX omnikit_suppressions_kind ON omnikit_suppressions (kind)",
        # What erasures by earlier versions left: unlinked identities of clusters nobody is
        # in any more, and clusters without identities (named after an erased identifier).
        """DELETE FROM omnikit_identities WHERE owner IS NULL AND cluster NOT IN (
            SELECT cluster FROM omnikit_customers WHERE cluster IS NOT NULL
        )""",
        "DELETE FROM omnikit_clusters WHERE id NOT IN (SELECT cluster FROM omnikit_identities)",
    ),
    (
        # Identities a verified touchpoint carried: claims never take them (the identity
        # resolution page's "Trust"). Rows of earlier versions learn it from their owner.
        "ALTER TABLE omnikit_identities ADD COLUMN verified INTEGER NOT NULL DEFAULT 0",
    ),
)
SUPPRESSION_KINDS = ("identity", "key", "message")
SCHEMA_VERSION = len(MIGRATIONS)


class Cursor(Protocol):
    """The part of a DB-API cursor the queries use."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class Dialect:
    """How one database spells what the queries need."""

    name = "sql"
    placeholder = "?"
    json_param = "?"
    json_type = "TEXT"
    big_type = "INTEGER"

    def sql(self, text: str) -> str:
        """Turn a query written with `?` and `{json}` into this dialect's."""
        return (
            text.replace("{json}", "\x00")
            .replace("?", self.placeholder)
            .replace("\x00", self.json_param)
        )

    def dump(self, value: object) -> Any:
        """A JSON parameter."""
        return encode(value)

    def load(self, value: Any) -> Any:
        """A JSON column's value."""
        return json.loads(value) if isinstance(value, str | bytes) else value

    def schema(self, statement: str) -> str:
        """A migration statement in this dialect."""
        return statement.replace("{jsontype}", self.json_type).replace("{big}", self.big_type)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def merge_json(row: MergeRow) -> dict[str, Any]:
    """An entry of the audit trail as stored (a merge, or a link tagged as one)."""
    data = {
        "record": default_converter().unstructure(row.record),
        "anchors": [[list(a), list(b)] for a, b in row.anchors],
    }
    if isinstance(row.record, LinkRecord):
        data["type"] = "link"
    return data


def merge_from(data: dict[str, Any], root: str, cluster: str) -> MergeRow:
    """The entry `merge_json` stored."""
    conv = default_converter()
    record: MergeRecord | LinkRecord = (
        conv.structure(data["record"], LinkRecord)
        if data.get("type") == "link"
        else conv.structure(data["record"], MergeRecord)
    )
    return MergeRow(
        record=record,
        root=root,
        cluster=cluster,
        anchors=tuple(((a[0], a[1]), (b[0], b[1])) for a, b in data["anchors"]),
    )


def _members(record: CustomerRecord) -> list[tuple[str, ...]]:
    """A customer's members as stored: `[kind, value]`, and `[kind, value, 1]` if verified."""
    verified = record.verified
    if not verified:
        return sorted(record.members)  # pairs are written as arrays
    return [(*key, 1) if key in verified else key for key in sorted(record.members)]  # type: ignore[misc]


class SQLQueries:
    """Every read and write, over a cursor, in one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self._plain_dump = type(dialect).dump is Dialect.dump  # then `touchpoint_text` applies
        q = dialect.sql
        self.q_seen = q("SELECT message_id FROM omnikit_touchpoints WHERE message_id IN ({in})")
        self.q_customer_by_id = q(
            "SELECT id, cluster, first_us, first_message_id, members, profile FROM omnikit_customers WHERE id IN ({in})"
        )
        self.q_customers_in_cluster = q(
            "SELECT id, cluster, first_us, first_message_id, members, profile FROM omnikit_customers WHERE cluster = ?"
        )
        self.q_cluster_keys = q("SELECT kind, value FROM omnikit_identities WHERE cluster = ?")
        self.q_clusters = q(
            "SELECT id, max_us, max_message_id, size FROM omnikit_clusters WHERE id IN ({in})"
        )
        self.q_identity = q(
            "SELECT owner, cluster FROM omnikit_identities WHERE kind = ? AND value = ?"
        )
        self.q_kind = q("SELECT 1 FROM omnikit_identities WHERE kind = ? LIMIT 1")
        self.q_alias = q("SELECT target FROM omnikit_aliases WHERE source = ?")
        self.q_tp_of = q(
            "SELECT data, customer_id FROM omnikit_touchpoints WHERE customer_id IN ({in})"
        )
        self.u_relabel_ids = q("UPDATE omnikit_identities SET cluster = ? WHERE cluster = ?")
        self.u_relabel_customers = q("UPDATE omnikit_customers SET cluster = ? WHERE cluster = ?")
        self.u_relabel_merges = q("UPDATE omnikit_merges SET cluster = ? WHERE cluster = ?")
        self.u_reassign_tps = q(
            "UPDATE omnikit_touchpoints SET customer_id = ? WHERE customer_id = ?"
        )
        self.u_reassign_merges = q("UPDATE omnikit_merges SET root = ? WHERE root = ?")
        self.u_reassign_aliases = q("UPDATE omnikit_aliases SET target = ? WHERE target = ?")
        self.d_customer = q("DELETE FROM omnikit_customers WHERE id = ?")
        self.d_cluster = q("DELETE FROM omnikit_clusters WHERE id = ?")
        self.d_merges_cluster = q("DELETE FROM omnikit_merges WHERE cluster = ?")
        self.d_alias = q("DELETE FROM omnikit_aliases WHERE source = ?")
        self.i_customer = q(
            "INSERT INTO omnikit_customers (id, cluster, first_us, first_message_id, members, profile) "
            "VALUES (?, ?, ?, ?, {json}, {json}) ON CONFLICT (id) DO UPDATE SET cluster = excluded.cluster, "
            "first_us = excluded.first_us, first_message_id = excluded.first_message_id, "
            "members = excluded.members, profile = excluded.profile"
        )
        self.i_identity = q(
            "INSERT INTO omnikit_identities (kind, value, owner, cluster, verified) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, value) DO UPDATE SET "
            "owner = excluded.owner, cluster = excluded.cluster, verified = excluded.verified"
        )
        self.u_touchpoint = q("UPDATE omnikit_touchpoints SET data = {json} WHERE message_id = ?")
        self.i_cluster = q(
            "INSERT INTO omnikit_clusters (id, max_us, max_message_id, size) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET max_us = excluded.max_us, "
            "max_message_id = excluded.max_message_id, size = excluded.size"
        )
        self.i_alias = q(
            "INSERT INTO omnikit_aliases (source, target) VALUES (?, ?) "
            "ON CONFLICT (source) DO UPDATE SET target = excluded.target"
        )
        self.i_touchpoint = q(
            "INSERT INTO omnikit_touchpoints (message_id, customer_id, occurred_us, channel, name, data) "
            "VALUES (?, ?, ?, ?, ?, {json})"
        )
        self.u_owner = q("UPDATE omnikit_touchpoints SET customer_id = ? WHERE message_id = ?")
        self.i_merge = q(
            "INSERT INTO omnikit_merges (id, root, cluster, at_us, data) VALUES (?, ?, ?, ?, {json}) "
            "ON CONFLICT (id) DO UPDATE SET root = excluded.root, cluster = excluded.cluster, "
            "at_us = excluded.at_us, data = excluded.data"
        )
        self.i_split = q(
            "INSERT INTO omnikit_splits (a_kind, a_value, b_kind, b_value, merge_id, at_us) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        )
        exists = "EXISTS (SELECT 1 FROM omnikit_suppressions WHERE kind = '{}')"
        self.q_kinds = "SELECT " + ", ".join(map(exists.format, SUPPRESSION_KINDS))
        self.q_suppressed = q("SELECT digest FROM omnikit_suppressions WHERE digest IN ({in})")
        self.q_aliases = q("SELECT source, target FROM omnikit_aliases WHERE target IN ({in})")
        self.i_suppression = q(
            "INSERT INTO omnikit_suppressions (digest, kind, at_us) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING"
        )
        self.d_suppression = q("DELETE FROM omnikit_suppressions WHERE digest = ?")
        # What erasing a customer deletes; and an identity row, with the splits naming it.
        by_customer = ("touchpoints customer_id", "customers id", "merges root", "aliases target")
        self.d_erased_customer = [
            q(f"DELETE FROM omnikit_{t} WHERE {c} = ?") for t, c in map(str.split, by_customer)
        ]
        by_key = ("identities kind value", "splits a_kind a_value", "splits b_kind b_value")
        self.d_erased_identity = [
            q(f"DELETE FROM omnikit_{t} WHERE {k} = ? AND {v} = ?")
            for t, k, v in map(str.split, by_key)
        ]

    def _in(self, template: str, n: int) -> str:
        return template.replace("{in}", ", ".join([self.d.placeholder] * n))

    # -- reads -------------------------------------------------------------------------------

    def seen(self, cur: Cursor, message_ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(message_ids)):
            cur.execute(self._in(self.q_seen, len(chunk)), chunk)
            found.update(row[0] for row in cur.fetchall())
        return found

    def identities(self, cur: Cursor, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        found: dict[IdKey, IdentityRow] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, value in keys:
            by_kind.setdefault(kind, []).append(value)
        for kind, values in by_kind.items():
            template = self.d.sql(
                "SELECT value, owner, cluster, verified FROM omnikit_identities "
                "WHERE kind = ? AND value IN ({in})"
            )
            for chunk in _chunks(values):
                cur.execute(self._in(template, len(chunk)), [kind, *chunk])
                for value, owner, cluster, verified in cur.fetchall():
                    found[(kind, value)] = IdentityRow(
                        owner=owner, cluster=cluster, verified=bool(verified)
                    )
        return found

    def _record(self, row: Sequence[Any]) -> CustomerRecord:
        cid, cluster, first_us, first_mid, members, profile = row
        # Members are [kind, value] pairs, with a third item, 1, for those a verified touchpoint
        # carried.
        pairs = self.d.load(members)
        return CustomerRecord(
            id=cid,
            cluster=cluster,
            first=(first_us, first_mid),
            members={(m[0], m[1]) for m in pairs},
            profile=ProfileState.from_json(self.d.load(profile)),
            verified={(m[0], m[1]) for m in pairs if len(m) > 2},
        )

    def customers(self, cur: Cursor, ids: Collection[str]) -> dict[str, CustomerRecord]:
        found: dict[str, CustomerRecord] = {}
        for chunk in _chunks(sorted(ids)):
            cur.execute(self._in(self.q_customer_by_id, len(chunk)), chunk)
            for row in cur.fetchall():
                record = self._record(row)
                found[record.id] = record
        return found

    def clusters(self, cur: Cursor, ids: Collection[str]) -> dict[str, ClusterRow]:
        found: dict[str, ClusterRow] = {}
        for chunk in _chunks(sorted(ids)):
            cur.execute(self._in(self.q_clusters, len(chunk)), chunk)
            for cid, max_us, max_mid, size in cur.fetchall():
                found[cid] = ClusterRow(id=cid, max=(max_us, max_mid), size=size)
        return found

    def splits(self, cur: Cursor, keys: Collection[IdKey]) -> list[SplitRow]:
        cur.execute("SELECT 1 FROM omnikit_splits LIMIT 1")
        if cur.fetchone() is None:  # unmerges are rare: most stores have no split to look for
            return []
        found: set[SplitRow] = set()
        flat = sorted(keys)
        for chunk in _chunks(flat):
            pairs = ", ".join([f"({self.d.placeholder}, {self.d.placeholder})"] * len(chunk))
            params = [part for key in chunk for part in key]
            for side in ("a", "b"):
                cur.execute(
                    "SELECT a_kind, a_value, b_kind, b_value, merge_id, at_us FROM omnikit_splits "
                    f"WHERE ({side}_kind, {side}_value) IN (VALUES {pairs})",
                    params,
                )
                for ak, av, bk, bv, merge_id, at_us in cur.fetchall():
                    found.add(SplitRow(a=(ak, av), b=(bk, bv), merge_id=merge_id, at_us=at_us))
        return sorted(found, key=lambda s: (s.at_us, s.merge_id, s.a, s.b))

    def suppression_kinds(self, cur: Cursor) -> set[str]:
        cur.execute(self.q_kinds)
        found = cur.fetchone()
        return {kind for kind, held in zip(SUPPRESSION_KINDS, found, strict=True) if held}

    def suppressed(self, cur: Cursor, digests: Collection[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(digests))):
            cur.execute(self._in(self.q_suppressed, len(chunk)), chunk)
            found.update(row[0] for row in cur.fetchall())
        return found

    def aliases(self, cur: Cursor, targets: Collection[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(targets)):
            cur.execute(self._in(self.q_aliases, len(chunk)), chunk)
            found.update((source, target) for source, target in cur.fetchall())
        return found

    def cluster_identities(self, cur: Cursor, cluster: str) -> list[IdKey]:
        cur.execute(self.q_cluster_keys, [cluster])
        return sorted((k, v) for k, v in cur.fetchall())

    def cluster_customers(self, cur: Cursor, cluster: str) -> dict[str, CustomerRecord]:
        cur.execute(self.q_customers_in_cluster, [cluster])
        return {record.id: record for record in map(self._record, cur.fetchall())}

    def customer_touchpoints(self, cur: Cursor, ids: Collection[str]) -> list[Touchpoint]:
        found: list[Touchpoint] = []
        for chunk in _chunks(sorted(ids)):
            cur.execute(self._in(self.q_tp_of, len(chunk)), chunk)
            found.extend(touchpoint_from(self.d.load(data), cid) for data, cid in cur.fetchall())
        return found

    def resolve(self, cur: Cursor, customer_id: str) -> str:
        for _ in range(_MAX_ALIAS_HOPS):
            cur.execute(self.q_alias, [customer_id])
            row = cur.fetchone()
            if row is None:
                return customer_id
            customer_id = row[0]
        return customer_id

    def customer(self, cur: Cursor, customer_id: str) -> CustomerRecord | None:
        cid = self.resolve(cur, customer_id)
        return self.customers(cur, [cid]).get(cid)

    def find(self, cur: Cursor, key: IdKey) -> CustomerRecord | None:
        cur.execute(self.q_identity, key)
        row = cur.fetchone()
        if row is None or row[0] is None:
            return None
        return self.customers(cur, [row[0]]).get(row[0])

    def has_identity_kind(self, cur: Cursor, kind: str) -> bool:
        cur.execute(self.q_kind, [kind])  # the primary key (kind, value) makes it a probe
        return cur.fetchone() is not None

    def merges(self, cur: Cursor, customer_id: str) -> list[MergeRow]:
        cid = self.resolve(cur, customer_id)
        cur.execute(
            self.d.sql(
                "SELECT data, root, cluster FROM omnikit_merges WHERE root = ? ORDER BY at_us, id"
            ),
            [cid],
        )
        return [
            merge_from(self.d.load(data), root, cluster) for data, root, cluster in cur.fetchall()
        ]

    def merge(self, cur: Cursor, merge_id: str) -> MergeRow | None:
        cur.execute(
            self.d.sql("SELECT data, root, cluster FROM omnikit_merges WHERE id = ?"), [merge_id]
        )
        row = cur.fetchone()
        return None if row is None else merge_from(self.d.load(row[0]), row[1], row[2])

    def customer_page(self, cur: Cursor, after: str, limit: int) -> list[CustomerRecord]:
        cur.execute(
            self.d.sql(
                "SELECT id, cluster, first_us, first_message_id, members, profile FROM omnikit_customers "
                "WHERE id > ? ORDER BY id LIMIT ?"
            ),
            [after, limit],
        )
        return [self._record(row) for row in cur.fetchall()]

    def touchpoints(
        self,
        cur: Cursor,
        customer_id: str,
        *,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int | None,
        newest_first: bool,
    ) -> list[Touchpoint]:
        cid = self.resolve(cur, customer_id)
        sql = "SELECT data FROM omnikit_touchpoints WHERE customer_id = ?"
        params: list[Any] = [cid]
        if since is not None:
            sql += " AND occurred_us >= ?"
            params.append(to_us(since))
        if until is not None:
            sql += " AND occurred_us < ?"
            params.append(to_us(until))
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY occurred_us {order}, message_id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        cur.execute(self.d.sql(sql), params)
        return [touchpoint_from(self.d.load(data), cid) for (data,) in cur.fetchall()]

    def touchpoint(self, cur: Cursor, message_id: str) -> Touchpoint | None:
        cur.execute(
            self.d.sql("SELECT data, customer_id FROM omnikit_touchpoints WHERE message_id = ?"),
            [message_id],
        )
        row = cur.fetchone()
        return None if row is None else touchpoint_from(self.d.load(row[0]), row[1])

    def touchpoint_counts(self, cur: Cursor) -> dict[str, int]:
        cur.execute("SELECT channel, COUNT(*) FROM omnikit_touchpoints GROUP BY channel")
        return {channel: int(n) for channel, n in cur.fetchall()}

    # -- writes ------------------------------------------------------------------------------

    def customer_params(self, record: CustomerRecord) -> tuple[Any, ...]:
        return (
            record.id,
            record.cluster,
            record.first[0],
            record.first[1],
            self.d.dump(_members(record)),
            self.d.dump(record.profile.to_json()),
        )

    def touchpoint_params(self, tp: Touchpoint, owner: str) -> tuple[Any, ...]:
        return (
            tp.message_id,
            owner,
            to_us(tp.occurred_at),
            tp.channel,
            tp.name,
            touchpoint_text(tp) if self._plain_dump else self.d.dump(touchpoint_json(tp)),
        )

    def apply(self, cur: Cursor, changes: Changes) -> None:
        # The large parameter lists are generators of tuples: each row is built as the driver
        # binds it and dropped right after, instead of a transaction's worth living at once.
        run: Callable[[str, Iterable[Sequence[Any]]], Any] = cur.executemany
        for old, new in changes.relabel.items():
            for sql in (self.u_relabel_ids, self.u_relabel_customers, self.u_relabel_merges):
                cur.execute(sql, [new, old])
        for old, new in changes.reassign.items():
            for sql in (self.u_reassign_tps, self.u_reassign_merges, self.u_reassign_aliases):
                cur.execute(sql, [new, old])
        if changes.erased_customers:
            for sql in self.d_erased_customer:
                run(sql, [[c] for c in sorted(changes.erased_customers)])
        if changes.erased_identities:
            for sql in self.d_erased_identity:
                run(sql, sorted(changes.erased_identities))
        if changes.deleted_customers:
            run(self.d_customer, [[c] for c in sorted(changes.deleted_customers)])
        if changes.deleted_clusters:
            run(self.d_cluster, [[c] for c in sorted(changes.deleted_clusters)])
        for cluster in sorted(changes.deleted_merge_clusters):
            cur.execute(self.d_merges_cluster, [cluster])
        if changes.unaliased:
            run(self.d_alias, [[c] for c in sorted(changes.unaliased)])
        if changes.customers:
            run(
                self.i_customer,
                (self.customer_params(r) for _, r in sorted(changes.customers.items())),
            )
        if changes.identities:
            run(
                self.i_identity,
                (
                    (k, v, row.owner, row.cluster, int(row.verified))
                    for (k, v), row in sorted(changes.identities.items())
                ),
            )
        if changes.clusters:
            run(
                self.i_cluster,
                ((c.id, c.max[0], c.max[1], c.size) for _, c in sorted(changes.clusters.items())),
            )
        if changes.aliases:
            run(self.i_alias, sorted([s, t] for s, t in changes.aliases.items()))
        if changes.new_touchpoints:
            run(
                self.i_touchpoint,
                (self.touchpoint_params(tp, owner) for tp, owner in changes.new_touchpoints),
            )
        if changes.touchpoint_owners:
            run(
                self.u_owner,
                sorted([owner, mid] for mid, owner in changes.touchpoint_owners.items()),
            )
        if changes.rewritten:
            run(
                self.u_touchpoint,
                [(self.touchpoint_params(tp, "")[-1], tp.message_id) for tp in changes.rewritten],
            )
        if changes.merges:
            run(
                self.i_merge,
                [
                    [m.record.id, m.root, m.cluster, to_us(m.record.at), self.d.dump(merge_json(m))]
                    for m in changes.merges
                ],
            )
        if changes.splits:
            run(self.i_split, [[*s.a, *s.b, s.merge_id, s.at_us] for s in changes.splits])
        if changes.unsuppressed:
            run(self.d_suppression, [[d] for d in sorted(changes.unsuppressed)])
        if changes.suppressions:
            run(self.i_suppression, [[r.digest, r.kind, r.at_us] for r in changes.suppressions])


def _too_new(url: str, version: int) -> None:
    raise StoreUnavailableError(
        f"store {url!r} has schema version {version}, newer than this omnikit "
        f"({SCHEMA_VERSION}): upgrade omnikit"
    )


_OPEN_STORES: weakref.WeakSet[SQLStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._forked()  # noqa: SLF001 - the stores' own hook


if hasattr(os, "register_at_fork"):  # pragma: no branch - every POSIX system has it
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLStore(abc.ABC):
    """
    The `Store` methods, written once over a connection per thread.

    The adapters say how to connect, begin, commit and roll back, and which driver errors mean
    what. A process forked from one using the store opens its own connections.
    """

    url: str

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._queries = SQLQueries(dialect)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._inherited: list[Any] = []
        self._closed = False
        self._secret = b""
        _OPEN_STORES.add(self)

    def _forked(self) -> None:
        """
        In a forked child: leave the parent's connections be, and open new ones when needed.

        A connection is a socket (or file handles) the child shares with the parent: using
        it from both interleaves two conversations with the server, and closing it from the
        child may end the parent's. The child keeps the inherited objects, untouched, so that
        nothing closes them when they are collected. Runs while the child has one thread.
        """
        self._inherited.extend(self._connections)
        self._connections = []
        self._local = threading.local()
        self._lock = threading.Lock()  # another thread of the parent may have held it

    # -- the adapter's part ------------------------------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> Any:
        """A new connection, configured."""

    @abc.abstractmethod
    def _begin(self, conn: Any) -> None:
        """Begin a write transaction that waits for other writers."""

    @abc.abstractmethod
    def _commit(self, conn: Any) -> None:
        """Commit it."""

    @abc.abstractmethod
    def _rollback(self, conn: Any) -> None:
        """Roll it back."""

    @abc.abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Turn the driver's errors into `StoreError`s."""

    # -- connections -------------------------------------------------------------------------

    def _usable(self, conn: Any) -> bool:  # noqa: ARG002 - adapters whose connections break
        """Whether *conn* can still be used (not closed after a lost connection)."""
        return True

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._usable(conn):  # lost: a retry gets a new one
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn = None
        if conn is None:
            if self._closed:
                raise StoreUnavailableError(f"store {self.url!r} is closed")
            with self._errors():
                conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        with self._errors():
            self._begin(conn)
            try:
                cur = conn.cursor()
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS omnikit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                cur.execute(
                    self._dialect.sql("SELECT value FROM omnikit_meta WHERE key = ?"),
                    ["schema_version"],
                )
                row = cur.fetchone()
                version = int(row[0]) if row else 0
                if version > SCHEMA_VERSION:
                    _too_new(self.url, version)
                for statements in MIGRATIONS[version:]:
                    for statement in statements:
                        cur.execute(self._dialect.schema(statement))
                if version < SCHEMA_VERSION:
                    cur.execute(
                        self._dialect.sql(
                            "INSERT INTO omnikit_meta (key, value) VALUES (?, ?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                        ),
                        ["schema_version", str(SCHEMA_VERSION)],
                    )
                self._secret = self._read_secret(cur)
            except BaseException:
                self._rollback(conn)
                raise
            self._commit(conn)

    def _read_secret(self, cur: Cursor) -> bytes:
        """The store's own key, made the first time the store opens."""
        sql = self._dialect.sql
        cur.execute(
            sql("INSERT INTO omnikit_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
            ["secret", secrets.token_hex(32)],
        )
        cur.execute(sql("SELECT value FROM omnikit_meta WHERE key = ?"), ["secret"])
        return bytes.fromhex(cur.fetchone()[0])

    def close(self) -> None:
        """Close every connection this store opened; the data stays."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(Exception):  # closing is best effort
                conn.close()
        self._local = type(self._local)()

    # -- transactions ------------------------------------------------------------------------

    def transaction(self) -> Any:
        """Begin a write transaction; writers in other threads and processes wait."""

        @contextmanager
        def tx() -> Iterator[SQLTransaction]:
            conn = self._conn()
            with self._errors():
                self._begin(conn)
            try:
                yield SQLTransaction(self, conn.cursor())
            except BaseException:
                with self._errors():
                    self._rollback(conn)
                raise
            with self._errors():
                self._commit(conn)

        return tx()

    # -- reads -------------------------------------------------------------------------------

    def _read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        conn = self._conn()
        with self._errors():
            return fn(conn.cursor(), *args, **kwargs)

    def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following merged ids to the survivor."""
        return self._read(self._queries.customer, customer_id)  # type: ignore[no-any-return]

    def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        return self._read(self._queries.find, key)  # type: ignore[no-any-return]

    def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored."""
        return self._read(self._queries.has_identity_kind, kind)  # type: ignore[no-any-return]

    def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        return self._read(self._queries.merges, customer_id)  # type: ignore[no-any-return]

    def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        return self._read(self._queries.merge, merge_id)  # type: ignore[no-any-return]

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[CustomerRecord]:
        """Every customer, in id order, fetched a page at a time."""
        after = ""
        while True:
            page: list[CustomerRecord] = self._read(self._queries.customer_page, after, batch_size)
            yield from page
            if len(page) < batch_size:
                return
            after = page[-1].id

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
        return self._read(  # type: ignore[no-any-return]
            self._queries.touchpoints,
            customer_id,
            since=since,
            until=until,
            limit=limit,
            newest_first=newest_first,
        )

    def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        return self._read(self._queries.touchpoint, message_id)  # type: ignore[no-any-return]

    def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        return self._read(self._queries.touchpoint_counts)  # type: ignore[no-any-return]

    def secret(self) -> bytes:
        """This store's own random key (see `CustomerStore.secret`), read when it opened."""
        return self._secret

    @abc.abstractmethod
    def scrub(self) -> bool:
        """Overwrite what deleted rows left in the files, if it can (`CustomerStore.scrub`)."""


class SQLTransaction:
    """`IngestTransaction` over one cursor of an open transaction."""

    __slots__ = ("cur", "store")

    def __init__(self, store: SQLStore, cur: Cursor) -> None:
        self.store = store
        self.cur = cur

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.store._errors():  # noqa: SLF001 - the transaction is the store's
            return fn(self.cur, *args)

    def seen(self, message_ids: Collection[str]) -> set[str]:
        return self._run(self.store._queries.seen, message_ids)  # type: ignore[no-any-return]  # noqa: SLF001

    def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        return self._run(self.store._queries.identities, keys)  # type: ignore[no-any-return]  # noqa: SLF001

    def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        return self._run(self.store._queries.customers, ids)  # type: ignore[no-any-return]  # noqa: SLF001

    def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        return self._run(self.store._queries.clusters, ids)  # type: ignore[no-any-return]  # noqa: SLF001

    def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        return self._run(self.store._queries.splits, keys)  # type: ignore[no-any-return]  # noqa: SLF001

    def cluster_identities(self, cluster: str) -> list[IdKey]:
        return self._run(self.store._queries.cluster_identities, cluster)  # type: ignore[no-any-return]  # noqa: SLF001

    def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        return self._run(self.store._queries.cluster_customers, cluster)  # type: ignore[no-any-return]  # noqa: SLF001

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        return self._run(self.store._queries.customer_touchpoints, ids)  # type: ignore[no-any-return]  # noqa: SLF001

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        return self._run(self.store._queries.aliases, targets)  # type: ignore[no-any-return]  # noqa: SLF001

    def suppression_kinds(self) -> set[str]:
        return self._run(self.store._queries.suppression_kinds)  # type: ignore[no-any-return]  # noqa: SLF001

    def suppressed(self, digests: Collection[str]) -> set[str]:
        return self._run(self.store._queries.suppressed, digests)  # type: ignore[no-any-return]  # noqa: SLF001

    def apply(self, changes: Changes) -> None:
        self._run(self.store._queries.apply, changes)  # noqa: SLF001
