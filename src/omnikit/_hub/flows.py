"""
The two drivers of flows: `drive` over a sync port, `adrive` awaiting an async one.

A flow (see `omnikit._engines.ingest`) yields requests and is sent their answers; a driver
answers each by calling the port method the request names (`PortCall.ask`), and returns what
the flow returns. An error the port raises is thrown into the flow at the request that asked
it, so a flow can handle what its store refuses. The drivers know nothing of what a flow does,
and a flow nothing of how it is answered, as httpx's `Client` and `AsyncClient` drive one
`Auth.auth_flow`.

The engines' flows ask an `IngestTransaction`; the hub's verbs are flows too, asking the store
itself (`Store` or `AsyncStore`) with the requests below, and running an engine's flow inside
one of its transactions with `InTransaction`. `Hub` drives a verb's flow with `drive`;
`AsyncHub` awaits it with `adrive` over an `AsyncStore`, or drives it with `drive` in a worker
thread over a sync `Store`.

Two requests are for the driver itself, not the store: `Blocking`, work that would hold up an
event loop (reading a large payload, a file), which `drive` does in place and `adrive` in a
worker thread; and `Page`, a part of a streaming verb's output (`Hub.customers()`), which
`drive_pages` and `adrive_pages` hand to the caller.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import attrs

from omnikit._engines.ingest import EngineFlow, PortCall
from omnikit._models.outbound import Refused, Unknown
from omnikit.errors import ConnectorError, ValidationError

if TYPE_CHECKING:
    from omnikit._engines.records import CustomerRecord

__all__ = [
    "Blocking",
    "CustomerById",
    "DeliveryById",
    "Find",
    "HasIdentityKind",
    "HubFlow",
    "InTransaction",
    "ListDeliveries",
    "MergesOf",
    "NextCustomers",
    "OpenCustomers",
    "Page",
    "Scrub",
    "Secret",
    "SendVia",
    "TouchpointById",
    "TouchpointsOf",
    "adrive",
    "adrive_pages",
    "drive",
    "drive_pages",
]

_T = TypeVar("_T")

HubFlow = Generator[Any, Any, _T]
"""A verb's flow: it yields store requests, `InTransaction`, or an engine's requests."""


# -- requests of the store itself, outside transactions -----------------------------------------


@attrs.frozen
class CustomerById(PortCall):
    """The customer with that id, following merged ids: a `CustomerRecord | None`."""

    method: ClassVar[str] = "customer"

    customer_id: str


@attrs.frozen
class Find(PortCall):
    """The customer that owns the identity *key*: a `CustomerRecord | None`."""

    method: ClassVar[str] = "find"

    key: tuple[str, str]


@attrs.frozen
class HasIdentityKind(PortCall):
    """Whether any identity of *kind* is stored: a `bool`."""

    method: ClassVar[str] = "has_identity_kind"

    kind: str


@attrs.frozen
class MergesOf(PortCall):
    """The merges and links that built the customer, oldest first: a `list[MergeRow]`."""

    method: ClassVar[str] = "merges"

    customer_id: str


@attrs.frozen
class TouchpointById(PortCall):
    """One touchpoint by message id: a `Touchpoint | None`."""

    method: ClassVar[str] = "touchpoint"

    message_id: str


@attrs.frozen
class Secret(PortCall):
    """The store's own key: `bytes`."""

    method: ClassVar[str] = "secret"


@attrs.frozen
class Scrub(PortCall):
    """Remove what an erasure left in the store's files: whether nothing is left, a `bool`."""

    method: ClassVar[str] = "scrub"


@attrs.frozen(kw_only=True)
class TouchpointsOf(PortCall):
    """The customer's touchpoints with `since <= occurred_at < until`: a `list[Touchpoint]`."""

    method: ClassVar[str] = "touchpoints"

    customer_id: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int | None = None
    newest_first: bool = False

    def ask(self, port: Any) -> Any:
        """`port.touchpoints(...)`, its options by keyword."""
        return port.touchpoints(
            self.customer_id,
            since=self.since,
            until=self.until,
            limit=self.limit,
            newest_first=self.newest_first,
        )


