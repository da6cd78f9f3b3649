"""The in-memory store: for tests, notebooks and short-lived processes."""

from __future__ import annotations

import bisect
import secrets
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from omnikit._engines.profile import to_us
from omnikit._engines.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    IdentityRow,
    IdKey,
    MergeRow,
    SplitRow,
    SuppressionRow,
)
from omnikit._models.customers import LinkRecord
from omnikit._models.identities import Identity
from omnikit._models.touchpoints import Trust
from omnikit.stores._memory_outbox import (
    MemoryOutbox,
    MemoryOutboxTransaction,
    erase_deliveries,
    reassign_deliveries,
)

if TYPE_CHECKING:
    import datetime as dt

    from omnikit._models.outbound import Delivery
    from omnikit._models.touchpoints import Touchpoint

__all__ = ["MemoryStore"]

_MISSING: Any = object()

_Link = tuple[str, str, str, str, str, str, "dt.datetime", str, str]
"""A link of the audit trail, as kept: its fields, its identity's and its row's, in order."""


def _packed(row: MergeRow) -> MergeRow | _Link:
    """
    *row* as kept: a link (one per identifier that joins someone) as a tuple of its values.

    The garbage collector stops tracking such a tuple, where it tracks the row, its record
    and the record's identity for as long as the store lives.
    """
    record = row.record
    if type(record) is not LinkRecord or row.anchors:
        return row
    identity = record.identity
    return (
        record.id,
        record.customer_id,
        identity.kind,
        identity.value,
        record.message_id,
        record.trust.value,
        record.at,
        row.root,
        row.cluster,
    )


def _unpacked(kept: MergeRow | _Link) -> MergeRow:
    """The row *kept* stands for."""
    if isinstance(kept, MergeRow):
        return kept
    link_id, customer_id, kind, value, message_id, trust, at, root, cluster = kept
    record = LinkRecord(
        id=link_id,
        customer_id=customer_id,
        identity=Identity.from_normalized(kind, value),
        message_id=message_id,
        trust=Trust(trust),
        at=at,
    )
    return MergeRow(record=record, root=root, cluster=cluster, anchors=())


Members = dict[Any, None]
"""A set of members, kept as a dict's keys: the garbage collector stops tracking a dict of
strings (or of tuples of them), never a set, and a store keeps several per customer."""


class _Journal:
    """
    Undo log: what a transaction wrote was there before, so a failed transaction leaves none.

    Each table remembers the value each key had before its first write, and each set of
    members whether each member was in it: restoring those restores everything, in any order. Unlike a list of
    undo records this allocates nothing per write, and ingestion writes several rows per event;
    thousands of records living as long as a transaction would reach the garbage collector's
    oldest generation and make its full collections (over the whole store) more frequent.
    """

    __slots__ = ("members", "tables")

    def __init__(self) -> None:
        # id(table) -> (table, {key: its value before the transaction, or _MISSING})
        self.tables: dict[int, tuple[dict[Any, Any], dict[Any, Any]]] = {}
        # id(members) -> (members, {member: whether it was in them before the transaction})
        self.members: dict[int, tuple[Members, dict[Any, bool]]] = {}

    def saved(self, table: dict[Any, Any]) -> dict[Any, Any]:
        """The first values of the keys of *table* written so far."""
        entry = self.tables.get(id(table))
        if entry is None:
            entry = self.tables[id(table)] = (table, {})
        return entry[1]

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        saved = self.saved(table)
        if key not in saved:
            saved[key] = table.get(key, _MISSING)
        table[key] = value

    def remove(self, table: dict[Any, Any], key: Any) -> Any:
        old = table.pop(key, _MISSING)
        if old is _MISSING:
            return None
        saved = self.saved(table)
        if key not in saved:
            saved[key] = old
        return old

    def _member(self, members: Members, member: Any) -> None:
        entry = self.members.get(id(members))
        if entry is None:
            entry = self.members[id(members)] = (members, {})
        if member not in entry[1]:
            entry[1][member] = member in members

    def add_member(self, table: dict[Any, Members], key: Any, member: Any) -> None:
        members = table.get(key)
        if members is None:
            # Members this transaction creates: undoing their creation undoes what they hold.
            saved = self.saved(table)
            if key not in saved:
                saved[key] = _MISSING
            table[key] = {member: None}
        elif member not in members:
            self._member(members, member)
            members[member] = None

    def discard_member(self, table: dict[Any, Members], key: Any, member: Any) -> None:
        members = table.get(key)
        if members is not None and member in members:
            self._member(members, member)
            del members[member]

    def rollback(self) -> None:
        for members, was in self.members.values():
            for member, present in was.items():
                if present:
                    members[member] = None
                else:
                    members.pop(member, None)
        for table, saved in self.tables.values():
            for key, value in saved.items():
                if value is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = value
        self.members.clear()
        self.tables.clear()


