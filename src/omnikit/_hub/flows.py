"""
The two drivers of the engines' flows: `drive` over a store's transaction, `adrive` awaiting one.

A flow (see `omnikit._engines.ingest`) yields requests and is sent their answers; a driver
answers each with the transaction method of the same name, and returns what the flow returns.
The drivers know nothing of what a flow does, and a flow nothing of how it is answered, as
httpx's `Client` and `AsyncClient` drive one `Auth.auth_flow`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, assert_never

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
    from omnikit.stores import AsyncIngestTransaction, IngestTransaction

__all__ = ["adrive", "drive"]

_T = TypeVar("_T")


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
