"""
Every query the SQLite and PostgreSQL stores share, written once as `Statements` (see `_drive`).

Each method returns a generator that yields its statements and receives their rows, so a sync
cursor (`_drive.run`) and an async one (`_drive.arun`) run the same queries. Written with `?`
placeholders and `{json}` for a JSON parameter; a `Dialect` turns each into its database's
spelling once, when the queries are built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
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
from omnikit.stores._drive import EXECUTE, EXECUTE_MANY, FETCH_ALL, FETCH_ONE, Statements
from omnikit.stores._schema import SUPPRESSION_KINDS, Dialect

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
    """Every read and write in one dialect, each `Statements` any cursor can run (`_drive`)."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self._plain_dump = type(dialect).dump is Dialect.dump  # then `touchpoint_text` applies
        self._prepare_reads(dialect.sql)
        self._prepare_writes(dialect.sql)
        self._prepare_erasures(dialect.sql)

    def _prepare_reads(self, q: Callable[[str], str]) -> None:
        """The statements of the reads, in the dialect (`{in}` is filled in per call)."""
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
        exists = "EXISTS (SELECT 1 FROM omnikit_suppressions WHERE kind = '{}')"
        self.q_kinds = "SELECT " + ", ".join(map(exists.format, SUPPRESSION_KINDS))
        self.q_suppressed = q("SELECT digest FROM omnikit_suppressions WHERE digest IN ({in})")
        self.q_aliases = q("SELECT source, target FROM omnikit_aliases WHERE target IN ({in})")
        self.q_identities_of_kind = q(
            "SELECT value, owner, cluster, verified FROM omnikit_identities "
            "WHERE kind = ? AND value IN ({in})"
        )
        self.q_merges_of = q(
            "SELECT data, root, cluster FROM omnikit_merges WHERE root = ? ORDER BY at_us, id"
        )
        self.q_merge = q("SELECT data, root, cluster FROM omnikit_merges WHERE id = ?")
        self.q_customer_page = q(
            "SELECT id, cluster, first_us, first_message_id, members, profile "
            "FROM omnikit_customers WHERE id > ? ORDER BY id LIMIT ?"
        )
        self.q_touchpoint = q(
            "SELECT data, customer_id FROM omnikit_touchpoints WHERE message_id = ?"
        )

    def _prepare_writes(self, q: Callable[[str], str]) -> None:
        """The statements `apply` writes with, in the dialect."""
        self.u_relabel_ids = q("UPDATE omnikit_identities SET cluster = ? WHERE cluster = ?")
        self.u_relabel_customers = q("UPDATE omnikit_customers SET cluster = ? WHERE cluster = ?")
        self.u_relabel_merges = q("UPDATE omnikit_merges SET cluster = ? WHERE cluster = ?")
        self.u_reassign_tps = q(
            "UPDATE omnikit_touchpoints SET customer_id = ? WHERE customer_id = ?"
        )
        self.u_reassign_merges = q("UPDATE omnikit_merges SET root = ? WHERE root = ?")
        self.u_reassign_aliases = q("UPDATE omnikit_aliases SET target = ? WHERE target = ?")
        self.u_reassign_deliveries = q(
            "UPDATE omnikit_deliveries SET customer_id = ? WHERE customer_id = ?"
        )
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
        self.i_suppression = q(
            "INSERT INTO omnikit_suppressions (digest, kind, at_us) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING"
        )
        self.d_suppression = q("DELETE FROM omnikit_suppressions WHERE digest = ?")

    def _prepare_erasures(self, q: Callable[[str], str]) -> None:
        """Erasures: what erasing a customer deletes; and an identity row, with its splits."""
        by_customer = (
            "touchpoints customer_id",
            "customers id",
            "merges root",
            "aliases target",
            "deliveries customer_id",  # they hold the address and what was sent
        )
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

    def seen(self, message_ids: Collection[str]) -> Statements[set[str]]:
        found: set[str] = set()
        for chunk in _chunks(list(message_ids)):
            rows = yield FETCH_ALL, self._in(self.q_seen, len(chunk)), chunk
            found.update(row[0] for row in rows)
        return found

    def identities(self, keys: Collection[IdKey]) -> Statements[dict[IdKey, IdentityRow]]:
        found: dict[IdKey, IdentityRow] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, value in keys:
            by_kind.setdefault(kind, []).append(value)
        for kind, values in by_kind.items():
            for chunk in _chunks(values):
                sql = self._in(self.q_identities_of_kind, len(chunk))
                rows = yield FETCH_ALL, sql, [kind, *chunk]
                for value, owner, cluster, verified in rows:
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

    def customers(self, ids: Collection[str]) -> Statements[dict[str, CustomerRecord]]:
        found: dict[str, CustomerRecord] = {}
        for chunk in _chunks(sorted(ids)):
            rows = yield FETCH_ALL, self._in(self.q_customer_by_id, len(chunk)), chunk
            for row in rows:
                record = self._record(row)
                found[record.id] = record
        return found

    def clusters(self, ids: Collection[str]) -> Statements[dict[str, ClusterRow]]:
        found: dict[str, ClusterRow] = {}
        for chunk in _chunks(sorted(ids)):
            rows = yield FETCH_ALL, self._in(self.q_clusters, len(chunk)), chunk
            for cid, max_us, max_mid, size in rows:
                found[cid] = ClusterRow(id=cid, max=(max_us, max_mid), size=size)
        return found

    def splits(self, keys: Collection[IdKey]) -> Statements[list[SplitRow]]:
        any_split = yield FETCH_ONE, "SELECT 1 FROM omnikit_splits LIMIT 1", ()
        if any_split is None:  # unmerges are rare: most stores have no split to look for
            return []
        found: set[SplitRow] = set()
        flat = sorted(keys)
        for chunk in _chunks(flat):
            pairs = ", ".join([f"({self.d.placeholder}, {self.d.placeholder})"] * len(chunk))
            params = [part for key in chunk for part in key]
            for side in ("a", "b"):
                sql = (
                    "SELECT a_kind, a_value, b_kind, b_value, merge_id, at_us FROM omnikit_splits "
                    f"WHERE ({side}_kind, {side}_value) IN (VALUES {pairs})"
                )
                rows = yield FETCH_ALL, sql, params
                for ak, av, bk, bv, merge_id, at_us in rows:
                    found.add(SplitRow(a=(ak, av), b=(bk, bv), merge_id=merge_id, at_us=at_us))
        return sorted(found, key=lambda s: (s.at_us, s.merge_id, s.a, s.b))

    def suppression_kinds(self) -> Statements[set[str]]:
        held = yield FETCH_ONE, self.q_kinds, ()
        return {kind for kind, is_held in zip(SUPPRESSION_KINDS, held, strict=True) if is_held}

    def suppressed(self, digests: Collection[str]) -> Statements[set[str]]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(digests))):
            rows = yield FETCH_ALL, self._in(self.q_suppressed, len(chunk)), chunk
            found.update(row[0] for row in rows)
        return found

    def aliases(self, targets: Collection[str]) -> Statements[dict[str, str]]:
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(targets)):
            rows = yield FETCH_ALL, self._in(self.q_aliases, len(chunk)), chunk
            found.update((source, target) for source, target in rows)
        return found

    def cluster_identities(self, cluster: str) -> Statements[list[IdKey]]:
        rows = yield FETCH_ALL, self.q_cluster_keys, [cluster]
        return sorted((k, v) for k, v in rows)

    def cluster_customers(self, cluster: str) -> Statements[dict[str, CustomerRecord]]:
        rows = yield FETCH_ALL, self.q_customers_in_cluster, [cluster]
        return {record.id: record for record in map(self._record, rows)}

    def customer_touchpoints(self, ids: Collection[str]) -> Statements[list[Touchpoint]]:
        found: list[Touchpoint] = []
        for chunk in _chunks(sorted(ids)):
            rows = yield FETCH_ALL, self._in(self.q_tp_of, len(chunk)), chunk
            found.extend(touchpoint_from(self.d.load(data), cid) for data, cid in rows)
        return found

    def resolve(self, customer_id: str) -> Statements[str]:
        for _ in range(_MAX_ALIAS_HOPS):
            row = yield FETCH_ONE, self.q_alias, [customer_id]
            if row is None:
                return customer_id
            customer_id = row[0]
        return customer_id

    def customer(self, customer_id: str) -> Statements[CustomerRecord | None]:
        cid = yield from self.resolve(customer_id)
        found = yield from self.customers([cid])
        return found.get(cid)

    def find(self, key: IdKey) -> Statements[CustomerRecord | None]:
        row = yield FETCH_ONE, self.q_identity, key
        if row is None or row[0] is None:
            return None
        found = yield from self.customers([row[0]])
        return found.get(row[0])

    def has_identity_kind(self, kind: str) -> Statements[bool]:
        # the primary key (kind, value) makes it a probe
        row = yield FETCH_ONE, self.q_kind, [kind]
        return row is not None

    def merges(self, customer_id: str) -> Statements[list[MergeRow]]:
        cid = yield from self.resolve(customer_id)
        rows = yield FETCH_ALL, self.q_merges_of, [cid]
        return [merge_from(self.d.load(data), root, cluster) for data, root, cluster in rows]

    def merge(self, merge_id: str) -> Statements[MergeRow | None]:
        row = yield FETCH_ONE, self.q_merge, [merge_id]
        return None if row is None else merge_from(self.d.load(row[0]), row[1], row[2])

    def customer_page(self, after: str, limit: int) -> Statements[list[CustomerRecord]]:
        rows = yield FETCH_ALL, self.q_customer_page, [after, limit]
        return [self._record(row) for row in rows]

    def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Statements[list[Touchpoint]]:
        cid = yield from self.resolve(customer_id)
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
        rows = yield FETCH_ALL, self.d.sql(sql), params
        return [touchpoint_from(self.d.load(data), cid) for (data,) in rows]

    def touchpoint(self, message_id: str) -> Statements[Touchpoint | None]:
        row = yield FETCH_ONE, self.q_touchpoint, [message_id]
        return None if row is None else touchpoint_from(self.d.load(row[0]), row[1])

    def touchpoint_counts(self) -> Statements[dict[str, int]]:
        rows = yield (
            FETCH_ALL,
            "SELECT channel, COUNT(*) FROM omnikit_touchpoints GROUP BY channel",
            (),
        )
        return {channel: int(n) for channel, n in rows}

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

    def apply(self, changes: Changes) -> Statements[None]:
        # The large parameter lists are generators of tuples: each row is built as the driver
        # binds it and dropped right after, instead of a transaction's worth living at once.
        for old, new in changes.relabel.items():
            for sql in (self.u_relabel_ids, self.u_relabel_customers, self.u_relabel_merges):
                yield EXECUTE, sql, [new, old]
        for old, new in changes.reassign.items():
            for sql in (
                self.u_reassign_tps,
                self.u_reassign_merges,
                self.u_reassign_aliases,
                self.u_reassign_deliveries,
            ):
                yield EXECUTE, sql, [new, old]
        yield from self._deletions(changes)
        yield from self._upserts(changes)
        if changes.merges:
            yield (
                EXECUTE_MANY,
                self.i_merge,
                [
                    [m.record.id, m.root, m.cluster, to_us(m.record.at), self.d.dump(merge_json(m))]
                    for m in changes.merges
                ],
            )
        if changes.splits:
            yield (
                EXECUTE_MANY,
                self.i_split,
                [[*s.a, *s.b, s.merge_id, s.at_us] for s in changes.splits],
            )
        if changes.unsuppressed:
            yield EXECUTE_MANY, self.d_suppression, [[d] for d in sorted(changes.unsuppressed)]
        if changes.suppressions:
            rows = [[r.digest, r.kind, r.at_us] for r in changes.suppressions]
            yield EXECUTE_MANY, self.i_suppression, rows

    def _deletions(self, changes: Changes) -> Statements[None]:
        """Erasures and deletions, the part of `apply` between reassigning and upserting."""
        if changes.erased_customers:
            for sql in self.d_erased_customer:
                yield EXECUTE_MANY, sql, [[c] for c in sorted(changes.erased_customers)]
        if changes.erased_identities:
            for sql in self.d_erased_identity:
                yield EXECUTE_MANY, sql, sorted(changes.erased_identities)
        if changes.deleted_customers:
            yield EXECUTE_MANY, self.d_customer, [[c] for c in sorted(changes.deleted_customers)]
        if changes.deleted_clusters:
            yield EXECUTE_MANY, self.d_cluster, [[c] for c in sorted(changes.deleted_clusters)]
        for cluster in sorted(changes.deleted_merge_clusters):
            yield EXECUTE, self.d_merges_cluster, [cluster]
        if changes.unaliased:
            yield EXECUTE_MANY, self.d_alias, [[c] for c in sorted(changes.unaliased)]

    def _upserts(self, changes: Changes) -> Statements[None]:
        """Customers, identities, clusters, old ids and touchpoints, written or moved."""
        if changes.customers:
            rows = (self.customer_params(r) for _, r in sorted(changes.customers.items()))
            yield EXECUTE_MANY, self.i_customer, rows
        if changes.identities:
            ids = sorted(changes.identities.items())
            rows = ((k, v, row.owner, row.cluster, int(row.verified)) for (k, v), row in ids)
            yield EXECUTE_MANY, self.i_identity, rows
        if changes.clusters:
            clusters = sorted(changes.clusters.items())
            rows = ((c.id, c.max[0], c.max[1], c.size) for _, c in clusters)
            yield EXECUTE_MANY, self.i_cluster, rows
        if changes.aliases:
            yield EXECUTE_MANY, self.i_alias, sorted([s, t] for s, t in changes.aliases.items())
        if changes.new_touchpoints:
            new = changes.new_touchpoints
            rows = (self.touchpoint_params(tp, owner) for tp, owner in new)
            yield EXECUTE_MANY, self.i_touchpoint, rows
        if changes.touchpoint_owners:
            owners = sorted([owner, mid] for mid, owner in changes.touchpoint_owners.items())
            yield EXECUTE_MANY, self.u_owner, owners
        if changes.rewritten:
            rewritten = [(self.touchpoint_data(tp), tp.message_id) for tp in changes.rewritten]
            yield EXECUTE_MANY, self.u_touchpoint, rewritten
