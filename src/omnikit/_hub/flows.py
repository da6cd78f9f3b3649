"""
The two drivers of the engines' flows: `drive` over a store's transaction, `adrive` awaiting one.

A flow (see `omnikit._engines.ingest`) yields requests and is sent their answers; a driver
answers each with the transaction method of the same name, and returns what the flow returns.
The drivers know nothing of what a flow does, and a flow nothing of how it is answered, as
httpx's `Client` and `AsyncClient` drive one `Auth.auth_flow`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol, TypeVar, assert_never

from omnikit._engines.ingest import (
    Aliases,
    Apply,
    ClusterCustomers,
    ClusterIdentities,
    Clusters,
    Customers,
    CustomerTouchpoints,
    Flow,
    Identities,
    Request,
    Seen,
    Splits,
    Suppressed,
    SuppressionKinds,
)

if TYPE_CHECKING:
    from omnikit._engines.records import (
        Changes,
        ClusterRow,
        CustomerRecord,
        IdentityRow,
        IdKey,
        SplitRow,
    )
    from omnikit._models.touchpoints import Touchpoint
    from omnikit.stores import IngestTransaction

__all__ = ["AsyncIngestTransaction", "adrive", "drive"]

_T = TypeVar("_T")


class AsyncIngestTransaction(Protocol):
    """`IngestTransaction`, awaited: the same methods, the same answers."""

    async def seen(self, message_ids: Collection[str]) -> set[str]: ...
    async def identities(self, keys: Collection[IdKey]) -> dict[IdKey, IdentityRow]: ...
    async def customers(self, ids: Collection[str]) -> dict[str, CustomerRecord]: ...
    async def clusters(self, ids: Collection[str]) -> dict[str, ClusterRow]: ...
    async def splits(self, keys: Collection[IdKey]) -> list[SplitRow]: ...
    async def cluster_identities(self, cluster: str) -> list[IdKey]: ...
    async def cluster_customers(self, cluster: str) -> dict[str, CustomerRecord]: ...
    async def customer_touchpoints(self, ids: Collection[str]) -> list[Touchpoint]: ...
    async def aliases(self, targets: Collection[str]) -> dict[str, str]: ...
    async def suppression_kinds(self) -> set[str]: ...
    async def suppressed(self, digests: Collection[str]) -> set[str]: ...
    async def apply(self, changes: Changes) -> None: ...


def drive(flow: Flow[_T], tx: IngestTransaction) -> _T:
    """Run *flow* inside *tx*, answering each request; return what the flow returns."""
    answer: object = None
    while True:
        try:
            request = flow.send(answer)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        answer = _answer(tx, request)


async def adrive(flow: Flow[_T], tx: AsyncIngestTransaction) -> _T:
    """`drive`, awaiting each answer of *tx*."""
    answer: object = None
    while True:
        try:
            request = flow.send(answer)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        answer = await _aanswer(tx, request)


def _answer(tx: IngestTransaction, request: Request) -> object:
    match request:
        case Seen(message_ids=ids):
            return tx.seen(ids)
        case SuppressionKinds():
            return tx.suppression_kinds()
        case Suppressed(digests=digests):
            return tx.suppressed(digests)
        case Identities(keys=keys):
            return tx.identities(keys)
        case Customers(ids=ids):
            return tx.customers(ids)
        case Clusters(ids=ids):
            return tx.clusters(ids)
        case Splits(keys=keys):
            return tx.splits(keys)
        case ClusterCustomers(cluster=cluster):
            return tx.cluster_customers(cluster)
        case ClusterIdentities(cluster=cluster):
            return tx.cluster_identities(cluster)
        case CustomerTouchpoints(ids=ids):
            return tx.customer_touchpoints(ids)
        case Aliases(targets=targets):
            return tx.aliases(targets)
        case Apply(changes=changes):
            tx.apply(changes)
            return None
        case _:
            assert_never(request)


async def _aanswer(tx: AsyncIngestTransaction, request: Request) -> object:
    match request:
        case Seen(message_ids=ids):
            return await tx.seen(ids)
        case SuppressionKinds():
            return await tx.suppression_kinds()
        case Suppressed(digests=digests):
            return await tx.suppressed(digests)
        case Identities(keys=keys):
            return await tx.identities(keys)
        case Customers(ids=ids):
            return await tx.customers(ids)
        case Clusters(ids=ids):
            return await tx.clusters(ids)
        case Splits(keys=keys):
            return await tx.splits(keys)
        case ClusterCustomers(cluster=cluster):
            return await tx.cluster_customers(cluster)
        case ClusterIdentities(cluster=cluster):
            return await tx.cluster_identities(cluster)
        case CustomerTouchpoints(ids=ids):
            return await tx.customer_touchpoints(ids)
        case Aliases(targets=targets):
            return await tx.aliases(targets)
        case Apply(changes=changes):
            await tx.apply(changes)
            return None
        case _:
            assert_never(request)