@attrs.frozen
class OpenCustomers(PortCall):
    """Every customer, in id order: a cursor for `NextCustomers` (the port's iterator)."""

    method: ClassVar[str] = "iter_customers"

    batch_size: int

    def ask(self, port: Any) -> Any:
        """The port's iterator (an `AsyncIterator` of an async port), not yet read."""
        return port.iter_customers(batch_size=self.batch_size)


@attrs.frozen
class NextCustomers(PortCall):
    """The next *limit* customers of *cursor*: a `list[CustomerRecord]`, empty at the end."""

    method: ClassVar[str] = "__next__"

    cursor: Iterator[CustomerRecord] | AsyncIterator[CustomerRecord]
    limit: int

    def ask(self, port: Any) -> Any:  # noqa: ARG002 - the cursor holds the port
        """Read the page: a list, or what to await for it of an async cursor."""
        if isinstance(self.cursor, Iterator):
            return list(itertools.islice(self.cursor, self.limit))
        return _apage(self.cursor, self.limit)


async def _apage(cursor: AsyncIterator[CustomerRecord], limit: int) -> list[CustomerRecord]:
    page: list[CustomerRecord] = []
    async for record in cursor:
        page.append(record)
        if len(page) >= limit:
            break
    return page


@attrs.frozen
class InTransaction:
    """
    Run the engine's *flow* inside one write transaction of the store: what *flow* returns.

    Either all the flow writes is stored or none of it (an error inside rolls it back).
    """

    flow: Generator[Any, Any, Any]


@attrs.frozen
class DeliveryById(PortCall):
    """One delivery of the outbox by id: a `Delivery | None`."""

    method: ClassVar[str] = "delivery"

    delivery_id: str


@attrs.frozen(kw_only=True)
class ListDeliveries(PortCall):
    """Deliveries, newest first: a `list[Delivery]` (see `OutboxStore.list_deliveries`)."""

    method: ClassVar[str] = "list_deliveries"

    statuses: list[str] | None
    customer_id: str | None
    limit: int

    def ask(self, port: Any) -> Any:
        return port.list_deliveries(
            statuses=self.statuses, customer_id=self.customer_id, limit=self.limit
        )


@attrs.frozen
class SendVia:
    """
    Hand each batch's envelopes to its connector, one attempt each: a `list[list[SendResult]]`.

    *batches* are `(connector, envelopes)` pairs. `drive` sends one after another with
    `send`; `adrive` awaits `asend`, every batch at once and at most *concurrency* sends at once
    per connector (a sync-only connector's sends run in worker threads).
    """

    batches: list[tuple[Any, list[Any]]]
    concurrency: int = 32

    def ask(self, port: Any) -> list[list[Any]]:  # noqa: ARG002 - connectors answer, not the store
        answers = []
        for connector, envelopes in self.batches:
            send = getattr(connector, "send", None)
            if send is None:
                raise ConnectorError(
                    f"connector {connector.name!r} is async only: send with AsyncHub"
                )
            answers.append([_attempt(send, envelope) for envelope in envelopes])
        return answers

    async def aask(self) -> list[list[Any]]:
        async def batch(connector: Any, envelopes: list[Any]) -> list[Any]:
            gate = asyncio.Semaphore(self.concurrency)
            asend = getattr(connector, "asend", None)

            async def one(envelope: Any) -> Any:
                async with gate:
                    try:
                        if asend is not None:
                            return await asend(envelope)
                        return await asyncio.to_thread(connector.send, envelope)
                    except Exception as exc:  # noqa: BLE001 - one send's failure is its result
                        return _failed(exc)

            return list(await asyncio.gather(*(one(e) for e in envelopes)))

        return list(await asyncio.gather(*(batch(c, e) for c, e in self.batches)))


def _attempt(send: Any, envelope: Any) -> Any:
    try:
        return send(envelope)
    except Exception as exc:  # noqa: BLE001 - one send's failure is its result, not the batch's
        return _failed(exc)


