"""
Identity resolution: stitch every identifier a person uses into one customer.

The algorithm is deterministic matching, as the best customer data platforms do it, made
order-independent:

1. Touchpoints are processed in event-time order (ties broken on message id).
2. A touchpoint's identifiers, best first by *priority*, are matched to the customers that own
   them. Each identifier joins the candidate customer unless doing so would break a rule: more
   values of one kind than its *limit* (two user ids), or two identities an unmerge split
   apart. Such an identifier is left unlinked for this touchpoint.
3. No match makes a new customer; one match attaches; several merge into the customer whose
   first touchpoint is earliest, and the merge is written to the audit trail.

A touchpoint that arrives later than others it is connected to (through any identifier, limits
ignored: its *cluster*) is not applied on top: the whole cluster is replayed in event-time
order, so the result is the same whatever order events arrive in. Customer ids derive from a
customer's earliest touchpoint, so a replay or an unmerge gives every profile the same id it
would have had anyway; ids that disappear keep pointing to their successor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from omnikit._engines.identity_rules import IdentityRules, linkable
from omnikit._engines.profile import ProfileState
from omnikit._engines.records import (
    Changes,
    ClusterRow,
    CustomerRecord,
    EventKey,
    IdentityRow,
    IdKey,
    MergeRow,
    SplitRow,
    cluster_id_for,
    customer_id_for,
    link_id_for,
    merge_id_for,
)
from omnikit._models.customers import LinkRecord, MergeRecord
from omnikit._models.identities import Identity
from omnikit._models.touchpoints import Touchpoint, Trust

__all__ = ["IdentityRules", "Resolver", "linkable", "replay_region"]


class Resolver:
    """
    Apply touchpoints, in event-time order, to a working set loaded from a store.

    The working set holds identities, customers and clusters; `changes()` reports what changed.
    Identity rows are `(owner, cluster)` tuples rather than `IdentityRow`s: a chunk loads
    thousands, and the garbage collector soon stops tracking tuples of strings.

    With *detect_late*, a touchpoint earlier than the latest event of a cluster it touches is
    not applied: `Resolver.late` collects it and the cluster for `replay_region`; so is a
    verified touchpoint that verifies an identifier seen before (claims made with it earlier
    must be judged again). *verified* holds the identities any verified touchpoint carried.
    """

    def __init__(
        self,
        rules: IdentityRules,
        *,
        rows: dict[IdKey, tuple[str | None, str]],
        customers: dict[str, CustomerRecord],
        clusters: dict[str, ClusterRow],
        splits: Iterable[SplitRow],
        currency: str,
        detect_late: bool,
        key_of: Callable[[Touchpoint], EventKey],
        verified: set[IdKey] | None = None,
    ) -> None:
        self.rules = rules
        self.rows = rows
        self.verified: set[IdKey] = set() if verified is None else verified
        self.customers = customers
        self.clusters = clusters
        self.currency = currency
        self.detect_late = detect_late
        self.key_of = key_of
        self.survivorship = rules.survivorship()
        self.partners: dict[IdKey, set[IdKey]] = {}
        for split in splits:
            self.partners.setdefault(split.a, set()).add(split.b)
            self.partners.setdefault(split.b, set()).add(split.a)
        self.cluster_alias: dict[str, str] = {}
        self.customer_alias: dict[str, str] = {}
        self.dirty_customers: set[str] = set()
        self.dirty_rows: set[IdKey] = set()
        self.dirty_clusters: set[str] = set()
        self.deleted_customers: set[str] = set()
        self.deleted_clusters: set[str] = set()
        self.merges: list[MergeRow] = []
        self.applied: list[Touchpoint] = []
        self.owners: list[str] = []
        self.late: list[tuple[Touchpoint, str]] = []
        self.replay: set[str] = set()
        self._blocked: dict[IdKey, bool] = {}

    # -- union-find over clusters and customers ----------------------------------------------

    def cluster(self, cluster_id: str) -> str:
        """The current id of a cluster that may have been merged into another."""
        alias = self.cluster_alias
        while cluster_id in alias:
            cluster_id = alias[cluster_id]
        return cluster_id

    def customer(self, customer_id: str) -> str:
        """The current id of a customer that may have been merged into another."""
        alias = self.customer_alias
        while customer_id in alias:
            customer_id = alias[customer_id]
        return customer_id

    # -- the step ----------------------------------------------------------------------------

    def add(
        self, tp: Touchpoint, key: EventKey | None = None, ids: Sequence[IdKey] | None = None
    ) -> None:
        """
        Apply one touchpoint; the caller passes them in event-time order.

        A caller that already has the touchpoint's event key and linkable identities passes
        them.
        """
        if key is None:
            key = self.key_of(tp)
        if ids is None:
            ids = linkable(tp, self.rules, self._blocked)
        rows = self.rows
        if ids and self._attach_known(tp, key, ids):
            return
        touched = {self.cluster(rows[k][1]) for k in ids if k in rows}
        if (
            self.detect_late
            and touched
            and (
                not touched.isdisjoint(self.replay)
                or any(self.clusters[c].max > key for c in touched)
                or (tp.trust is Trust.VERIFIED and self._verifies_seen(ids))
            )
        ):
            target = self._union(touched, ids, key)
            self.replay.add(target)
            self.late.append((tp, target))
            return
        cluster = self._union(touched, ids, key) if ids else None
        owner, speaks = self._resolve(tp, key, ids, cluster)
        if tp.claims_only is speaks:  # as this resolution found it, not as it was stored
            tp = attrs.evolve(tp, claims_only=not speaks)
        self.customers[owner].profile.apply(
            tp,
            key[0],
            survivorship=self.survivorship,
            currency=self.currency,
            claims_only=not speaks,
        )
        self.dirty_customers.add(owner)
        self.applied.append(tp)
        self.owners.append(owner)

    def _attach_known(self, tp: Touchpoint, key: EventKey, ids: Sequence[IdKey]) -> bool:
        """
        Attach *tp* if every identity it carries already belongs to one customer (most do).

        Returns `False`, having changed nothing, when the general path must decide: also when
        trust has a say (a claim without a session, a verified touchpoint verifying an
        identifier).
        """
        rows = self.rows
        first = rows.get(ids[0])
        if first is None:
            return False
        owner, cluster = first
        if owner is None:
            return False
        if owner in self.customer_alias:
            owner = self.customer(owner)
        if cluster in self.cluster_alias:
            cluster = self.cluster(cluster)
        for i in range(1, len(ids)):
            row = rows.get(ids[i])
            if (
                row is None
                or row[0] is None
                or (row[0] != owner and self.customer(row[0]) != owner)
                or (row[1] != cluster and self.cluster(row[1]) != cluster)
            ):
                return False
        record = self.customers[owner]
        trust = tp.trust
        if trust is Trust.VERIFIED:
            if not self.verified.issuperset(ids):
                return False
        elif (
            trust is Trust.CLAIMED
            and self.rules.verified_sources
            and self.rules.session_kinds.isdisjoint(k[0] for k in ids)
        ):
            return False  # a claim without a session: the general path decides
        if tp.claims_only:
            tp = attrs.evolve(tp, claims_only=False)
        row_ = self.clusters[cluster]
        if self.detect_late and (row_.max > key or cluster in self.replay):
            return False
        if key > row_.max:
            row_.max = key
            self.dirty_clusters.add(cluster)
        record.profile.apply(tp, key[0], survivorship=self.survivorship, currency=self.currency)
        self.dirty_customers.add(owner)
        self.applied.append(tp)
        self.owners.append(owner)
        return True

    def _union(self, touched: set[str], ids: Sequence[IdKey], key: EventKey) -> str:
        """Join the clusters the touchpoint touches; give its new identities a row there."""
        clusters = self.clusters
        if touched:
            target = max(touched, key=lambda c: (clusters[c].size, c))
        else:
            target = cluster_id_for(key[1])
            clusters[target] = ClusterRow(id=target, max=key, size=0)
        row = clusters[target]
        for other in touched - {target}:
            absorbed = clusters.pop(other)
            row.size += absorbed.size
            row.max = max(row.max, absorbed.max)
            self.cluster_alias[other] = target
            self.deleted_clusters.add(other)
            self.dirty_clusters.discard(other)
            if other in self.replay:
                self.replay.discard(other)
                self.replay.add(target)
        row.max = max(row.max, key)
        for k in ids:
            if k not in self.rows:
                self.rows[k] = (None, target)
                self.dirty_rows.add(k)
                row.size += 1
        self.dirty_clusters.add(target)
        return target

    def _violates(self, members: set[IdKey], counts: dict[str, int], add: Iterable[IdKey]) -> bool:
        rules = self.rules
        extra: dict[str, int] = {}
        partners = self.partners
        for k in add:
            if k in members:
                continue
            kind = k[0]
            limit = rules.limit(kind)
            if limit is not None:
                extra[kind] = extra.get(kind, 0) + 1
                if counts.get(kind, 0) + extra[kind] > limit:
                    return True
            if partners and k in partners:
                others = partners[k]
                if not others.isdisjoint(members) or any(o in add for o in others):
                    return True
        return False

    def _owners(self, ids: Sequence[IdKey]) -> dict[IdKey, str | None]:
        """The current owner of each of *ids*."""
        rows = self.rows
        owners: dict[IdKey, str | None] = {}
        for k in ids:
            owner = rows[k][0]
            owners[k] = None if owner is None else self.customer(owner)
        return owners

    def _verifies_seen(self, ids: Sequence[IdKey]) -> bool:
        """Whether a verified touchpoint verifies an identifier some touchpoint carried before."""
        rows, verified = self.rows, self.verified
        return any(k in rows and k not in verified for k in ids)

    def _resolve(
        self, tp: Touchpoint, key: EventKey, ids: Sequence[IdKey], target: str | None
    ) -> tuple[str, bool]:
        """
        The customer *tp* belongs to, and whether it speaks for them (traits, consents).

        A verified touchpoint links every identifier it carries, as far as limits and
        unmerges allow, and so does every touchpoint of a hub without verified sources. One of
        omnikit's own reaches the customer whose identity it carries. A claim acts through its
        session only (see `_claim`); when it has none, it is kept, claims only, in the history
        of the customer holding what it names (or of a new customer without identities, when
        nobody holds them yet).
        """
        owners = self._owners(ids)
        trust = tp.trust
        anchor = owners[ids[0]] if ids else None
        if trust is Trust.INTERNAL and anchor is not None:
            return anchor, True
        if trust is Trust.VERIFIED or not ids or not self.rules.verified_sources:
            if trust is Trust.VERIFIED:
                for k in ids:
                    if k not in self.verified:
                        self.verified.add(k)
                        self.dirty_rows.add(k)
            return self._join(tp, key, ids, owners, target), True
        session, usable, holder = self._claim(ids, owners)
        takes = self._takeable(ids, owners, session)
        if session is not None:
            self._extend(tp, self.customers[session], usable, takes, owners)
            return session, True
        if usable:
            cid = self._join(tp, key, usable, owners, target)
            if takes:
                self._extend(tp, self.customers[cid], (), takes, owners)
            return cid, True
        if holder is not None:
            return holder, False
        return self._new_customer(tp, key, target).id, False

    def _claim(
        self, ids: Sequence[IdKey], owners: Mapping[IdKey, str | None]
    ) -> tuple[str | None, list[IdKey], str | None]:
        """
        What a claim may do: `(session, usable, holder)`.

        *session* is the customer holding the claim's own session identifier (a browser's
        anonymous id, a device id: held by a client, not known by anyone): the claim speaks
        for them. A claim never joins a customer through an email, phone, card or user id,
        which anyone can know, so it merges nobody. *usable* are the identifiers nobody holds
        that it may link: sessions, and others no verified touchpoint ever carried. *holder*
        holds the first identifier it names.
        """
        sessions = self.rules.session_kinds
        verified = self.verified
        session: str | None = None
        holder: str | None = None
        usable: list[IdKey] = []
        for k in ids:
            owner = owners[k]
            if owner is not None:
                if session is None and k[0] in sessions:
                    session = owner
                if holder is None:
                    holder = owner
            elif k[0] in sessions or k not in verified:
                usable.append(k)
        return session, usable, holder

    def _takeable(
        self, ids: Sequence[IdKey], owners: Mapping[IdKey, str | None], session: str | None
    ) -> list[IdKey]:
        """
        What a claim through a verified session takes from customers with nothing verified.

        A session a verified touchpoint carried is a customer's own browser or app: what they
        claim there beats a claim through any unverified session, whatever the timestamps
        (a stranger's backdated claim of their email included). Nothing is taken from a
        customer who holds a verified identifier, and no session is taken.
        """
        sessions, verified = self.rules.session_kinds, self.verified
        if not any(k[0] in sessions and k in verified for k in ids):
            return []
        customers = self.customers
        takes: list[IdKey] = []
        for k in ids:
            owner = owners[k]
            if (
                owner is not None
                and owner != session
                and k[0] not in sessions
                and not customers[owner].verified
            ):
                takes.append(k)
        return takes

    def _join(
        self,
        tp: Touchpoint,
        key: EventKey,
        ids: Sequence[IdKey],
        owners: Mapping[IdKey, str | None],
        target: str | None,
    ) -> str:
        """Link *ids* into one customer, merging the customers that hold them; its id."""
        customers = self.customers
        matched: list[str] = []
        members: set[IdKey] = set()
        counts: dict[str, int] = {}
        linked: list[IdKey] = []
        for k in ids:
            owner = owners[k]
            if owner is not None and owner in matched:
                linked.append(k)
                continue
            add = customers[owner].members if owner is not None else (k,)
            if members and self._violates(members, counts, add):
                continue
            for m in add:
                if m not in members:
                    members.add(m)
                    counts[m[0]] = counts.get(m[0], 0) + 1
            linked.append(k)
            if owner is not None:
                matched.append(owner)
        if not matched:
            record = self._new_customer(tp, key, target)
        elif len(matched) == 1:
            record = customers[matched[0]]
        else:
            record = self._merge(tp, matched, ids)
        self._link(tp, record, linked, existed=bool(matched))
        return record.id

    def _extend(
        self,
        tp: Touchpoint,
        record: CustomerRecord,
        ids: Sequence[IdKey],
        takes: Sequence[IdKey] = (),
        owners: Mapping[IdKey, str | None] | None = None,
    ) -> None:
        """Link *ids* (held by nobody) and *takes* (held by their *owners*) to *record*."""
        members = set(record.members)
        counts: dict[str, int] = {}
        for m in members:
            counts[m[0]] = counts.get(m[0], 0) + 1
        linked: list[IdKey] = []
        for k in (*ids, *takes):
            if k in members or self._violates(members, counts, (k,)):
                continue
            members.add(k)
            counts[k[0]] = counts.get(k[0], 0) + 1
            linked.append(k)
        for k in takes:
            holder = None if owners is None else owners[k]
            if k in members and holder is not None:
                self.customers[holder].members.discard(k)
                self.dirty_customers.add(holder)
        self._link(tp, record, linked, existed=True)

    def _new_customer(self, tp: Touchpoint, key: EventKey, cluster: str | None) -> CustomerRecord:
        cid = customer_id_for(tp.message_id)
        record = CustomerRecord(
            id=cid, cluster=cluster, first=key, members=set(), profile=ProfileState()
        )
        self.customers[cid] = record
        self.customer_alias.pop(cid, None)
        self.deleted_customers.discard(cid)
        return record

    def _link(
        self, tp: Touchpoint, record: CustomerRecord, linked: Sequence[IdKey], *, existed: bool
    ) -> None:
        """Make *linked* members of *record*; into the audit trail if *record* existed."""
        rows, verified = self.rows, self.verified
        index = 0
        for k in linked:
            if k in record.members:
                continue
            record.members.add(k)
            if k in verified:
                record.verified.add(k)
            rows[k] = (record.id, rows[k][1])
            self.dirty_rows.add(k)
            if existed:
                link = LinkRecord(
                    id=link_id_for(tp.message_id, index),
                    customer_id=record.id,
                    identity=Identity.from_normalized(*k),
                    message_id=tp.message_id,
                    trust=tp.trust,
                    at=tp.occurred_at,
                )
                index += 1
                self.merges.append(MergeRow(record=link, root=record.id, cluster="", anchors=()))

    def _merge(self, tp: Touchpoint, matched: list[str], ids: Sequence[IdKey]) -> CustomerRecord:
        customers = self.customers
        sides = sorted((customers[c] for c in matched), key=lambda r: (r.first, r.id))
        survivor, absorbed = sides[0], sides[1:]
        rank = self.rules.rank

        def anchor(record: CustomerRecord) -> IdKey:
            return min(record.members, key=lambda k: (rank(k[0]), k[1]))

        survivor_anchor = anchor(survivor)
        anchors = tuple((survivor_anchor, anchor(r)) for r in absorbed)
        via = tuple(
            Identity.from_normalized(*k)  # keys hold normalised values: not normalised again
            for k in ids
            if self.rows[k][0] is not None and self.customer(self.rows[k][0] or "") in matched
        )
        for record in absorbed:
            survivor.profile.absorb(record.profile, survivorship=self.survivorship)
            for member in record.members:
                row = self.rows.get(member)
                # Not loaded, it sits in the absorbed customer's cluster.
                cluster = (record.cluster or "") if row is None else row[1]
                self.rows[member] = (survivor.id, cluster)
                self.dirty_rows.add(member)
            survivor.members |= record.members
            survivor.verified |= record.verified
            del customers[record.id]
            self.customer_alias[record.id] = survivor.id
            self.deleted_customers.add(record.id)
            self.dirty_customers.discard(record.id)
        joined = sorted({m for r in absorbed for m in r.members}, key=lambda k: (rank(k[0]), k[1]))
        merge = MergeRecord(
            id=merge_id_for(tp.message_id),
            customer_id=survivor.id,
            merged_ids=tuple(r.id for r in absorbed),
            message_id=tp.message_id,
            via=via,
            joined=tuple(Identity.from_normalized(*k) for k in joined),
            at=tp.occurred_at,
        )
        self.merges.append(MergeRow(record=merge, root=survivor.id, cluster="", anchors=anchors))
        return survivor

    # -- results -----------------------------------------------------------------------------

    def late_by_region(self) -> dict[str, list[Touchpoint]]:
        """The late touchpoints, grouped by the (final) cluster each must be replayed in."""
        regions: dict[str, list[Touchpoint]] = {}
        for tp, target in self.late:
            regions.setdefault(self.cluster(target), []).append(tp)
        return regions

    def changes(self) -> Changes:
        """What the applied touchpoints changed, with every id resolved to its final value."""
        changes = Changes()
        changes.relabel = {old: self.cluster(old) for old in self.cluster_alias}
        changes.reassign = {old: self.customer(old) for old in self.customer_alias}
        changes.aliases = dict(changes.reassign)
        changes.deleted_customers = set(self.deleted_customers)
        changes.deleted_clusters = set(self.deleted_clusters)
        for cid in self.dirty_customers:
            record = self.customers.get(cid)
            if record is not None:
                if record.cluster is not None:
                    record.cluster = self.cluster(record.cluster)
                changes.customers[cid] = record
        for k in self.dirty_rows:
            owner, cluster = self.rows[k]
            changes.identities[k] = IdentityRow(
                owner=None if owner is None else self.customer(owner),
                cluster=self.cluster(cluster),
                verified=k in self.verified,
            )
        for cid in self.dirty_clusters:
            if cid in self.clusters:
                changes.clusters[cid] = self.clusters[cid]
        customer = self.customer
        changes.new_touchpoints = [
            (tp, customer(owner)) for tp, owner in zip(self.applied, self.owners, strict=True)
        ]
        for merge in self.merges:
            root = self.customer(merge.root)
            record = self.customers[root]
            changes.merges.append(
                attrs.evolve(merge, root=root, cluster=self.cluster(record.cluster or ""))
            )
        return changes


def replay_region(
    rules: IdentityRules,
    *,
    cluster: str,
    touchpoints: Sequence[Touchpoint],
    old_customers: Mapping[str, CustomerRecord],
    old_owners: Mapping[str, str],
    old_keys: Iterable[IdKey],
    splits: Iterable[SplitRow],
    currency: str,
    key_of: Callable[[Touchpoint], EventKey],
    verified: Iterable[IdKey] = (),
) -> Changes:
    """
    Recompute a whole cluster from its touchpoints and return the changes that replace it.

    Args:
        rules: The identity rules.
        cluster: The cluster's id; it keeps it.
        touchpoints: Every touchpoint of the cluster, stored or new, in any order.
        old_customers: The cluster's customers as stored.
        old_owners: For stored touchpoints, the customer each belonged to.
        old_keys: Every identity stored in the cluster.
        splits: The unmerge splits that concern its identities.
        currency: The hub's default currency.
        key_of: A touchpoint's event key.
        verified: Identities known to be verified besides those its verified touchpoints
            carry (a verified identity stays one after the touchpoint that verified it is
            erased, so that no claim takes it then).
    """
    blocked: dict[IdKey, bool] = {}
    verified = set(verified)
    verified.update(
        k for tp in touchpoints if tp.trust is Trust.VERIFIED for k in linkable(tp, rules, blocked)
    )
    resolver = Resolver(
        rules,
        rows={},
        customers={},
        clusters={},
        splits=splits,
        currency=currency,
        detect_late=False,
        key_of=key_of,
        verified=verified,
    )
    ordered = sorted(touchpoints, key=key_of)
    for tp in ordered:
        resolver.add(tp)
    result = resolver.changes()
    owner_of = {tp.message_id: owner for tp, owner in result.new_touchpoints}
    changes = Changes()
    _replace_customers(changes, resolver, cluster, old_customers, owner_of)
    for k in set(old_keys) | set(resolver.rows):
        row = resolver.rows.get(k)
        owner = None if row is None or row[0] is None else resolver.customer(row[0])
        changes.identities[k] = IdentityRow(owner=owner, cluster=cluster, verified=k in verified)
    _replace_touchpoints(changes, resolver, ordered, old_owners, owner_of)
    new_ids = {tp.message_id for tp in touchpoints if tp.message_id not in old_owners}
    changes.new_touchpoints = [
        (tp, owner) for tp, owner in result.new_touchpoints if tp.message_id in new_ids
    ]
    changes.deleted_merge_clusters = {cluster}
    changes.merges = [attrs.evolve(m, cluster=cluster) for m in result.merges]
    size = len(changes.identities)
    top = max((key_of(tp) for tp in ordered), default=(0, ""))
    changes.clusters[cluster] = ClusterRow(id=cluster, max=top, size=size)
    return changes


def _replace_customers(
    changes: Changes,
    resolver: Resolver,
    cluster: str,
    old_customers: Mapping[str, CustomerRecord],
    owner_of: Mapping[str, str],
) -> None:
    """
    Put the replayed customers of *cluster* in *changes*, in place of its *old_customers*.

    An old customer that is gone leads (as an alias, and with its touchpoints reassigned) to
    the customer that now owns its first touchpoint, by *owner_of* (message id to owner).
    """
    new_customers = dict(resolver.customers)
    for record in new_customers.values():
        if record.cluster is not None:
            record.cluster = cluster
        changes.customers[record.id] = record
    changes.deleted_customers = {cid for cid in old_customers if cid not in new_customers}
    changes.unaliased = {cid for cid in new_customers if cid not in old_customers}
    for old_id in changes.deleted_customers:
        first = old_customers[old_id].first[1]
        successor = owner_of.get(first)
        if successor is not None:
            changes.aliases[old_id] = successor
            changes.reassign[old_id] = successor


def _replace_touchpoints(
    changes: Changes,
    resolver: Resolver,
    ordered: Sequence[Touchpoint],
    old_owners: Mapping[str, str],
    owner_of: Mapping[str, str],
) -> None:
    """
    Put in *changes* the stored touchpoints of a replay whose owner or claims changed.

    *old_owners* gives the stored touchpoints' owners before the replay, *owner_of* after it.
    """
    claims_only = {tp.message_id: tp.claims_only for tp in resolver.applied}
    for tp in ordered:
        if tp.message_id not in old_owners:
            continue
        owner = owner_of[tp.message_id]
        if old_owners[tp.message_id] != owner:
            changes.touchpoint_owners[tp.message_id] = owner
        if claims_only[tp.message_id] is not tp.claims_only:
            changes.rewritten.append(
                attrs.evolve(tp, claims_only=claims_only[tp.message_id], customer_id=None)
            )
