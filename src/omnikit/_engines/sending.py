"""
Sending as flows, each run inside one write transaction of the store.

Record a send under the contact policy, claim due deliveries, settle them, and apply a
provider's receipts.

The flows yield the outbox's requests (below) and the ingestion engine's, and leave a
touchpoint for every change of a delivery's status (`Message Queued`, `Message Sent`,
`Message Delivered`, ...), written through the identity engine like any other touchpoint the
hub records, so rules, segments and analytics see what was sent and what became of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import attrs

from omnikit._engines.ingest import (
    Customers,
    IngestConfig,
    PortCall,
    Request,
    current_record,
    resolve,
)
from omnikit._engines.outbox import Backoff, advance, after_attempt, recovered
from omnikit._engines.policy import Action, ContactPolicy, PastSend, judge
from omnikit._engines.records import CustomerRecord, IdKey
from omnikit._models.customers import Customer
from omnikit._models.outbound import (
    Accepted,
    Delivery,
    DeliveryStatus,
    Guarantee,
    ProviderEvent,
    Rendition,
    SendResult,
)
from omnikit._models.touchpoints import Touchpoint
from omnikit.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "Claimed",
    "Held",
    "Release",
    "DeliveriesById",
    "DeliveryHistory",
    "DeliveryKeys",
    "DueDeliveries",
    "ProviderDeliveries",
    "SaveDeliveries",
    "OutboxRequest",
    "SendFlow",
    "SendRequest",
    "SuppressedAddresses",
    "apply_events",
    "claim",
    "record_send",
    "settle",
    "settle_unknown",
    "suppressed_now",
]

S = DeliveryStatus
_T = TypeVar("_T")


# -- the outbox's requests ---------------------------------------------------------------------


@attrs.frozen
class DeliveriesById(PortCall):
    """The deliveries with these ids: a `dict[str, Delivery]`."""

    method: ClassVar[str] = "deliveries"

    ids: Collection[str]


@attrs.frozen
class DeliveryKeys(PortCall):
    """The deliveries sent with these idempotency keys: a `dict[str, Delivery]`."""

    method: ClassVar[str] = "delivery_keys"

    keys: Collection[str]


@attrs.frozen
class DeliveryHistory(PortCall):
    """The customer's deliveries created after *since*: a `list[Delivery]`."""

    method: ClassVar[str] = "delivery_history"

    customer_id: str
    since: dt.datetime


@attrs.frozen
class DueDeliveries(PortCall):
    """Up to *limit* deliveries an attempt may take at *now*: a `list[Delivery]`."""

    method: ClassVar[str] = "due_deliveries"

    now: dt.datetime
    limit: int


@attrs.frozen
class ProviderDeliveries(PortCall):
    """Deliveries by `(connector, provider_message_id)`: a `dict[tuple[str, str], Delivery]`."""

    method: ClassVar[str] = "provider_deliveries"

    refs: Collection[tuple[str, str]]


@attrs.frozen
class SuppressedAddresses(PortCall):
    """Which `(channel, address)` pairs bounced or complained: a `set[tuple[str, str]]`."""

    method: ClassVar[str] = "suppressed_addresses"

    refs: Collection[tuple[str, str]]


@attrs.frozen
class SaveDeliveries(PortCall):
    """Insert or replace these deliveries; answered with `None`."""

    method: ClassVar[str] = "save_deliveries"

    deliveries: Collection[Delivery]


OutboxRequest = (
    DeliveriesById
    | DeliveryKeys
    | DeliveryHistory
    | DueDeliveries
    | ProviderDeliveries
    | SuppressedAddresses
    | SaveDeliveries
)
"""What a sending flow may ask of the outbox, besides the ingestion engine's requests."""

SendFlow = Generator[Request | OutboxRequest, Any, _T]
"""A sending flow: it yields outbox and ingestion requests, and returns a `_T`."""

# -- recording a send --------------------------------------------------------------------------

OwnTouchpoint = Callable[..., Touchpoint]
"""Makes a touchpoint the hub records about a customer (see `_HubCore._own_touchpoint`)."""


@attrs.frozen(kw_only=True)
class SendRequest:
    """
    One `Hub.send()` as the flow needs it.

    *render* makes the rendition for a channel and address from the customer as the
    transaction sees them; *connectors* names each channel's connectors in failover order.
    """

    delivery_id: str
    purpose: str
    channel: str | None
    address: str | None
    key: str | None
    guarantee: Guarantee
    name: str | None
    policy: ContactPolicy
    connectors: Mapping[str, tuple[str, ...]]
    render: Callable[[Customer, str, str], Rendition]
    build: Callable[[CustomerRecord], Customer]
    own_touchpoint: OwnTouchpoint
    config: IngestConfig
    anchor: IdKey | None


