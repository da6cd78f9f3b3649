"""
Forgetting as flows: erase a customer, and lift a suppression, inside a store's transaction.

`forget` reads everything held about a customer (`gather`), derives the changes that erase
them with the pure `omnikit._engines.erasure`, and applies them; `unsuppress` lifts the
suppression of one identifier. The hub opens the transaction and drives them (see
`omnikit._engines.ingest` for flows and their requests).
"""

from __future__ import annotations

from omnikit._engines.erasure import Erasure, carried, erased_identities, erasure_changes
from omnikit._engines.ingest import (
    Aliases,
    Apply,
    ClusterCustomers,
    ClusterIdentities,
    Customers,
    CustomerTouchpoints,
    EngineFlow,
    Identities,
    IngestConfig,
    Splits,
    Suppressed,
    checked_key,
    event_key,
)
from omnikit._engines.records import (
    Changes,
    CustomerRecord,
    IdentityRow,
    IdKey,
    SplitRow,
)
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import NotFoundError

__all__ = ["forget", "gather", "unsuppress"]


def forget(
    customer_id: str, config: IngestConfig, *, suppress: bool, at_us: int
) -> EngineFlow[tuple[Erasure, Changes]]:
    """
    Erase the customer *customer_id* at *at_us*: what was held about them, and the changes.

    With *suppress*, their identifiers are put under the suppression of *config*'s key,
    which it has.

    Raises:
        NotFoundError: If the store holds no such customer.
        ValidationError: If *suppress*, and the store's suppressions were made with another
            key.
    """
    found: dict[str, CustomerRecord] = yield Customers([customer_id])
    current = found.get(customer_id)
    if current is None:  # pragma: no cover - erased concurrently
        raise NotFoundError("customer", customer_id)
    if suppress:
        yield from checked_key(config)
    erasure = yield from gather(current)
    changes = erasure_changes(
        config.rules,
        erasure,
        currency=config.currency,
        key_of=event_key,
        at_us=at_us,
        store_key=config.secret,
        suppression_key=config.suppression_key if suppress else None,
    )
    yield Apply(changes)
    return erasure, changes


def gather(record: CustomerRecord) -> EngineFlow[Erasure]:
    """Everything held about *record*, and what erasing them must replay."""
    touchpoints: list[Touchpoint] = yield CustomerTouchpoints([record.id])
    aliases: dict[str, str] = yield Aliases([record.id])
    erasure = Erasure(
        customer=record,
        touchpoints=touchpoints,
        identities=set(),
        splits=[],
        former_ids=sorted(aliases),
    )
    if record.cluster is None:
        return erasure
    members: dict[str, CustomerRecord] = yield ClusterCustomers(record.cluster)
    erasure.others = {cid: other for cid, other in members.items() if cid != record.id}
    erasure.remaining = yield CustomerTouchpoints(list(erasure.others))
    erasure.cluster_keys = yield ClusterIdentities(record.cluster)
    rows: dict[IdKey, IdentityRow] = yield Identities(
        carried(touchpoints) | record.members | set(erasure.cluster_keys)
    )
    erasure.identities = erased_identities(
        record,
        touchpoints,
        erasure.remaining,
        erasure.cluster_keys,
        lambda key: rows[key].cluster if key in rows else None,
    )
    erasure.verified = {k for k, row in rows.items() if row.verified}
    every: list[SplitRow] = yield Splits(set(erasure.cluster_keys) | erasure.identities)
    erasure.cluster_splits = every
    erasure.splits = [s for s in every if s.a in erasure.identities or s.b in erasure.identities]
    return erasure


def unsuppress(digest: str, config: IngestConfig) -> EngineFlow[bool]:
    """
    Lift the suppression *digest* stands for; whether it was under suppression.

    Raises:
        ValidationError: If the store's suppressions were made with another key than
            *config*'s, which it has.
    """
    yield from checked_key(config)
    found: set[str] = yield Suppressed([digest])
    if digest not in found:
        return False
    yield Apply(Changes(unsuppressed={digest}))
    return True
