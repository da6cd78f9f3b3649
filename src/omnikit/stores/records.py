"""
The rows that cross the store port, and the change sets a store applies.

A host's own store (see the guide *Write a store*) works with these and the public models
(`Touchpoint`, `MergeRecord`, `LinkRecord`) only:

- `CustomerRecord`: a customer's members, where it sits in time and in the identity graph,
  and its `profile`, a `ProfileState` that is opaque to a store: keep `profile.to_json()`
  (plain JSON) and read it back with `ProfileState.from_json()`;
- `IdentityRow`, `ClusterRow`, `MergeRow`, `SplitRow`, `SuppressionRow`: one row each;
- `Changes`: everything one step of ingestion, an unmerge or an erasure changes, for
  `IngestTransaction.apply()` to write atomically, in the order its docstring gives;
- `IdKey` and `EventKey`: an identity as `(kind, value)`, a moment as
  `(epoch microseconds, message id)`.

Rows are mutable and shared with the hub: a store copies what it is given and returns rows
the caller may change (`CustomerRecord.copy()`).

Added in version 0.1.0.
"""

from __future__ import annotations

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
    SuppressionRow,
    cluster_id_for,
    customer_id_for,
    link_id_for,
    merge_id_for,
)

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