def record_send(stored: CustomerRecord, ask: SendRequest, now: dt.datetime) -> SendFlow[Delivery]:
    """
    Judge the send by the contact policy and record it, with its touchpoint: the delivery.

    A key already used returns the delivery it made, and nothing else happens.
    """
    current = yield from current_record(stored, ask.anchor)
    if ask.key is not None:
        found: dict[str, Delivery] = yield DeliveryKeys([ask.key])
        if ask.key in found:
            earlier = found[ask.key]
            same = earlier.purpose == ask.purpose and (
                ask.channel is None or earlier.channel == ask.channel
            )
            if earlier.customer_id != current.id or not same:
                raise ConflictError(
                    f"key: {ask.key!r} was used for another send (another customer, channel "
                    "or purpose); an idempotency key names one send"
                )
            return earlier
    customer = ask.build(current)
    policy = ask.policy
    longest = max((cap.per for cap in policy.caps), default=None)
    history: list[Delivery] = (
        (yield DeliveryHistory(current.id, now - longest)) if longest is not None else []
    )
    candidates = [ask.channel] if ask.channel else _channels(policy, customer)
    refs = [
        (name, to)
        for name in candidates
        if (
            to := (ask.address if name == ask.channel else None)
            or policy.address_of(customer, name)
        )
    ]
    suppressed: set[tuple[str, str]] = (yield SuppressedAddresses(refs)) if refs else set()
    verdict = judge(
        policy,
        customer,
        purpose=ask.purpose,
        now=now,
        channel=ask.channel,
        sendable=ask.connectors.keys(),
        history=[
            PastSend(channel=d.channel, purpose=d.purpose, at=d.created_at)
            for d in history
            if d.status != S.REFUSED
        ],
        suppressed=suppressed,
        address=ask.address,
    )
    delivery = _delivery(ask, current, customer, verdict, now)
    yield SaveDeliveries([delivery])
    yield from _leave_touchpoints(ask.own_touchpoint, ask.config, current, [delivery], now)
    return delivery


def _channels(policy: ContactPolicy, customer: Customer) -> list[str]:
    return list(dict.fromkeys((*customer.preferences.preferred_channels, *policy.fallback)))


def _delivery(
    ask: SendRequest, current: CustomerRecord, customer: Customer, verdict: Any, now: dt.datetime
) -> Delivery:
    tried = [name for name, _ in verdict.passed_over]
    channel = verdict.channel or ask.channel or (tried[0] if tried else "none")
    common: dict[str, Any] = {
        "id": ask.delivery_id,
        "customer_id": current.id,
        "channel": channel,
        "purpose": ask.purpose,
        "key": ask.key,
        "guarantee": ask.guarantee,
        "name": ask.name,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    if verdict.action == Action.REFUSE:
        return Delivery(status=S.REFUSED, reason=f"contact policy: {verdict.reason}", **common)
    rendition = ask.render(customer, verdict.channel, verdict.address)
    deferred = verdict.action == Action.DEFER
    return Delivery(
        status=S.DEFERRED if deferred else S.QUEUED,
        reason=f"contact policy: {verdict.reason}" if deferred else None,
        connector=ask.connectors[verdict.channel][0],
        address=verdict.address,
        rendition=rendition,
        due_at=verdict.until if deferred else now,
        **common,
    )


def _leave_touchpoints(
    own_touchpoint: OwnTouchpoint,
    config: IngestConfig,
    current: CustomerRecord | None,
    deliveries: Sequence[Delivery],
    now: dt.datetime,
    *,
    extra: Sequence[tuple[Delivery, str, Mapping[str, Any]]] = (),
) -> SendFlow[None]:
    """Record a `Message <Status>` touchpoint for each delivery (and any *extra* ones)."""
    made = []
    for delivery, name, properties in [
        *((d, f"Message {d.status.value.title()}", {}) for d in deliveries),
        *extra,
    ]:
        record = current if current is not None and current.id == delivery.customer_id else None
        if record is None:
            found: dict[str, CustomerRecord] = yield Customers([delivery.customer_id])
            record = found.get(delivery.customer_id)
            if record is None:
                continue  # erased since: nobody to record it for
        made.append(
            own_touchpoint(
                record,
                name,
                at=now,
                channel=delivery.channel,
                source="omnikit.outbox",
                properties={**_facts(delivery), **properties},
                message_id=f"omk-dlv-{delivery.id}-{delivery.version}-{_slug(name)}",
            )
        )
    if made:
        yield from resolve(made, config)


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _facts(delivery: Delivery) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "delivery_id": delivery.id,
        "status": delivery.status.value,
        "purpose": delivery.purpose,
        "attempts": delivery.attempts,
    }
    for name in ("connector", "reason", "code", "provider_message_id", "name"):
        value = getattr(delivery, name)
        if value is not None:
            facts[name] = value
    return facts


