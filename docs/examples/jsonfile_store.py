"""
A complete omnikit store that keeps everything in one JSON file.

The example of "Write a store on your own database": every method of `omnikit.stores.Store`,
over tables of JSON values. Each table is a dict from a string key to a JSON value; a
transaction works on copies of the tables and, when it succeeds, puts them in place and
writes the file anew (to a temporary file, then renamed over the old one).

It suits one process holding a few thousand customers; on your database, each table below
is a table (or a collection) and `transaction()` its BEGIN, COMMIT and ROLLBACK.

    omnikit.stores.register("jsonfile", JSONFileStore)
    hub = omnikit.Hub.open("jsonfile:///var/lib/shop/omnikit.json")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from omnikit import LinkRecord, MergeRecord, Touchpoint
from omnikit.converters import make_converter
from omnikit.errors import StoreUnavailableError, ValidationError
from omnikit.stores import records

# --8<-- [start:tables]
TABLES = (
    "touchpoints",  # message id -> {"customer", "us", "channel", "data": the touchpoint}
    "identities",  # "kind:value" -> [owner or None, cluster, verified]
    "customers",  # customer id -> {"cluster", "first", "members", "profile"}
    "clusters",  # cluster id -> [latest event's microseconds, its message id, size]
    "aliases",  # id of a merged profile -> the customer it leads to
    "merges",  # merge or link id -> {"root", "cluster", "record", "anchors"}
    "splits",  # JSON of [a, b] -> [a, b, merge id, microseconds]
    "suppressions",  # digest -> [kind, microseconds]
    "meta",  # "secret" -> the store's own key, in hex
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_ALIAS_HOPS = 64
CONVERTER = make_converter()

Tables = dict[str, dict[str, Any]]


def micros(moment: dt.datetime) -> int:
    """*moment* in microseconds since the epoch (exact, unlike `timestamp()`)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def key_text(key: records.IdKey) -> str:
    """An identity key as a table key (kinds are lower-case names without ':')."""
    return f"{key[0]}:{key[1]}"


def key_of(text: str) -> records.IdKey:
    kind, _, value = text.partition(":")
    return (kind, value)


# --8<-- [end:tables]
# --8<-- [start:rows]
def customer_json(record: records.CustomerRecord) -> dict[str, Any]:
    """A customer row as JSON: new lists and dicts, so the hub's row is never kept."""
    return {
        "cluster": record.cluster,
        "first": list(record.first),
        "members": sorted([*key, key in record.verified] for key in record.members),
        "profile": json.loads(json.dumps(record.profile.to_json())),
    }


def customer_row(cid: str, data: dict[str, Any]) -> records.CustomerRecord:
    """A new customer row from its JSON: the caller may change it freely."""
    members = {(kind, value): verified for kind, value, verified in data["members"]}
    return records.CustomerRecord(
        id=cid,
        cluster=data["cluster"],
        first=(data["first"][0], data["first"][1]),
        members=set(members),
        profile=records.ProfileState.from_json(data["profile"]),
        verified={key for key, verified in members.items() if verified},
    )


def merge_json(row: records.MergeRow) -> dict[str, Any]:
    return {
        "root": row.root,
        "cluster": row.cluster,
        "type": "link" if isinstance(row.record, LinkRecord) else "merge",
        "record": CONVERTER.unstructure(row.record),
        "anchors": [[list(a), list(b)] for a, b in row.anchors],
    }


def merge_row(data: dict[str, Any]) -> records.MergeRow:
    record: MergeRecord | LinkRecord = (
        CONVERTER.structure(data["record"], LinkRecord)
        if data["type"] == "link"
        else CONVERTER.structure(data["record"], MergeRecord)
    )
    return records.MergeRow(
        record=record,
        root=data["root"],
        cluster=data["cluster"],
        anchors=tuple(((a[0], a[1]), (b[0], b[1])) for a, b in data["anchors"]),
    )


def touchpoint_json(tp: Touchpoint, owner: str) -> dict[str, Any]:
    data = json.loads(json.dumps(CONVERTER.unstructure(attrs.evolve(tp, customer_id=None))))
    return {"customer": owner, "us": micros(tp.occurred_at), "channel": tp.channel, "data": data}


