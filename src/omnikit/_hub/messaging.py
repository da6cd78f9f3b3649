"""The hub's messaging verbs: send under the contact policy, dispatch the outbox, hear receipts."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from omnikit._engines.outbox import next_in
from omnikit._engines.policy import Action, judge
from omnikit._engines.sending import (
    Claimed,
    Held,
    Release,
    SendRequest,
    apply_events,
    claim,
    record_send,
    settle,
    settle_unknown,
    suppressed_now,
)
from omnikit._hub.flows import (
    CustomerById,
    DeliveryById,
    HubFlow,
    InTransaction,
    ListDeliveries,
    SendVia,
)
from omnikit._hub.ingestion import Ingestion
from omnikit._models.outbound import (
    Delivery,
    DeliveryStatus,
    EventKind,
    Guarantee,
    InboundRequest,
    ProviderEvent,
    Rendition,
    SendResult,
    Transient,
    Unknown,
)
from omnikit._models.results import DispatchReport, ReceiveReport, Rejection
from omnikit.errors import ConnectorError, NotFoundError, ReplayError, ValidationError

if TYPE_CHECKING:
    from omnikit._hub._core import CustomerRef
    from omnikit._models.customers import Customer

__all__ = ["Messaging"]

S = DeliveryStatus


_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{3,30}")
"""What an inbound address that is a phone number looks like (the engine normalises it)."""

_UNRECORDED = 10_000
"""The most webhook requests a hub remembers as verified but not recorded."""


def _fingerprint(request: InboundRequest) -> bytes:
    """What identifies a webhook request: its URL, headers and body."""
    digest = hashlib.sha256(request.url.encode())
    for name in sorted(request.headers):
        digest.update(f"\n{name}:{request.headers[name]}".encode())
    digest.update(b"\n\n" + request.body)
    return digest.digest()


class Messaging(Ingestion):
    """The messaging verbs of `Hub` (see there)."""

    def _require_outbox(self) -> None:
        """Refuse to send over a store without an outbox (the driver knows its store)."""

    def send(
        self,
        customer: CustomerRef,
        message: Any,
        *,
        channel: str | None = None,
        purpose: str = "marketing",
        key: str | None = None,
        to: str | None = None,
        guarantee: Guarantee | str = Guarantee.AT_MOST_ONCE,
        variables: Mapping[str, Any] | None = None,
        name: str | None = None,
        now: dt.datetime | None = None,
    ) -> Delivery:
        """
        Send *message* to *customer*, through the outbox and under the contact policy.

        The send is judged (consent for *purpose* on the channel, suppressions, frequency
        caps, quiet hours in the customer's time zone) and recorded in the outbox in one
        write transaction of the store, before any provider is called; then, if it may go
        now, it is attempted once. What is returned says where it stands:

        - `sent`: a provider accepted it (`provider_message_id`);
        - `deferred`: quiet hours hold it until `due_at`; `Hub.dispatch()` sends it then;
        - `refused`: the policy or the provider refused it, and `reason` says why;
        - `queued`: the attempt failed in a way worth retrying; `dispatch()` retries it;
        - `unknown`: the provider may have it (no answer came); under `at_most_once` it is
          never sent again unless a receipt or `Hub.settle()` says otherwise.

        Args:
            customer: A customer or a customer id.
            message: An `omnikit.Message`, rendered for the channel chosen.
            channel: The channel to send on; `None` picks the customer's preferred channel,
                then the policy's fallback chain, the first one the policy allows.
            purpose: What the message is for: `"marketing"` needs an opt-in on the channel;
                `"transactional"` and `"service"` need only the absence of a refusal.
            key: An idempotency key: a second send with the same key returns the first
                delivery and sends nothing.
            to: The address to use on *channel*, instead of the customer's own.
            guarantee: `at_most_once` (default) or `at_least_once` for a message that must
                arrive even if twice (a one-time code).
            variables: Values for the message's template, besides `customer`.
            name: A label for reports (the campaign or message name).
            now: The moment of the send (default: the hub's clock).

        Raises:
            NotFoundError: If *customer* is unknown.
            ValidationError: If the message breaks the chosen channel's limits (nothing is
                recorded), or an argument is wrong.

        Added in version 0.1.0.
        """
        self._require_outbox()
        if to is not None and channel is None:
            raise ValidationError("to: an address needs its channel (channel=...)")
        if channel is not None:
            self.channels.require(channel, field="channel")
        ask = self._send_request(
            message,
            purpose=purpose,
            channel=channel,
            to=to,
            key=key,
            guarantee=Guarantee(guarantee),
            variables=variables,
            name=name,
            now=now,
        )
        return self._run(self._sent(customer, ask, now))

    def _sent(
        self, customer: CustomerRef, ask_for: Any, now: dt.datetime | None
    ) -> HubFlow[Delivery]:
        stored = yield from self._customer_record(customer)
        ask: SendRequest = ask_for(self._anchor(stored))
        moment = now or self._now()
        delivery: Delivery = yield InTransaction(record_send(stored, ask, moment))
        if delivery.status != S.QUEUED or delivery.id != ask.delivery_id:
            return delivery
        done = yield from self._attempted([delivery.id], limit=1, now=moment)
        return next((d for d in done if d.id == delivery.id), delivery)

    def _send_request(self, message: Any, **fields: Any) -> Any:
        variables = dict(fields.pop("variables") or {})
        moment: dt.datetime | None = fields.pop("now")
        outbound = self.outbound

        def render(customer: Customer, channel: str, address: str) -> Rendition:
            at = moment or self._now()
            return self._render(message, customer, channel, address, variables, now=at)

        def made(anchor: Any) -> SendRequest:
            return SendRequest(
                delivery_id=f"dlv_{uuid.uuid4().hex}",
                address=fields["to"],
                policy=outbound.policy,
                connectors=outbound.by_channel,
                render=render,
                build=self._build_customer,
                own_touchpoint=self._own_touchpoint,
                config=self._ingest_config(),
                anchor=anchor,
                **{k: v for k, v in fields.items() if k != "to"},
            )

        return made

    def _render(
        self,
        message: Any,
        customer: Customer,
        channel: str,
        address: str,
        variables: Mapping[str, Any],
        *,
        now: dt.datetime,
    ) -> Rendition:
        """*message* as *channel* carries it to *address* at *now* (see `omnikit.Message`)."""
        if isinstance(message, str):  # plain text, the same on every channel
            return Rendition(channel=channel, to=address, text=message)
        from omnikit._engines.render import render  # noqa: PLC0415 - the templates load lazily
        from omnikit.rules._data import decision_data  # noqa: PLC0415

        stats = customer.stats.per_channel.get(channel)
        rendition: Rendition = render(
            message,
            channel,
            to=address,
            variables=variables,
            customer_context=decision_data(customer, now=now)["customer"],
            brand=self.outbound.brand,
            now=now,
            last_inbound_at=stats.last_seen if stats is not None else None,
        )
        return rendition

    # -- the outbox --------------------------------------------------------------------------

    def dispatch(self, *, limit: int = 100, now: dt.datetime | None = None) -> DispatchReport:
        """
        Attempt up to *limit* deliveries that are due: queued, retrying, or deferred until now.

        Nothing runs in the background: call it from the host's scheduler (a cron job, a
        Celery beat, a loop in a worker). Each delivery is claimed (leased) before its
        provider is called, so several dispatchers never send one delivery twice; one whose
        dispatcher died mid-attempt is settled by its guarantee when its lease lapses.
        Connectors are rate-limited (`send_rates`) and a failing one is skipped for a while
        (a circuit breaker), its deliveries moving to the channel's next connector.

        Returns:
            What happened: the deliveries it touched, and counts by status.

        Added in version 0.1.0.
        """
        self._require_outbox()
        if limit < 1:
            raise ValidationError("limit: must be at least 1")
        return self._run(self._dispatch(limit, now))

    def _dispatch(self, limit: int, now: dt.datetime | None) -> HubFlow[DispatchReport]:
        moment = now or self._now()
        done = yield from self._attempted(None, limit=limit, now=moment)
        return DispatchReport.of(done)

    def _attempted(
        self, ids: Collection[str] | None, *, limit: int, now: dt.datetime
    ) -> HubFlow[list[Delivery]]:
        outbound = self.outbound
        config = self._ingest_config()
        claimed: Claimed = yield InTransaction(
            claim(
                ids,
                now=now,
                lease=outbound.lease,
                limit=limit,
                backoff=outbound.retry,
                own_touchpoint=self._own_touchpoint,
                config=config,
            )
        )
        outcomes: list[tuple[Delivery, SendResult | Release | Held, str | None]] = []
        by_connector: dict[str | None, list[Delivery]] = {}
        held = yield from self._rechecked(claimed.attempt, now)
        outcomes.extend((d, held[d.id], None) for d in claimed.attempt if d.id in held)
        for delivery in claimed.attempt:
            if delivery.id not in held:
                by_connector.setdefault(delivery.connector, []).append(delivery)
        batches: list[tuple[Any, list[Delivery]]] = []
        for name, group in by_connector.items():
            connector, ready, stopped = self._gate(name, group, now)
            outcomes.extend(stopped)
            if ready:
                batches.append((connector, ready))
        if batches:  # every connector's sends at once: a slow provider holds up no other
            results: list[list[SendResult]] = yield SendVia(
                [(connector, [d.envelope() for d in ready]) for connector, ready in batches],
                outbound.concurrency,
            )
            for (connector, ready), answers in zip(batches, results, strict=True):
                outcomes.extend(self._answered(connector, ready, answers, now))
        settled: list[Delivery] = (
            (
                yield InTransaction(
                    settle(
                        outcomes,
                        now=now,
                        backoff=outbound.retry,
                        own_touchpoint=self._own_touchpoint,
                        config=config,
                    )
                )
            )
            if outcomes
            else []
        )
        return [*claimed.settled, *settled]

    def _rechecked(self, claimed: list[Delivery], now: dt.datetime) -> HubFlow[dict[str, Held]]:
        """
        The contact policy again, for each delivery as it comes due: what it now holds back.

        Consent may have been withdrawn or lapsed, and quiet hours begun, since the send was
        recorded (a deferred message, a retry): the wall stands at every attempt. Caps were
        counted when the send was recorded, and are not counted again.
        """
        outbound = self.outbound
        customers: dict[str, Customer | None] = {}
        held: dict[str, Held] = {}
        refs = {(d.channel, d.address) for d in claimed if d.address is not None}
        suppressed: set[tuple[str, str]] = (
            (yield InTransaction(suppressed_now(refs))) if refs else set()
        )
        for delivery in claimed:
            if delivery.customer_id not in customers:
                record = yield CustomerById(delivery.customer_id)
                customers[delivery.customer_id] = (
                    None if record is None else self._build_customer(record)
                )
            customer = customers[delivery.customer_id]
            if customer is None:
                held[delivery.id] = Held(status=S.REFUSED, reason="the customer is gone")
                continue
            verdict = judge(
                outbound.policy,
                customer,
                purpose=delivery.purpose,
                now=now,
                channel=delivery.channel,
                sendable=outbound.by_channel.keys(),
                suppressed=suppressed,
                address=delivery.address,
            )
            if verdict.action == Action.REFUSE:
                held[delivery.id] = Held(status=S.REFUSED, reason=verdict.reason)
            elif verdict.action == Action.DEFER:
                held[delivery.id] = Held(
                    status=S.DEFERRED, reason=verdict.reason, due_at=verdict.until
                )
        return held

    def _gate(
        self, name: str | None, group: list[Delivery], now: dt.datetime
    ) -> tuple[Any, list[Delivery], list[tuple[Delivery, SendResult | Release | Held, str | None]]]:
        """
        The connector *name* for *group*, the deliveries it may take now, and those it may not.

        A connector the hub no longer has hands its deliveries to the channel's first; an open
        breaker to the channel's next (or holds them until it lets one through); the rate limit
        holds the rest until their tokens come.
        """
        outbound = self.outbound
        connector = outbound.by_name.get(name or "")
        order = outbound.by_channel.get(group[0].channel, ())
        if connector is None:
            first = order[0] if order else None
            if first is None:
                gone = Transient(
                    code="no_connector",
                    reason=f"no connector named {name!r}",
                    safe_to_retry=True,  # it never left
                )
                return None, [], [(d, gone, None) for d in group]
            return None, [], [(d, Release(due_at=now), first) for d in group]
        moment = now.timestamp()
        breaker = outbound.breakers[connector.name]
        if not breaker.allows(moment):
            alternative = next_in(order, connector.name)
            reopens = breaker.reopens_at() or moment
            due = now if alternative else dt.datetime.fromtimestamp(reopens, dt.UTC)
            return connector, [], [(d, Release(due_at=due), alternative) for d in group]
        ready, held = self._within_rate(connector.name, group, now)
        stopped: list[tuple[Delivery, SendResult | Release | Held, str | None]] = list(held)
        if breaker.reopens_at() is not None and len(ready) > 1:
            # Half open: one attempt tells whether the provider is back; the rest wait for it.
            stopped.extend((d, Release(due_at=now), None) for d in ready[1:])
            ready = ready[:1]
        return connector, ready, stopped

    def _answered(
        self, connector: Any, ready: list[Delivery], results: list[SendResult], now: dt.datetime
    ) -> list[tuple[Delivery, SendResult | Release | Held, str | None]]:
        """Each attempt's result, counted by the connector's breaker, with where to fail over."""
        breaker = self.outbound.breakers[connector.name]
        order = self.outbound.by_channel.get(connector.channel, ())
        outcomes: list[tuple[Delivery, SendResult | Release | Held, str | None]] = []
        for delivery, result in zip(ready, results, strict=True):
            breaker.record(result, now.timestamp())
            failed = isinstance(result, Transient | Unknown)
            outcomes.append((delivery, result, next_in(order, connector.name) if failed else None))
        return outcomes

    def _within_rate(
        self, name: str, group: list[Delivery], now: dt.datetime
    ) -> tuple[list[Delivery], list[tuple[Delivery, Release, None]]]:
        bucket = self.outbound.buckets.get(name)
        if bucket is None:
            return group, []
        ready, held = [], []
        for delivery in group:
            wait = bucket.take(now.timestamp())
            if wait == 0.0:
                ready.append(delivery)
            else:
                held.append((delivery, Release(due_at=now + dt.timedelta(seconds=wait)), None))
        return ready, held

    # -- receipts ----------------------------------------------------------------------------

    def receive(
        self,
        connector: Any,
        *,
        url: str,
        body: bytes | str,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
        now: dt.datetime | None = None,
    ) -> ReceiveReport:
        """
        Verify, parse and record a provider's webhook request, exactly as it reached the host.

        Receipts move their deliveries forward (never back: a late or repeated one changes
        nothing), each change leaving a `Message <Status>` touchpoint; an unsubscribe also
        withdraws marketing consent on the channel; inbound messages from customers are
        ingested as `Message Received` touchpoints from their address.

        Args:
            connector: The connector (or the name of one of the hub's) the webhook is for.
            url: The full public URL the provider called, with its query string.
            body: The raw body bytes, never a re-serialised form.
            headers: The request headers.
            method: The HTTP method.
            now: The moment of receipt (default: the hub's clock), for replay windows.

        Raises:
            SignatureError: If the request is not what the provider sent (forged, tampered,
                stale, replayed): nothing of it is recorded. A repeat of a request whose
                recording failed (the provider retrying it) is taken.
            ValidationError: If the body is not the provider's shape.

        Added in version 0.1.0.
        """
        self._require_outbox()
        hearer = self._hearer(connector)
        request = InboundRequest(method=method, url=url, headers=headers or {}, body=body)
        moment = now or self._now()
        fingerprint = _fingerprint(request)
        try:
            hearer.verify(request, now=moment)
        except ReplayError:
            # The provider's retry of a request verified here whose recording then failed
            # is taken; any other repeat is refused.
            if fingerprint not in self.outbound.unrecorded:
                raise
        events = hearer.parse(request)
        return self._run(self._recorded(fingerprint, self._received(hearer.name, events, moment)))

    def _recorded(self, fingerprint: bytes, flow: HubFlow[ReceiveReport]) -> HubFlow[ReceiveReport]:
        """*flow*; if it fails, the provider's retry of the request is let through."""
        unrecorded = self.outbound.unrecorded
        try:
            report = yield from flow
        except BaseException:
            unrecorded[fingerprint] = None
            while len(unrecorded) > _UNRECORDED:
                unrecorded.pop(next(iter(unrecorded)))
            raise
        unrecorded.pop(fingerprint, None)
        return report

    def _hearer(self, connector: Any) -> Any:
        found = self.outbound.by_name.get(connector) if isinstance(connector, str) else connector
        if found is None:
            raise NotFoundError("connector", str(connector))
        if not callable(getattr(found, "verify", None)) or not callable(
            getattr(found, "parse", None)
        ):
            raise ConnectorError(f"connector {found.name!r} hears no webhooks (no verify/parse)")
        return found

    def _received(
        self, name: str, events: list[ProviderEvent], now: dt.datetime
    ) -> HubFlow[ReceiveReport]:
        moved: list[Delivery] = yield InTransaction(
            apply_events(
                name,
                [e for e in events if e.kind != EventKind.INBOUND],
                peers=self.outbound.by_channel.get(self._channel_of(name), ()),
                now=now,
                own_touchpoint=self._own_touchpoint,
                config=self._ingest_config(),
            )
        )
        inbound = [e for e in events if e.kind == EventKind.INBOUND]
        messages = [self._inbound_message(name, e, now) for e in inbound if e.address]
        accepted: tuple[str, ...] = ()
        rejected: tuple[Rejection, ...] = ()
        if messages:
            result = yield from self._ingest(
                [(message, None) for message in messages], is_batch=True, source=name
            )
            accepted, rejected = result.accepted, result.rejected
        return ReceiveReport(
            events=tuple(events), deliveries=tuple(moved), ingested=accepted, rejected=rejected
        )

    def _inbound_message(self, name: str, event: ProviderEvent, now: dt.datetime) -> dict[str, Any]:
        """
        A customer's message as a track event from their address on the channel.

        An email address or a phone number is a trait the identity engine normalises; any
        other address (a chat user id) is an identity of kind `<channel>_id`.
        """
        channel = self._channel_of(name)
        address = event.address or ""
        context: dict[str, Any] = {"channel": channel}
        if "@" in address:
            context["traits"] = {"email": address}
        elif _PHONE.fullmatch(address):
            context["traits"] = {"phone": address}
        else:
            context["externalIds"] = [
                {"id": address, "type": f"{channel}_id", "collection": "users", "encoding": "none"}
            ]
        return {
            "type": "track",
            "event": "Message Received",
            "messageId": f"rcv-{name}-{event.event_id}",
            "timestamp": event.timestamp or now.isoformat(),
            "context": context,
            "properties": {"text": event.text or "", "connector": name},
        }

    def _channel_of(self, name: str) -> str:
        for channel, names in self.outbound.by_channel.items():
            if name in names:
                return channel
        return self.options.default_channel

    # -- reading and settling ----------------------------------------------------------------

    def delivery(self, delivery_id: str) -> Delivery:
        """
        One delivery of the outbox by id.

        Raises:
            NotFoundError: If there is none.

        Added in version 0.1.0.
        """
        return self._run(self._delivery(delivery_id))

    def _delivery(self, delivery_id: str) -> HubFlow[Delivery]:
        found: Delivery | None = yield DeliveryById(delivery_id)
        if found is None:
            raise NotFoundError("delivery", delivery_id)
        return found

    def deliveries(
        self,
        *,
        status: str | Collection[str] | None = None,
        customer: CustomerRef | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """
        Deliveries of the outbox, newest first: of a *status* (or several), of a customer.

        `hub.deliveries(status="dead")` is the dead-letter list; `status="unknown"` the
        messages whose fate is unknown, for the host to settle (`Hub.settle()`).

        Added in version 0.1.0.
        """
        statuses = [status] if isinstance(status, str) else status
        if statuses is not None:
            statuses = [DeliveryStatus(s).value for s in statuses]
        if limit < 1:
            raise ValidationError("limit: must be at least 1")
        return self._run(self._listed(statuses, customer, limit))

    def _listed(
        self, statuses: list[str] | None, customer: CustomerRef | None, limit: int
    ) -> HubFlow[list[Delivery]]:
        customer_id = None
        if customer is not None:
            customer_id = (yield from self._customer_record(customer)).id
        found: list[Delivery] = yield ListDeliveries(
            statuses=statuses, customer_id=customer_id, limit=limit
        )
        return found

    def settle(
        self,
        delivery_id: str,
        status: DeliveryStatus | str,
        *,
        reason: str | None = None,
        now: dt.datetime | None = None,
    ) -> Delivery:
        """
        Settle a delivery whose outcome is `unknown`, or replay a dead one.

        For an `unknown` delivery, `sent`, `delivered` or `failed` record what the host
        learned (from the provider's console, a customer's call); `queued` sends it again at
        the next `dispatch()`, which may deliver it twice: the host's decision, made
        knowingly. A `dead` delivery (its retries used up) settles only as `queued`: sent
        again at the next `dispatch()`, its attempts counted from zero.

        Raises:
            NotFoundError: If there is no such delivery.
            ValidationError: If it is neither `unknown` nor `dead`, or *status* is not one of
                those the delivery can settle as.

        Added in version 0.1.0.
        """
        wanted = DeliveryStatus(status)
        allowed = {S.SENT, S.DELIVERED, S.FAILED, S.QUEUED}
        if wanted not in allowed:
            raise ValidationError(
                f"status: {wanted.value!r}; an unknown delivery settles as sent, delivered, "
                "failed or queued"
            )
        moment = now or self._now()
        flow = settle_unknown(
            delivery_id,
            wanted,
            reason=reason,
            now=moment,
            own_touchpoint=self._own_touchpoint,
            config=self._ingest_config(),
        )
        return self._run(self._in_transaction(flow))

    def _in_transaction(self, flow: Any) -> HubFlow[Delivery]:
        done: Delivery = yield InTransaction(flow)
        return done