# -- attempts ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Release:
    """An attempt not made (a rate limit, an open circuit): queued again, due at *due_at*."""

    due_at: dt.datetime


@attrs.frozen(kw_only=True)
class Held:
    """
    An attempt the contact policy stopped when the delivery came due.

    Consent withdrawn or lapsed since the send was recorded (refused), or quiet hours now
    (deferred to *due_at*).
    """

    status: DeliveryStatus
    reason: str
    due_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class Claimed:
    """What `claim` took: deliveries to attempt now, and those settled without an attempt."""

    attempt: list[Delivery]
    settled: list[Delivery]


def claim(
    ids: Collection[str] | None,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    backoff: Backoff,
    own_touchpoint: OwnTouchpoint,
    config: IngestConfig,
) -> SendFlow[Claimed]:
    """
    Take deliveries for an attempt: these *ids* if still due, else up to *limit* due ones.

    Each taken is `sending`, one attempt more, leased until `now + lease`, and saved before
    any provider is called: a sender that dies leaves a lapsed lease, which the next claim
    settles as an unknown outcome (`recovered`) instead of sending again blindly.
    """
    if ids is None:
        due: list[Delivery] = yield DueDeliveries(now, limit)
    else:
        rows: dict[str, Delivery] = yield DeliveriesById(list(ids))
        due = [row for row in rows.values() if _due(row, now)]
    attempt, settled = [], []
    for row in due:
        if row.status == S.SENDING:  # its sender stopped mid-attempt
            after = recovered(row, now=now, backoff=backoff)
            settled.append(after)  # held as unknown, or queued again after its backoff
            continue
        attempt.append(
            attrs.evolve(
                row,
                status=S.SENDING,
                attempts=row.attempts + 1,
                lease_until=now + lease,
                updated_at=now,
                version=row.version + 1,
            )
        )
    if attempt or settled:
        yield SaveDeliveries([*attempt, *settled])
    if settled:
        yield from _leave_touchpoints(own_touchpoint, config, None, settled, now)
    return Claimed(attempt=attempt, settled=settled)


def _due(row: Delivery, now: dt.datetime) -> bool:
    lease_free = row.lease_until is None or row.lease_until <= now
    if row.status in {S.QUEUED, S.DEFERRED}:
        return lease_free and (row.due_at is None or row.due_at <= now)
    return row.status == S.SENDING and lease_free


def settle(
    outcomes: Sequence[tuple[Delivery, SendResult | Release | Held, str | None]],
    *,
    now: dt.datetime,
    backoff: Backoff,
    own_touchpoint: OwnTouchpoint,
    config: IngestConfig,
) -> SendFlow[list[Delivery]]:
    """
    Record each attempt's outcome, if the delivery is still as its claim left it.

    Each outcome is `(claimed, result, next_connector)`; a `Release` puts the delivery back
    untried (a rate limit or an open circuit): queued again, the attempt not counted. A
    delivery changed since its claim (a receipt came first) keeps what it has.
    """
    rows: dict[str, Delivery] = yield DeliveriesById([claimed.id for claimed, _, _ in outcomes])
    changed = []
    for claimed, result, next_connector in outcomes:
        current = rows.get(claimed.id)
        if current != claimed:
            # Changed since the claim: a receipt came first, or the lease lapsed and another
            # dispatch took it back. A provider's acceptance still counts: it was sent.
            if (
                current is not None
                and isinstance(result, Accepted)
                and current.status in {S.UNKNOWN, S.QUEUED, S.SENDING, S.DEAD}
            ):
                changed.append(
                    after_attempt(current, result, now=now, backoff=backoff, next_connector=None)
                )
            continue
        if isinstance(result, Held):
            changed.append(
                attrs.evolve(
                    claimed,
                    status=result.status,
                    reason=f"contact policy: {result.reason}",
                    attempts=claimed.attempts - 1,
                    lease_until=None,
                    due_at=result.due_at,
                    updated_at=now,
                    version=claimed.version + 1,
                )
            )
            continue
        if isinstance(result, Release):
            changed.append(
                attrs.evolve(
                    claimed,
                    status=S.QUEUED,
                    attempts=claimed.attempts - 1,
                    lease_until=None,
                    due_at=result.due_at,
                    connector=next_connector or claimed.connector,
                    updated_at=now,
                    version=claimed.version + 1,
                )
            )
            continue
        changed.append(
            after_attempt(claimed, result, now=now, backoff=backoff, next_connector=next_connector)
        )
    if changed:
        yield SaveDeliveries(changed)
        released = {c.id for c, r, _ in outcomes if isinstance(r, Release)}
        shown = [d for d in changed if d.id not in released]
        yield from _leave_touchpoints(own_touchpoint, config, None, shown, now)
    return changed


