"""
What the hub asks a store to keep, and the change sets it hands over.

These are the rows of the storage port: plain, mutable, internal. Public code sees `Customer`,
`Touchpoint` and `MergeRecord` instead. A customer's `ProfileState` is opaque to a store: it
keeps `profile.to_json()` and reads it back with `ProfileState.from_json()`.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

import attrs

from omnikit._engines.profile import ProfileState
from omnikit._models.customers import LinkRecord, MergeRecord
from omnikit._models.touchpoints import Touchpoint

__all__ = [
    "Changes",
    "ClusterRow",
    "CustomerRecord",
    "EventKey",
    "IdKey",
    "IdentityRow",
    "MergeRow",
    "ProfileState",
    "SplitRow",
    "SuppressionRow",
    "cluster_id_for",
    "customer_id_for",
    "link_id_for",
    "merge_id_for",
]

IdKey: TypeAlias = tuple[str, str]
"""An identity as `(kind, value)`, the fast form the engines work with."""

EventKey: TypeAlias = tuple[int, str]
"""A touchpoint's place in time: `(occurred_at in epoch microseconds, message_id)`."""


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def customer_id_for(message_id: str) -> str:
    """
    The id of a customer whose earliest touchpoint is *message_id*.

    Deriving ids from data makes them the same whatever order events arrive in, and gives an
    unmerged profile its old id back.
    """
    return f"cus_{_digest(message_id)}"


def merge_id_for(message_id: str) -> str:
    """The id of the merge that the touchpoint *message_id* caused."""
    return f"mrg_{_digest(message_id)}"


def link_id_for(message_id: str, index: int) -> str:
    """The id of the *index*-th identifier the touchpoint *message_id* linked to a customer."""
    return f"lnk_{_digest(f'{message_id}#{index}')}"


def cluster_id_for(message_id: str) -> str:
    """
    The id of the cluster that the touchpoint *message_id* starts.

    Derived from the message id, as customer ids are, never from an identifier: a hash of an
    email confirms a guess of it. (Clusters stored by earlier versions keep their old ids.)
    The hash is personalised, so no message id can produce an old-style id.
    """
    digest = hashlib.blake2b(message_id.encode(), digest_size=10, person=b"omnikit.cluster")
    return f"cl_{digest.hexdigest()}"


@attrs.define(slots=True)
class IdentityRow:
    """
    Who an identity belongs to, and which cluster it is in.

    *owner* is `None` while the identity has never linked; a cluster is a connected part of the
    raw identity graph, limits ignored. *verified* tells whether any verified touchpoint
    carried it (see `IdentityRules.verified_sources`).
    """

    owner: str | None
    cluster: str
    verified: bool = False


@attrs.define(slots=True)
class CustomerRecord:
    """
    A stored customer: members, fold state, and where it sits in time and graph.

    *verified* holds the members a verified touchpoint carried (a subset of *members*); a
    customer with any is protected from claims (see `IdentityRules.verified_sources`).
    """

    id: str
    cluster: str | None
    first: EventKey
    members: set[IdKey]
    profile: ProfileState
    verified: set[IdKey] = attrs.field(factory=set)

    def copy(self) -> CustomerRecord:
        """A copy that can change without changing this one."""
        return CustomerRecord(
            id=self.id,
            cluster=self.cluster,
            first=self.first,
            members=set(self.members),
            profile=self.profile.copy(),
            verified=set(self.verified),
        )


@attrs.define(slots=True)
class ClusterRow:
    """A cluster's latest event (to tell late events from fresh ones) and its size."""

    id: str
    max: EventKey
    size: int


@attrs.define(slots=True, frozen=True)
class MergeRow:
    """
    An entry of the audit trail, as stored: a merge, or an identifier joining a customer.

    *root* is the customer it now belongs to; *anchors* are the identities that anchored each
    side of a merge, which an unmerge keeps apart (none for a link).
    """

    record: MergeRecord | LinkRecord
    root: str
    cluster: str
    anchors: tuple[tuple[IdKey, IdKey], ...]


@attrs.define(slots=True, frozen=True)
class SplitRow:
    """Two identities that must never be in one customer again (left by an unmerge)."""

    a: IdKey
    b: IdKey
    merge_id: str
    at_us: int


@attrs.define(slots=True, frozen=True)
class SuppressionRow:
    """
    A keyed hash that outlives an erasure, so that what it names is dropped if it comes back.

    *kind* is `"identity"` (an identifier under suppression, hashed with the host's key),
    `"message"` (the id of an erased message, hashed with the store's own key) or `"key"`
    (the check value of the host's key).
    """

    digest: str
    kind: str
    at_us: int


@attrs.define(slots=True)
class Changes:
    """
    Everything one step of ingestion (or an unmerge) changes, for a store to apply atomically.

    A store applies them in this order: *relabel* (identities, customers, merges move to
    another cluster), *reassign* (touchpoints, merge roots, alias targets and, in a store that
    keeps the outbox, deliveries move to another customer), the erasures (*erased_customers*, *erased_identities*), the deletions, the
    upserts, the inserts, then the suppressions (*unsuppressed*, then *suppressions*).
    """

    relabel: dict[str, str] = attrs.field(factory=dict)
    reassign: dict[str, str] = attrs.field(factory=dict)
    deleted_customers: set[str] = attrs.field(factory=set)
    deleted_clusters: set[str] = attrs.field(factory=set)
    deleted_merge_clusters: set[str] = attrs.field(factory=set)
    unaliased: set[str] = attrs.field(factory=set)
    customers: dict[str, CustomerRecord] = attrs.field(factory=dict)
    identities: dict[IdKey, IdentityRow] = attrs.field(factory=dict)
    clusters: dict[str, ClusterRow] = attrs.field(factory=dict)
    aliases: dict[str, str] = attrs.field(factory=dict)
    touchpoint_owners: dict[str, str] = attrs.field(factory=dict)
    rewritten: list[Touchpoint] = attrs.field(factory=list)
    """Stored touchpoints whose stored form changes (a replay found them claims only, or not)."""
    new_touchpoints: list[tuple[Touchpoint, str]] = attrs.field(factory=list)
    """New touchpoints, each with the customer it belongs to (its own `customer_id` is unset)."""
    merges: list[MergeRow] = attrs.field(factory=list)
    splits: list[SplitRow] = attrs.field(factory=list)
    erased_customers: set[str] = attrs.field(factory=set)
    """
    Customers erased with their touchpoints, the merges rooted at them, their old ids, and
    (in a store that keeps the outbox) their deliveries.
    """
    erased_identities: set[IdKey] = attrs.field(factory=set)
    """Identity rows erased, with every unmerge split that names them."""
    unsuppressed: set[str] = attrs.field(factory=set)
    """Digests whose suppression is lifted."""
    suppressions: list[SuppressionRow] = attrs.field(factory=list)
    """Digests put under suppression (one already there stays as it was)."""

    def __bool__(self) -> bool:
        return any(getattr(self, a.name) for a in attrs.fields(Changes))