class MemoryStore:
    """
    Keeps everything in dictionaries of this process; gone when the process ends.

    Thread-safe: one writer at a time, and readers never see half a transaction.

    Added in version 0.1.0.
    """

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Touchpoints are kept without their customer, which lives in `_owner` (so a merge
        # moves ids, not objects).
        self._touchpoints: dict[str, Touchpoint] = {}
        self._owner: dict[str, str] = {}
        self._by_customer: dict[str, dict[str, None]] = {}
        # Identity rows as (owner, cluster) tuples: the garbage collector stops tracking a tuple
        # of strings, and a store keeps one row per identifier ever seen.
        self._identities: dict[IdKey, tuple[str | None, str]] = {}
        self._verified: dict[IdKey, IdKey] = {}  # a set: identities a verified touchpoint carried
        self._cluster_keys: dict[str, dict[IdKey, None]] = {}
        self._customers: dict[str, CustomerRecord] = {}
        self._cluster_customers: dict[str, dict[str, None]] = {}
        self._clusters: dict[str, ClusterRow] = {}
        self._aliases: dict[str, str] = {}
        self._alias_sources: dict[str, dict[str, None]] = {}
        self._merges: dict[str, MergeRow | _Link] = {}  # rows `_packed`
        self._merges_by_root: dict[str, dict[str, None]] = {}
        self._merges_by_cluster: dict[str, dict[str, None]] = {}
        self._splits: dict[IdKey, dict[SplitRow, None]] = {}
        self._suppressions: dict[str, SuppressionRow] = {}
        self._suppression_kinds: dict[str, dict[str, None]] = {}
        self._secret = secrets.token_bytes(32)
        self._journal: _Journal | None = None
        self._outbox = MemoryOutbox()

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """
        Open `memory://`: a new, empty store each time (the rest of *url* is not read).

        Added in version 0.1.0.
        """
        del url  # nothing to read: every memory store starts empty
        return cls()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        """Begin a write transaction (see `IngestTransaction`)."""
        with self._lock:
            journal = self._journal = _Journal()
            try:
                yield _MemoryTransaction(self)
            except BaseException:
                journal.rollback()
                raise
            finally:
                self._journal = None

    # -- reads -------------------------------------------------------------------------------

    def _resolve(self, customer_id: str) -> str:
        seen = 0
        while customer_id in self._aliases and seen < 64:
            customer_id = self._aliases[customer_id]
            seen += 1
        return customer_id

    def customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer with that id, following merged ids to the survivor."""
        with self._lock:
            record = self._customers.get(self._resolve(customer_id))
            return None if record is None else record.copy()

    def find(self, key: IdKey) -> CustomerRecord | None:
        """The customer that owns the identity *key*."""
        with self._lock:
            row = self._identities.get(key)
            if row is None or row[0] is None:
                return None
            record = self._customers.get(row[0])
            return None if record is None else record.copy()

    def has_identity_kind(self, kind: str) -> bool:
        """Whether any identity of *kind* is stored (a scan: memory stores are small)."""
        with self._lock:
            return any(stored == kind for stored, _ in self._identities)

    def merges(self, customer_id: str) -> list[MergeRow]:
        """The merges that built that customer, oldest first."""
        with self._lock:
            ids = self._merges_by_root.get(self._resolve(customer_id), {})
            rows = [_unpacked(self._merges[m]) for m in ids]
            return sorted(rows, key=lambda m: (m.record.at, m.record.id))

    def merge(self, merge_id: str) -> MergeRow | None:
        """One merge of the audit trail."""
        with self._lock:
            kept = self._merges.get(merge_id)
            return None if kept is None else _unpacked(kept)

    def iter_customers(self, *, batch_size: int = 1000) -> Iterator[CustomerRecord]:
        """Every customer, in id order."""
        with self._lock:
            ids = sorted(self._customers)
        for start in range(0, len(ids), batch_size):
            with self._lock:
                chunk = [self._customers.get(cid) for cid in ids[start : start + batch_size]]
            yield from (record.copy() for record in chunk if record is not None)

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
        with self._lock:
            cid = self._resolve(customer_id)
            mids = self._by_customer.get(cid, {})
            found = sorted(
                (attrs.evolve(self._touchpoints[m], customer_id=cid) for m in mids),
                key=lambda tp: (to_us(tp.occurred_at), tp.message_id),
            )
        if since is not None or until is not None:
            keys = [to_us(tp.occurred_at) for tp in found]
            lo = 0 if since is None else bisect.bisect_left(keys, to_us(since))
            hi = len(found) if until is None else bisect.bisect_left(keys, to_us(until))
            found = found[lo:hi]
        if newest_first:
            found.reverse()
        return found if limit is None else found[:limit]

    def touchpoint(self, message_id: str) -> Touchpoint | None:
        """One touchpoint by message id."""
        with self._lock:
            tp = self._touchpoints.get(message_id)
            return None if tp is None else attrs.evolve(tp, customer_id=self._owner[message_id])

    def delivery(self, delivery_id: str) -> Delivery | None:
        """One delivery of the outbox by id (see `omnikit.stores.OutboxStore`)."""
        with self._lock:
            return self._outbox.delivery(delivery_id)

    def list_deliveries(
        self,
        *,
        statuses: Collection[str] | None = None,
        customer_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first (see `omnikit.stores.OutboxStore`)."""
        with self._lock:
            return self._outbox.listed(statuses, customer_id, limit)

    def touchpoint_counts(self) -> dict[str, int]:
        """How many touchpoints are stored per channel."""
        counts: dict[str, int] = {}
        with self._lock:
            for tp in self._touchpoints.values():
                counts[tp.channel] = counts.get(tp.channel, 0) + 1
        return counts

    def secret(self) -> bytes:
        """This store's own random key (see `CustomerStore.secret`)."""
        return self._secret

    def scrub(self) -> bool:
        """Nothing to overwrite: what is deleted from memory is gone (see `CustomerStore.scrub`)."""
        return True

    def close(self) -> None:
        """Nothing to release; the data stays until the store is garbage-collected."""

    # -- writes (inside a transaction) -------------------------------------------------------

    def _require_journal(self) -> _Journal:
        if self._journal is None:  # pragma: no cover - a programming error
            msg = "write outside a transaction"
            raise RuntimeError(msg)
        return self._journal

    def _drop_customer(self, cid: str) -> None:
        journal = self._require_journal()
        record = journal.remove(self._customers, cid)
        if record is not None and record.cluster is not None:
            self._discard(self._cluster_customers, record.cluster, cid)

    def _discard(self, table: dict[Any, Members], key: Any, member: Any) -> None:
        """Discard *member* from the set at *key*, and the key with its set once empty."""
        journal = self._require_journal()
        journal.discard_member(table, key, member)
        if not table.get(key, True):
            journal.remove(table, key)

    def _erase_customer(self, cid: str) -> None:
        """Erase a customer with their touchpoints, the merges rooted at them, their old ids."""
        journal = self._require_journal()
        self._drop_customer(cid)
        for mid in list(self._by_customer.get(cid, ())):
            journal.remove(self._touchpoints, mid)
            journal.remove(self._owner, mid)
        journal.remove(self._by_customer, cid)
        for merge_id in list(self._merges_by_root.get(cid, ())):
            self._drop_merge(merge_id)
        for source in list(self._alias_sources.get(cid, ())):
            journal.remove(self._aliases, source)
        journal.remove(self._alias_sources, cid)
        erase_deliveries(self, cid)

    def _erase_identity(self, key: IdKey) -> None:
        """Erase an identity row, and every split that names it."""
        journal = self._require_journal()
        row = journal.remove(self._identities, key)
        journal.remove(self._verified, key)
        if row is not None:
            self._discard(self._cluster_keys, row[1], key)
        for split in list(self._splits.get(key, ())):
            self._discard(self._splits, split.a, split)
            self._discard(self._splits, split.b, split)

    def _suppress(self, changes: Changes) -> None:
        journal = self._require_journal()
        for digest in changes.unsuppressed:
            row = journal.remove(self._suppressions, digest)
            if row is not None:
                self._discard(self._suppression_kinds, row.kind, digest)
        for row in changes.suppressions:
            if row.digest not in self._suppressions:
                journal.put(self._suppressions, row.digest, row)
                journal.add_member(self._suppression_kinds, row.kind, row.digest)

    def _drop_merge(self, merge_id: str) -> None:
        journal = self._require_journal()
        kept = journal.remove(self._merges, merge_id)
        merge = None if kept is None else _unpacked(kept)
        if merge is not None:
            self._discard(self._merges_by_root, merge.root, merge_id)
            self._discard(self._merges_by_cluster, merge.cluster, merge_id)

    def _put_merge(self, merge: MergeRow) -> None:
        journal = self._require_journal()
        self._drop_merge(merge.record.id)
        journal.put(self._merges, merge.record.id, _packed(merge))
        journal.add_member(self._merges_by_root, merge.root, merge.record.id)
        journal.add_member(self._merges_by_cluster, merge.cluster, merge.record.id)

    def _set_owner(self, mid: str, owner: str) -> None:
        journal = self._require_journal()
        old = self._owner.get(mid)
        if old is not None:
            journal.discard_member(self._by_customer, old, mid)
        journal.put(self._owner, mid, owner)
        journal.add_member(self._by_customer, owner, mid)

    def _apply(self, changes: Changes) -> None:
        """Write *changes*, in the order `IngestTransaction.apply` gives."""
        journal = self._require_journal()
        self._relabel(journal, changes.relabel)
        self._reassign(journal, changes.reassign)
        self._drop(journal, changes)
        self._put_customers(journal, changes.customers)
        self._put_identities(journal, changes.identities)
        for cluster_id, cluster_row in changes.clusters.items():
            journal.put(self._clusters, cluster_id, cluster_row)
        for source, target in changes.aliases.items():
            old_target = self._aliases.get(source)
            if old_target is not None:
                journal.discard_member(self._alias_sources, old_target, source)
            journal.put(self._aliases, source, target)
            journal.add_member(self._alias_sources, target, source)
        for tp, owner in changes.new_touchpoints:
            journal.put(self._touchpoints, tp.message_id, tp)
            journal.put(self._owner, tp.message_id, owner)
            journal.add_member(self._by_customer, owner, tp.message_id)
        for mid, owner in changes.touchpoint_owners.items():
            self._set_owner(mid, owner)
        for tp in changes.rewritten:
            journal.put(self._touchpoints, tp.message_id, tp)
        for merge in changes.merges:
            self._put_merge(merge)
        for split in changes.splits:
            journal.add_member(self._splits, split.a, split)
            journal.add_member(self._splits, split.b, split)
        if changes.unsuppressed or changes.suppressions:
            self._suppress(changes)

    def _relabel(self, journal: _Journal, relabel: Mapping[str, str]) -> None:
        """Move the identities, customers and merges of each old cluster to its new one."""
        for old, new in relabel.items():
            for key in list(self._cluster_keys.get(old, ())):
                journal.put(self._identities, key, (self._identities[key][0], new))
                journal.add_member(self._cluster_keys, new, key)
            journal.remove(self._cluster_keys, old)
            for cid in list(self._cluster_customers.get(old, ())):
                record = self._customers[cid].copy()
                record.cluster = new
                journal.put(self._customers, cid, record)
                journal.add_member(self._cluster_customers, new, cid)
            journal.remove(self._cluster_customers, old)
            for merge_id in list(self._merges_by_cluster.get(old, ())):
                self._put_merge(attrs.evolve(_unpacked(self._merges[merge_id]), cluster=new))

    def _reassign(self, journal: _Journal, reassign: Mapping[str, str]) -> None:
        """Give each old customer's touchpoints, deliveries, merges and aliases to its successor."""
        for old, new in reassign.items():
            for mid in list(self._by_customer.get(old, ())):
                self._set_owner(mid, new)
            reassign_deliveries(self, old, new)
            for merge_id in list(self._merges_by_root.get(old, ())):
                self._put_merge(attrs.evolve(_unpacked(self._merges[merge_id]), root=new))
            for source in list(self._alias_sources.get(old, ())):
                journal.put(self._aliases, source, new)
                journal.add_member(self._alias_sources, new, source)
            journal.remove(self._alias_sources, old)

    def _drop(self, journal: _Journal, changes: Changes) -> None:
        """Erase and delete what *changes* erases and deletes."""
        for cid in changes.erased_customers:
            self._erase_customer(cid)
        for key in changes.erased_identities:
            self._erase_identity(key)
        for cid in changes.deleted_customers:
            self._drop_customer(cid)
        for cluster in changes.deleted_clusters:
            journal.remove(self._clusters, cluster)
        for cluster in changes.deleted_merge_clusters:
            for merge_id in list(self._merges_by_cluster.get(cluster, ())):
                self._drop_merge(merge_id)
        for source in changes.unaliased:
            target = journal.remove(self._aliases, source)
            if target is not None:
                journal.discard_member(self._alias_sources, target, source)

    def _put_customers(self, journal: _Journal, customers: Mapping[str, CustomerRecord]) -> None:
        """Store *customers*, each in the index of its cluster."""
        for cid, record in customers.items():
            old_record = self._customers.get(cid)
            journal.put(self._customers, cid, record)  # the store owns what it is given
            if old_record is not None and old_record.cluster == record.cluster:
                continue  # most customers stay in their cluster
            if old_record is not None and old_record.cluster is not None:
                journal.discard_member(self._cluster_customers, old_record.cluster, cid)
            if record.cluster is not None:
                journal.add_member(self._cluster_customers, record.cluster, cid)

    def _put_identities(self, journal: _Journal, identities: Mapping[IdKey, IdentityRow]) -> None:
        """Store the identity rows *identities*, each in the index of its cluster."""
        for key, row in identities.items():
            old_row = self._identities.get(key)
            journal.put(self._identities, key, (row.owner, row.cluster))
            if row.verified:
                journal.put(self._verified, key, key)
            else:
                journal.remove(self._verified, key)
            if old_row is not None and old_row[1] == row.cluster:
                continue
            if old_row is not None:
                journal.discard_member(self._cluster_keys, old_row[1], key)
            journal.add_member(self._cluster_keys, row.cluster, key)


class _MemoryTransaction(MemoryOutboxTransaction):
    __slots__ = ()

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def seen(self, message_ids: Collection[str]) -> set[str]:
        touchpoints = self._store._touchpoints  # noqa: SLF001 - the transaction is the store's
        return {m for m in message_ids if m in touchpoints}

    def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]:
        table = self._store._identities  # noqa: SLF001
        verified = self._store._verified  # noqa: SLF001
        found: dict[IdKey, IdentityRow] = {}
        for key in keys:
            row = table.get(key)
            if row is not None:
                found[key] = IdentityRow(owner=row[0], cluster=row[1], verified=key in verified)
        return found

    def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]:
        table = self._store._customers  # noqa: SLF001
        return {cid: table[cid].copy() for cid in ids if cid in table}

    def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]:
        table = self._store._clusters  # noqa: SLF001
        return {
            c: ClusterRow(id=r.id, max=r.max, size=r.size)
            for c in ids
            if (r := table.get(c)) is not None
        }

    def splits(self, keys: Collection[IdKey]) -> list[SplitRow]:
        table = self._store._splits  # noqa: SLF001
        if not table:  # unmerges are rare: most stores have no split to look for
            return []
        found: set[SplitRow] = set()
        for key in keys:
            found.update(table.get(key, ()))
        return sorted(found, key=lambda s: (s.at_us, s.merge_id, s.a, s.b))

    def cluster_identities(self, cluster: str) -> list[IdKey]:
        return sorted(self._store._cluster_keys.get(cluster, ()))  # noqa: SLF001

    def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]:
        return self.customers(self._store._cluster_customers.get(cluster, {}))  # noqa: SLF001

    def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]:
        store = self._store
        return [
            attrs.evolve(store._touchpoints[mid], customer_id=cid)  # noqa: SLF001
            for cid in ids
            for mid in store._by_customer.get(cid, ())  # noqa: SLF001
        ]

    def aliases(self, targets: Collection[str]) -> dict[str, str]:
        sources = self._store._alias_sources  # noqa: SLF001
        return {source: target for target in targets for source in sources.get(target, ())}

    def merges(self, customer_id: str) -> list[MergeRow]:
        return self._store.merges(customer_id)  # the store's lock is the transaction's

    def suppression_kinds(self) -> set[str]:
        return set(self._store._suppression_kinds)  # noqa: SLF001

    def suppressed(self, digests: Collection[str]) -> set[str]:
        table = self._store._suppressions  # noqa: SLF001
        return {d for d in digests if d in table}

    def apply(self, changes: Changes) -> None:
        self._store._apply(changes)  # noqa: SLF001