def settle_unknown(
    delivery_id: str,
    status: DeliveryStatus,
    *,
    reason: str | None,
    now: dt.datetime,
    own_touchpoint: OwnTouchpoint,
    config: IngestConfig,
) -> SendFlow[Delivery]:
    """
    Settle an `unknown` delivery as the host says, or queue a dead one again.

    An unknown one settles as sent, delivered, failed or queued; a dead one only as queued,
    its attempts counted from zero.
    """
    rows: dict[str, Delivery] = yield DeliveriesById([delivery_id])
    row = rows.get(delivery_id)
    if row is None:
        raise NotFoundError("delivery", delivery_id)
    replay = row.status == S.DEAD and status == S.QUEUED
    if row.status != S.UNKNOWN and not replay:
        raise ValidationError(
            f"status: delivery {delivery_id} is {row.status.value}, not unknown: only an "
            "unknown outcome is the host's to settle (and a dead one to queue again)"
        )
    settled = attrs.evolve(
        row,
        status=status,
        attempts=0 if replay else row.attempts,
        reason=reason or f"settled by the host as {status.value}",
        due_at=now if status == S.QUEUED else None,
        updated_at=now,
        version=row.version + 1,
    )
    yield SaveDeliveries([settled])
    yield from _leave_touchpoints(own_touchpoint, config, None, [settled], now)
    return settled


def suppressed_now(refs: Collection[tuple[str, str]]) -> SendFlow[set[tuple[str, str]]]:
    """Which `(channel, address)` pairs bounced or drew a complaint, as the outbox holds now."""
    found: set[tuple[str, str]] = (yield SuppressedAddresses(list(refs))) if refs else set()
    return found


# -- receipts ----------------------------------------------------------------------------------


def apply_events(
    connector: str,
    events: Sequence[ProviderEvent],
    *,
    peers: Collection[str] = (),
    now: dt.datetime,
    own_touchpoint: OwnTouchpoint,
    config: IngestConfig,
) -> SendFlow[list[Delivery]]:
    """
    Move each delivery a status or engagement event is about; what moved, once each.

    The event finds its delivery by our id when the provider echoed it, else by the
    provider's message id; only a delivery of *connector* (or of its channel's other
    connectors, *peers*, which failover may have used) is moved. A status that would move a delivery backwards, or repeats one,
    changes nothing; an unsubscribe also records an `Unsubscribed` touchpoint, which
    withdraws the customer's marketing consent on that channel.
    """
    ids = [e.delivery_id for e in events if e.delivery_id]
    refs = [(connector, e.provider_message_id) for e in events if e.provider_message_id]
    by_id: dict[str, Delivery] = (yield DeliveriesById(ids)) if ids else {}
    by_ref: dict[tuple[str, str], Delivery] = (yield ProviderDeliveries(refs)) if refs else {}
    current: dict[str, Delivery] = {}
    transitions: list[Delivery] = []
    extra: list[tuple[Delivery, str, Mapping[str, Any]]] = []
    for event in events:
        if event.status is None:
            continue
        row = by_id.get(event.delivery_id or "") or by_ref.get(
            (connector, event.provider_message_id or "")
        )
        if row is None or (row.connector not in {connector, *peers}):
            continue  # another connector's delivery: its provider, not this one, reports on it
        row = current.get(row.id, row)
        status = advance(row.status, event.status)
        if status is None:
            continue
        current[row.id] = moved = attrs.evolve(
            row,
            status=status,
            code=event.code or row.code,
            reason=event.reason or row.reason,
            provider_message_id=row.provider_message_id or event.provider_message_id,
            updated_at=now,
            version=row.version + 1,
        )
        transitions.append(moved)
        if status == S.UNSUBSCRIBED:
            extra.append((moved, "Unsubscribed", {"channel": row.channel}))
    if current:
        yield SaveDeliveries(list(current.values()))
        yield from _leave_touchpoints(own_touchpoint, config, None, transitions, now, extra=extra)
    return list(current.values())