def _failed(exc: Exception) -> Any:
    """
    A connector's exception as a send result, so that its batch is still settled.

    A `ValidationError` (the rendition breaks the connector's limits) was raised before
    anything went out: refused. Anything else may have come after the request left: unknown.
    """
    if isinstance(exc, ValidationError):
        return Refused(code="invalid", reason=str(exc))
    return Unknown(reason=f"the connector raised {type(exc).__name__}: {exc}")


# -- requests of the driver ---------------------------------------------------------------------


@attrs.frozen
class Blocking:
    """
    What *call* returns: work that holds the thread doing it (parsing a large payload, a file).

    `drive` calls it in place; `adrive` in a worker thread, so that the event loop goes on
    serving other tasks meanwhile. Either way its result, or its error, is the flow's answer.
    """

    call: Callable[[], Any]


@attrs.frozen
class Page:
    """
    Hand *items* to the caller of a streaming verb; the flow goes on when they asked for more.

    Only `drive_pages` and `adrive_pages` answer it (with `None`).
    """

    items: list[Any]


# -- the drivers --------------------------------------------------------------------------------


def _answer(request: object, port: Any) -> tuple[object, Exception | None]:
    """The answer to *request* from the sync *port*, or the error asking raised."""
    try:
        if isinstance(request, InTransaction):
            with port.transaction() as tx:
                return drive(request.flow, tx), None
        if isinstance(request, Blocking):
            return request.call(), None
        return cast("PortCall", request).ask(port), None
    except Exception as exc:  # noqa: BLE001 - the flow handles it, or it propagates
        return None, exc


async def _aanswer(request: object, port: Any) -> tuple[object, Exception | None]:
    """`_answer`, awaited: from the async *port*, and `Blocking` work in a worker thread."""
    try:
        if isinstance(request, InTransaction):
            runner = getattr(port, "run_transaction", None)
            if runner is not None:  # a sync store's transaction, whole, in a thread
                return await runner(request.flow), None
            async with port.transaction() as tx:
                return await adrive(request.flow, tx), None
        if isinstance(request, Blocking):
            return await asyncio.to_thread(request.call), None
        if isinstance(request, SendVia):
            return await request.aask(), None
        answer = cast("PortCall", request).ask(port)
        return (await answer if inspect.isawaitable(answer) else answer), None
    except Exception as exc:  # noqa: BLE001 - the flow handles it, or it propagates
        return None, exc


def drive(flow: EngineFlow[_T] | HubFlow[_T], port: Any) -> _T:
    """
    Run *flow*, answering each request from the sync *port*; return what the flow returns.

    *port* is an `IngestTransaction` for an engine's flow, a `Store` for a verb's.
    """
    answer: object = None
    error: Exception | None = None
    while True:
        try:
            request = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        answer, error = _answer(request, port)


async def adrive(flow: EngineFlow[_T] | HubFlow[_T], port: Any) -> _T:
    """`drive`, awaiting each answer of the async *port* (an `AsyncIngestTransaction`, an `AsyncStore`)."""
    answer: object = None
    error: Exception | None = None
    while True:
        try:
            request = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: _T = stop.value
            return result
        answer, error = await _aanswer(request, port)


def drive_pages(flow: HubFlow[None], port: Any) -> Iterator[list[Any]]:
    """The `Page`s of a streaming verb's *flow*, each request answered from the sync *port*."""
    answer: object = None
    error: Exception | None = None
    try:
        while True:
            try:
                request = flow.send(answer) if error is None else flow.throw(error)
            except StopIteration:
                return
            if isinstance(request, Page):
                yield request.items
                answer, error = None, None
            else:
                answer, error = _answer(request, port)
    finally:
        flow.close()  # a caller that stops reading ends the flow (and the store's cursor)


async def adrive_pages(flow: HubFlow[None], port: Any) -> AsyncGenerator[list[Any], None]:
    """`drive_pages`, awaiting each answer of the async *port*."""
    answer: object = None
    error: Exception | None = None
    try:
        while True:
            try:
                request = flow.send(answer) if error is None else flow.throw(error)
            except StopIteration:
                return
            if isinstance(request, Page):
                yield request.items
                answer, error = None, None
            else:
                answer, error = await _aanswer(request, port)
    finally:
        flow.close()
