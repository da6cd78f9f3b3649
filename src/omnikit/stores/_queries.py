"""
Every query the SQLite and PostgreSQL stores share, written once over a `Cursor`.

Written with `?` placeholders and `{json}` for a JSON parameter; a `Dialect` turns each into
its database's spelling once, when the queries are built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

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
from omnikit.stores._codec import touchpoint_from, touchpoint_json, touchpoint_text
from omnikit.stores._schema import SUPPRESSION_KINDS, Cursor, Dialect

__all__ = ["SQLQueries", "merge_from", "merge_json"]

_CHUNK = 500
_MAX_ALIAS_HOPS = 64


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
            self.touchpoint_data(tp),
        )

    def touchpoint_data(self, tp: Touchpoint) -> Any:
        """The touchpoint as its JSON column stores it."""
        return touchpoint_text(tp) if self._plain_dump else self.d.dump(touchpoint_json(tp))

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
                [(self.touchpoint_data(tp), tp.message_id) for tp in changes.rewritten],
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
