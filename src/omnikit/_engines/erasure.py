"""
Erasure: what forgetting a customer removes, and the keyed hashes that outlive it.

Forgetting a customer removes everything their touchpoints carry: the touchpoints, the
profile, every identifier they hold or left unlinked (unless another customer's touchpoints
carry it too), the merges and unmerge splits that name them, and their old ids. The others in
their cluster are replayed as if the erased touchpoints had never arrived, and the cluster gets
an id derived from what remains.

What outlives an erasure is keyed hashes only (HMAC-SHA256): of the erased message ids, with
the store's own key, so a replay of those messages is dropped; and with `suppress=True`, of
the erased identifiers, with the host's key, so any later message carrying one is dropped.

Pure: the hub gathers what a customer holds (`Erasure`) inside a transaction and applies the
`Changes` this module derives.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

import attrs

from omnikit._engines.identity import IdentityRules, replay_region
from omnikit._engines.records import (
    Changes,
    CustomerRecord,
    EventKey,
    IdKey,
    SplitRow,
    SuppressionRow,
    cluster_id_for,
)
from omnikit._models.touchpoints import Touchpoint

__all__ = [
    "Erasure",
    "erasure_changes",
    "identity_digest",
    "key_check",
    "keyed",
    "message_digest",
]

MIN_KEY_BYTES = 16
"""The shortest suppression key accepted."""

NO_KEY = (
    "a secret of at least 16 bytes that the host keeps outside the store, the same for every "
    "hub on it (e.g. secrets.token_bytes(32), kept in a secret manager)"
)
"""What a suppression key is, for the errors that ask for one."""


def keyed(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of *parts* (joined by NUL, which no part holds) under *key*, in hex."""
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()


def identity_digest(key: bytes, identity: IdKey) -> str:
    """The keyed hash that stands for a suppressed identifier (kind and normalised value)."""
    return keyed(key, "identity", identity[0], identity[1])


def message_digest(key: bytes, message_id: str) -> str:
    """The keyed hash that stands for an erased message id."""
    return keyed(key, "message", message_id)


def key_check(key: bytes) -> str:
    """What a store keeps to recognise the suppression key its digests were made with."""
    return keyed(key, "suppression key check")


@attrs.define(kw_only=True)
class Erasure:
    """
    Everything a store holds about one customer, and what forgetting them must replay.

    Attributes:
        customer: The customer.
        touchpoints: Their touchpoints.
        identities: The identity rows that go: every identifier the customer holds or their
            touchpoints carry, in their cluster, that no other customer's touchpoint carries.
        splits: The unmerge splits that name one of *identities*.
        former_ids: The ids of profiles merged into the customer, which lead to them.
        others: The other customers of the cluster, as stored.
        remaining: Their touchpoints, which a replay of the cluster works from.
        cluster_keys: Every identity of the cluster.
        cluster_splits: Every split naming one of *cluster_keys*.
        verified: The identities of the cluster that a verified touchpoint carried.
    """

    customer: CustomerRecord
    touchpoints: list[Touchpoint]
    identities: set[IdKey]
    splits: list[SplitRow]
    former_ids: list[str]
    others: dict[str, CustomerRecord] = attrs.field(factory=dict)
    remaining: list[Touchpoint] = attrs.field(factory=list)
    cluster_keys: list[IdKey] = attrs.field(factory=list)
    cluster_splits: list[SplitRow] = attrs.field(factory=list)
    verified: set[IdKey] = attrs.field(factory=set)


def carried(touchpoints: Iterable[Touchpoint]) -> set[IdKey]:
    """Every identity the touchpoints carry."""
    return {(i.kind, i.value) for tp in touchpoints for i in tp.identities}


def erased_identities(
    customer: CustomerRecord,
    touchpoints: Iterable[Touchpoint],
    remaining: Iterable[Touchpoint],
    cluster_keys: Iterable[IdKey],
    cluster_of: Callable[[IdKey], str | None],
) -> set[IdKey]:
    """
    The identity rows that erasing *customer* removes.

    Those in the customer's cluster that the customer holds, that their touchpoints carry, or
    that nobody's touchpoint carries any more (left behind by an earlier erasure); never one
    another customer's touchpoint carries.
    """
    if customer.cluster is None:
        return set()
    kept = carried(remaining)
    candidates = carried(touchpoints) | customer.members | set(cluster_keys)
    return {k for k in candidates if k not in kept and cluster_of(k) == customer.cluster}


def erasure_changes(
    rules: IdentityRules,
    erasure: Erasure,
    *,
    currency: str,
    key_of: Callable[[Touchpoint], EventKey],
    at_us: int,
    store_key: bytes,
    suppression_key: bytes | None,
) -> Changes:
    """
    The changes that forget *erasure*'s customer.

    The rest of the cluster is replayed from its remaining touchpoints under an id derived
    from the earliest of them, so what it becomes is what it would have been had the erased
    touchpoints never arrived, and its id names nothing of the erased customer. With a
    *suppression_key*, the erased identifiers are put under suppression.
    """
    record = erasure.customer
    region = record.cluster
    gone = erasure.identities
    if region is not None and erasure.remaining:
        earliest = min(erasure.remaining, key=key_of)
        new_region = cluster_id_for(earliest.message_id)
        changes = replay_region(
            rules,
            cluster=new_region,
            touchpoints=erasure.remaining,
            old_customers=erasure.others,
            old_owners={tp.message_id: tp.customer_id or "" for tp in erasure.remaining},
            old_keys=[k for k in erasure.cluster_keys if k not in gone],
            splits=[s for s in erasure.cluster_splits if s.a not in gone and s.b not in gone],
            currency=currency,
            key_of=key_of,
            # What was verified stays so where somebody else's claim carries it: the claim
            # must not take it once they are gone.
            verified=[k for k in erasure.verified | record.verified if k not in gone],
        )
        if new_region != region:
            changes.relabel[region] = new_region
            changes.deleted_clusters.add(region)
        for key in gone:  # carried by nobody left: the replay did not bring them back
            changes.identities.pop(key, None)
    else:
        changes = Changes()
        if region is not None:
            changes.deleted_clusters.add(region)
            changes.deleted_merge_clusters.add(region)
    changes.erased_customers.add(record.id)
    changes.erased_identities |= gone
    changes.suppressions.extend(
        SuppressionRow(digest=message_digest(store_key, tp.message_id), kind="message", at_us=at_us)
        for tp in erasure.touchpoints
    )
    if suppression_key is not None:
        changes.suppressions.append(
            SuppressionRow(digest=key_check(suppression_key), kind="key", at_us=at_us)
        )
        changes.suppressions.extend(
            SuppressionRow(
                digest=identity_digest(suppression_key, key), kind="identity", at_us=at_us
            )
            # All they held, also what a stranger's claim still carries.
            for key in sorted(gone | record.members)
            if not rules.is_blocked(key)
        )
    return changes