def touchpoint_of(row: dict[str, Any], owner: str | None = None) -> Touchpoint:
    tp = CONVERTER.structure(row["data"], Touchpoint)
    return attrs.evolve(tp, customer_id=owner or row["customer"])


# --8<-- [end:rows]
# --8<-- [start:store]
class JSONFileStore:
    """
    Keeps omnikit's data in one JSON file, for one process.

    Args:
        path: The file; created when the store first opens, if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.url = f"jsonfile:///{self.path}"
        if not self.path.parent.is_dir():
            raise StoreUnavailableError(f"jsonfile: no directory {str(self.path.parent)!r}")
        self._lock = threading.RLock()  # one transaction at a time; reads wait for it
        self._tables: Tables = {name: {} for name in TABLES}
        if self.path.exists():
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            self._tables.update({name: saved.get(name, {}) for name in TABLES})
        if "secret" not in self._tables["meta"]:
            with self.transaction() as tx:
                tx.tables["meta"]["secret"] = secrets.token_hex(32)

    @classmethod
    def from_url(cls, url: str) -> JSONFileStore:
        """Open `jsonfile:///relative/path.json` or `jsonfile:////absolute/path.json`."""
        path = url.partition("://")[2].partition("?")[0]
        if not path.startswith("/") or len(path) < 2:
            raise ValidationError(f"url: not a jsonfile URL: {url!r}")
        return cls(path[1:])

    # --8<-- [end:store]
    # --8<-- [start:transaction]
    @contextmanager
    def transaction(self) -> Iterator[JSONFileTransaction]:
        """
        Begin a write transaction: all of it lands, or none of it.

        The transaction changes copies of the tables. Values are never changed in place,
        only replaced, so copying each table's dict is enough. If the block raises, the
        copies are dropped; if it returns, the file is written, then the copies become the
        tables.
        """
        with self._lock:
            tx = self.begin()
            yield tx
            self.commit(tx)

    def begin(self) -> JSONFileTransaction:
        """A transaction over copies of the committed tables (the caller holds the turn)."""
        return JSONFileTransaction({name: dict(rows) for name, rows in self._tables.items()})

    def commit(self, tx: JSONFileTransaction) -> None:
        """Write *tx*'s tables to the file, then make them the tables."""
        self._save(tx.tables)
        self._tables = tx.tables

    def _save(self, tables: Tables) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(tables, separators=(",", ":")), encoding="utf-8")
            temporary.replace(self.path)
        except OSError as exc:
            raise StoreUnavailableError(f"jsonfile {str(self.path)!r}: {exc}") from exc

    # --8<-- [end:transaction]
    # --8<-- [start:reads]
    def _read(self) -> JSONFileTransaction:
        """The committed tables, read through a transaction's methods (never written)."""
        return JSONFileTransaction(self._tables)

    def _resolve(self, customer_id: str) -> str:
        return self._read().resolve(customer_id)

    def customer(self, customer_id: str) -> records.CustomerRecord | None:
        with self._lock:
            cid = self._resolve(customer_id)
            return self._read().customers([cid]).get(cid)

    def find(self, key: records.IdKey) -> records.CustomerRecord | None:
        with self._lock:
            row = self._tables["identities"].get(key_text(key))
            if row is None or row[0] is None:
                return None
            return self._read().customers([row[0]]).get(row[0])

    def has_identity_kind(self, kind: str) -> bool:
        with self._lock:
            return any(key_of(text)[0] == kind for text in self._tables["identities"])

    def merges(self, customer_id: str) -> list[records.MergeRow]:
        with self._lock:
            return self._read().merges(customer_id)

    def merge(self, merge_id: str) -> records.MergeRow | None:
        with self._lock:
            data = self._tables["merges"].get(merge_id)
        return None if data is None else merge_row(data)

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[records.CustomerRecord]:
        with self._lock:
            ids = sorted(self._tables["customers"])
        for start in range(0, len(ids), batch_size):
            with self._lock:
                page = self._read().customers(ids[start : start + batch_size])
            yield from (page[cid] for cid in sorted(page))

    def touchpoints(
        self,
        customer_id: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Touchpoint]:
        low = None if since is None else micros(since)
        high = None if until is None else micros(until)
        with self._lock:
            cid = self._resolve(customer_id)
            rows = [
                (row["us"], mid, row)
                for mid, row in self._tables["touchpoints"].items()
                if row["customer"] == cid
                and (low is None or row["us"] >= low)
                and (high is None or row["us"] < high)
            ]
        rows.sort(key=lambda r: (r[0], r[1]), reverse=newest_first)
        return [touchpoint_of(row, cid) for _, _, row in rows[:limit]]

    def touchpoint(self, message_id: str) -> Touchpoint | None:
        with self._lock:
            row = self._tables["touchpoints"].get(message_id)
        return None if row is None else touchpoint_of(row)

    def touchpoint_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for row in self._tables["touchpoints"].values():
                counts[row["channel"]] = counts.get(row["channel"], 0) + 1
        return counts

    def secret(self) -> bytes:
        return bytes.fromhex(self._tables["meta"]["secret"])

    def scrub(self) -> bool:
        """Each commit writes the whole file anew: nothing deleted is left in it."""
        return True

    def close(self) -> None:
        """Nothing to release: every commit is already in the file."""


