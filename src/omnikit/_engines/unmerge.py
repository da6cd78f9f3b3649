"""
Unmerging as a flow: undo a merge by keeping its anchors apart and replaying the cluster.

A merge that should not have happened is undone by recording, for each pair of identities
that anchored its two sides, that they must never be in one customer again (a `SplitRow`),
then replaying the cluster from its touchpoints: each goes back to the side its identifiers
belong to, and each side gets back the id it had. The hub opens the transaction and drives
`unmerge` (see `omnikit._engines.ingest` for flows and their requests).
"""

from __future__ import annotations

from collections.abc import Sequence

from omnikit._engines.ingest import Apply, Customers, EngineFlow, IngestConfig, replay
from omnikit._engines.records import Changes, CustomerRecord, MergeRow, SplitRow
from omnikit.errors import NotFoundError, StoreError

__all__ = ["merge_to_undo", "unmerge"]


def merge_to_undo(rows: Sequence[MergeRow], customer_id: str, merge_id: str | None) -> MergeRow:
    """
    The merge of *rows* (the customer's merges, oldest first) that *merge_id* names.

    Raises:
        NotFoundError: If there is no such merge; with no *merge_id*, if there is none.
    """
    if merge_id is None:
        if not rows:
            raise NotFoundError("merge", customer_id)
        return rows[-1]
    for row in rows:
        if row.record.id == merge_id:
            return row
    raise NotFoundError("merge", merge_id)


def unmerge(
    customer_id: str, row: MergeRow, config: IngestConfig, *, at_us: int
) -> EngineFlow[set[str]]:
    """
    Undo the merge *row* of the customer *customer_id*, at *at_us*: the ids of the customers replayed.

    Raises:
        StoreError: If the customer's cluster is gone from the store.
    """
    splits = [SplitRow(a=a, b=b, merge_id=row.record.id, at_us=at_us) for a, b in row.anchors]
    yield Apply(Changes(splits=splits))
    found: dict[str, CustomerRecord] = yield Customers([customer_id])
    current = found.get(customer_id)
    region = current.cluster if current is not None else row.cluster
    if region is None:  # pragma: no cover - a merged customer always has a cluster
        raise StoreError(f"customer {customer_id!r} has no cluster")
    replayed = yield from replay(region, config)
    return set(replayed.customers)