# --8<-- [end:reads]
# --8<-- [start:tx-reads]
class JSONFileTransaction:
    """`IngestTransaction` over a transaction's tables: it reads its own writes."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def seen(self, message_ids: Collection[str]) -> set[str]:
        return {mid for mid in message_ids if mid in self.tables["touchpoints"]}

    def identities(
        self, keys: Collection[records.IdKey]
    ) -> dict[records.IdKey, records.IdentityRow]:
        table, found = self.tables["identities"], {}
        for key in keys:
            row = table.get(key_text(key))
            if row is not None:
                found[key] = records.IdentityRow(owner=row[0], cluster=row[1], verified=row[2])
        return found

    def customers(self, ids: Collection[str]) -> dict[str, records.CustomerRecord]:
        table = self.tables["customers"]
        return {cid: customer_row(cid, table[cid]) for cid in ids if cid in table}

    def clusters(self, ids: Collection[str]) -> dict[str, records.ClusterRow]:
        table = self.tables["clusters"]
        return {
            c: records.ClusterRow(id=c, max=(table[c][0], table[c][1]), size=table[c][2])
            for c in ids
            if c in table
        }

    def splits(self, keys: Collection[records.IdKey]) -> list[records.SplitRow]:
        named = {tuple(key) for key in keys}
        found = [
            records.SplitRow(a=(a[0], a[1]), b=(b[0], b[1]), merge_id=merge_id, at_us=at_us)
            for a, b, merge_id, at_us in self.tables["splits"].values()
            if tuple(a) in named or tuple(b) in named
        ]
        return sorted(found, key=lambda s: (s.at_us, s.merge_id, s.a, s.b))

    def cluster_identities(self, cluster: str) -> list[records.IdKey]:
        table = self.tables["identities"]
        return sorted(key_of(text) for text, row in table.items() if row[1] == cluster)

    def cluster_customers(self, cluster: str) -> dict[str, records.CustomerRecord]:
        table = self.tables["customers"]
        return self.customers([cid for cid, data in table.items() if data["cluster"] == cluster])

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        wanted = set(ids)
        return [
            touchpoint_of(row)
            for row in self.tables["touchpoints"].values()
            if row["customer"] in wanted
        ]

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        wanted = set(targets)
        return {s: t for s, t in self.tables["aliases"].items() if t in wanted}

    def resolve(self, customer_id: str) -> str:
        """The customer an id leads to: itself, or the survivor of the merges it went into."""
        aliases = self.tables["aliases"]
        for _ in range(MAX_ALIAS_HOPS):
            if customer_id not in aliases:
                break
            customer_id = aliases[customer_id]
        return customer_id

    def merges(self, customer_id: str) -> list[records.MergeRow]:
        root = self.resolve(customer_id)
        rows = [merge_row(m) for m in self.tables["merges"].values() if m["root"] == root]
        return sorted(rows, key=lambda m: (m.record.at, m.record.id))

    def suppression_kinds(self) -> set[str]:
        return {kind for kind, _ in self.tables["suppressions"].values()}

    def suppressed(self, digests: Collection[str]) -> set[str]:
        return {d for d in digests if d in self.tables["suppressions"]}

    # --8<-- [end:tx-reads]
    # --8<-- [start:apply]
    def apply(self, changes: records.Changes) -> None:
        """Write *changes*, part by part, in the order `Changes` gives."""
        self._move(changes)
        self._erase(changes)
        self._delete(changes)
        self._upsert(changes)
        self._insert(changes)
        self._suppress(changes)

    def _set_where(self, table: str, field: str, old: str, new: str) -> None:
        """In *table*, give every row whose *field* is *old* the value *new* (as a new row)."""
        rows = self.tables[table]
        for key, row in list(rows.items()):
            if row[field] == old:
                rows[key] = {**row, field: new}

    def _move(self, changes: records.Changes) -> None:
        """Relabel clusters, then reassign customers: rows move, none is lost."""
        identities = self.tables["identities"]
        for old, new in changes.relabel.items():
            for text, row in list(identities.items()):
                if row[1] == old:
                    identities[text] = [row[0], new, row[2]]
            self._set_where("customers", "cluster", old, new)
            self._set_where("merges", "cluster", old, new)
        for old, new in changes.reassign.items():
            self._set_where("touchpoints", "customer", old, new)
            self._set_where("merges", "root", old, new)
            aliases = self.tables["aliases"]
            aliases.update({s: new for s, t in aliases.items() if t == old})

    def _erase(self, changes: records.Changes) -> None:
        """Erase customers with all they own, and identities with the splits naming them."""
        t = self.tables
        gone = changes.erased_customers
        if gone:
            t["touchpoints"] = {
                m: r for m, r in t["touchpoints"].items() if r["customer"] not in gone
            }
            t["merges"] = {m: r for m, r in t["merges"].items() if r["root"] not in gone}
            t["aliases"] = {s: c for s, c in t["aliases"].items() if c not in gone}
            for cid in gone:
                t["customers"].pop(cid, None)
        for key in changes.erased_identities:
            t["identities"].pop(key_text(key), None)
            named = [list(key)]
            t["splits"] = {
                k: s for k, s in t["splits"].items() if s[0] not in named and s[1] not in named
            }

    def _delete(self, changes: records.Changes) -> None:
        t = self.tables
        for cid in changes.deleted_customers:
            t["customers"].pop(cid, None)
        for cluster in changes.deleted_clusters:
            t["clusters"].pop(cluster, None)
        if changes.deleted_merge_clusters:
            dropped = changes.deleted_merge_clusters
            t["merges"] = {m: r for m, r in t["merges"].items() if r["cluster"] not in dropped}
        for source in changes.unaliased:
            t["aliases"].pop(source, None)

    def _upsert(self, changes: records.Changes) -> None:
        t = self.tables
        for cid, record in changes.customers.items():
            t["customers"][cid] = customer_json(record)
        for key, row in changes.identities.items():
            t["identities"][key_text(key)] = [row.owner, row.cluster, row.verified]
        for cluster_id, cluster in changes.clusters.items():
            t["clusters"][cluster_id] = [cluster.max[0], cluster.max[1], cluster.size]
        t["aliases"].update(changes.aliases)

    def _insert(self, changes: records.Changes) -> None:
        t = self.tables
        for tp, owner in changes.new_touchpoints:
            t["touchpoints"][tp.message_id] = touchpoint_json(tp, owner)
        for mid, owner in changes.touchpoint_owners.items():
            t["touchpoints"][mid] = {**t["touchpoints"][mid], "customer": owner}
        for tp in changes.rewritten:
            owner = t["touchpoints"][tp.message_id]["customer"]
            t["touchpoints"][tp.message_id] = touchpoint_json(tp, owner)
        for merge in changes.merges:
            t["merges"][merge.record.id] = merge_json(merge)
        for split in changes.splits:
            key = json.dumps([list(split.a), list(split.b)])
            t["splits"].setdefault(key, [list(split.a), list(split.b), split.merge_id, split.at_us])

    def _suppress(self, changes: records.Changes) -> None:
        table = self.tables["suppressions"]
        for digest in changes.unsuppressed:
            table.pop(digest, None)
        for row in changes.suppressions:
            table.setdefault(row.digest, [row.kind, row.at_us])


# --8<-- [end:apply]
