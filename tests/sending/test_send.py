"""Hub.send, dispatch, receive and settle over every store kind, through the memory connector."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

import omnikit
from omnikit import ContactPolicy, Delivery, DeliveryStatus, DispatchReport, FrequencyCap, Hub
from omnikit._engines.outbox import Backoff
from omnikit._engines.sending import settle
from omnikit.connectors import Accepted, Refused, Transient, Unknown
from omnikit.connectors.memory import MemoryConnector
from omnikit.stores import Store
from omnikit.stores.postgres import AsyncPostgresStore
from omnikit.testing import FrozenClock

# 14:00 in Lisbon, in winter (UTC+0)
NOON = dt.datetime(2026, 12, 5, 14, tzinfo=dt.UTC)


def make_hub(
    store: Store,
    *connectors: MemoryConnector,
    policy: ContactPolicy | None = None,
    **options: object,
) -> tuple[Hub, FrozenClock]:
    clock = FrozenClock(NOON)
    hub = Hub(
        store,
        connectors=connectors or [MemoryConnector("email")],
        contact_policy=policy or ContactPolicy(timezone="Europe/Lisbon"),
        clock=clock,
        **options,  # type: ignore[arg-type]
    )
    return hub, clock


def customer(
    hub: Hub, email: str = "ana@example.com", *, consent: bool = True, **traits: object
) -> str:
    hub.identify(user_id=email.split("@", maxsplit=1)[0], traits={"email": email, **traits})
    found = hub.customer(email=email)
    if consent:
        hub.set_consent(found, purpose="marketing", granted=True, channel="email")
    return found.id


def test_a_consented_marketing_message_is_sent_and_recorded(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Our winter sale starts today", channel="email", name="winter")
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == "mem-1"
    assert (delivery.channel, delivery.connector, delivery.address, delivery.attempts) == (
        "email",
        "memory-email",
        "ana@example.com",
        1,
    )
    [envelope] = email.sent
    assert envelope.id == delivery.id
    assert envelope.rendition.text == "Our winter sale starts today"
    assert hub.delivery(delivery.id) == delivery
    names = [tp.name for tp in hub.touchpoints(cid)]
    assert "Message Queued" in names
    assert "Message Sent" in names


def test_marketing_without_consent_is_refused_and_nothing_goes_out(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub, consent=False)
    delivery = hub.send(cid, "Sale!", channel="email")
    assert delivery.status == DeliveryStatus.REFUSED
    assert "no marketing consent" in (delivery.reason or "")
    assert email.attempts == []
    assert delivery.rendition is None


def test_transactional_needs_no_opt_in_but_respects_a_refusal(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub, consent=False)
    assert (
        hub.send(cid, "Your order shipped", channel="email", purpose="transactional").status
        == DeliveryStatus.SENT
    )
    hub.set_consent(cid, purpose="transactional", granted=False, channel="email")
    refused = hub.send(cid, "Your order arrived", channel="email", purpose="transactional")
    assert refused.status == DeliveryStatus.REFUSED
    assert len(email.sent) == 1


def test_quiet_hours_defer_until_the_morning_in_the_customers_zone(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub, "kai@example.com", timezone="Asia/Tokyo")
    assert hub.customer(cid).preferences.timezone == "Asia/Tokyo"
    # 14:00 UTC is 23:00 in Tokyo: inside the default 21:00-08:00 quiet hours
    delivery = hub.send(cid, "Sale!", channel="email")
    assert delivery.status == DeliveryStatus.DEFERRED
    assert delivery.due_at == dt.datetime(2026, 12, 5, 23, tzinfo=dt.UTC)  # 08:00 in Tokyo
    assert email.attempts == []
    clock.advance(hours=8, minutes=59)
    assert hub.dispatch().counts == {}
    clock.advance(minutes=1)
    report = hub.dispatch()
    assert report.counts == {"sent": 1}
    assert len(email.sent) == 1


def test_a_frequency_cap_holds(store: Store) -> None:
    email = MemoryConnector("email")
    policy = ContactPolicy(
        caps=(FrequencyCap(limit=2, per=dt.timedelta(days=1)),), quiet_hours=None
    )
    hub, clock = make_hub(store, email, policy=policy)
    cid = customer(hub)
    statuses = []
    for _ in range(3):
        statuses.append(hub.send(cid, "Sale!", channel="email").status)
        clock.advance(hours=1)
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.REFUSED]
    clock.advance(days=1)
    assert hub.send(cid, "Sale!", channel="email").status == DeliveryStatus.SENT


def test_the_same_key_never_sends_twice(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    first = hub.send(cid, "Code 1234", channel="email", purpose="transactional", key="otp-1")
    again = hub.send(cid, "Code 1234", channel="email", purpose="transactional", key="otp-1")
    assert first == again
    assert len(email.attempts) == 1


def test_without_a_channel_the_fallback_chain_picks_the_first_that_can_go(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Hello")
    assert (delivery.status, delivery.channel) == (DeliveryStatus.SENT, "email")


def test_a_safe_transient_failure_is_retried_after_its_wait(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub)
    email.script(Transient(code="429", reason="slow down", retry_after=30, safe_to_retry=True))
    delivery = hub.send(cid, "Sale!", channel="email")
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.due_at is not None
    assert delivery.due_at >= NOON + dt.timedelta(seconds=30)
    assert hub.dispatch().counts == {}  # not due yet
    clock.advance(seconds=40)
    assert hub.dispatch().counts == {"sent": 1}
    assert hub.delivery(delivery.id).attempts == 2


def test_an_unknown_outcome_is_held_not_resent_and_the_host_settles_it(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub)
    email.script(Unknown(reason="read timeout"))
    delivery = hub.send(cid, "Sale!", channel="email")
    assert delivery.status == DeliveryStatus.UNKNOWN
    clock.advance(hours=2)
    assert hub.dispatch().counts == {}
    assert [d.id for d in hub.deliveries(status="unknown")] == [delivery.id]
    requeued = hub.settle(delivery.id, "queued", reason="provider console shows nothing")
    assert requeued.status == DeliveryStatus.QUEUED
    assert hub.dispatch().counts == {"sent": 1}
    with pytest.raises(omnikit.ValidationError, match="not unknown"):
        hub.settle(delivery.id, "sent")


def test_a_5xx_that_may_have_been_stored_is_unknown_at_most_once_and_retried_at_least_once(
    store: Store,
) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub)
    email.script(Transient(code="500", reason="internal"), Transient(code="500", reason="internal"))
    assert hub.send(cid, "Sale!", channel="email").status == DeliveryStatus.UNKNOWN
    code = hub.send(
        cid, "Code 99", channel="email", purpose="transactional", guarantee="at_least_once"
    )
    assert code.status == DeliveryStatus.QUEUED
    clock.advance(hours=1)
    assert hub.dispatch().counts == {"sent": 1}


def test_a_provider_refusal_is_final_with_its_code(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub)
    email.script(Refused(code="550", reason="mailbox unavailable"))
    delivery = hub.send(cid, "Sale!", channel="email")
    assert (delivery.status, delivery.code) == (DeliveryStatus.REFUSED, "550")
    clock.advance(days=1)
    assert hub.dispatch().counts == {}


def test_retries_end_in_the_dead_letter_list(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email, retry=omnikit.Backoff(attempts=3, initial=1, jitter=0))
    cid = customer(hub)
    email.script(*[Transient(code="503", reason="down", safe_to_retry=True)] * 3)
    delivery = hub.send(cid, "Sale!", channel="email")
    for _ in range(4):
        clock.advance(hours=1)
        hub.dispatch()
    dead = hub.delivery(delivery.id)
    assert dead.status == DeliveryStatus.DEAD
    assert dead.attempts == 3
    assert [d.id for d in hub.deliveries(status="dead")] == [delivery.id]
    replayed = hub.settle(delivery.id, "queued")  # the dead-letter list, replayed
    assert (replayed.status, replayed.attempts) == (DeliveryStatus.QUEUED, 0)
    assert hub.dispatch().counts == {"sent": 1}


def test_receipts_move_a_delivery_forward_only_once_each(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _clock = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    receipt = email.receipt(delivery.id, "delivered", event_id="e1")
    report = hub.receive(email, url=receipt.url, headers=receipt.headers, body=receipt.body)
    assert [d.status for d in report.deliveries] == [DeliveryStatus.DELIVERED]
    clicked = email.receipt(delivery.id, "clicked", event_id="e2")
    hub.receive(email, url=clicked.url, headers=clicked.headers, body=clicked.body)
    late = email.receipt(delivery.id, "delivered", event_id="e3")
    assert hub.receive(email, url=late.url, headers=late.headers, body=late.body).deliveries == ()
    assert hub.delivery(delivery.id).status == DeliveryStatus.CLICKED
    names = [tp.name for tp in hub.touchpoints(cid)]
    assert names.count("Message Delivered") == 1
    assert names.count("Message Clicked") == 1


def test_a_forged_receipt_changes_nothing(store: Store) -> None:
    email, other = MemoryConnector("email"), MemoryConnector("email")
    hub, _clock = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    forged = other.receipt(delivery.id, "bounced")
    with pytest.raises(omnikit.SignatureError):
        hub.receive(email, url=forged.url, headers=forged.headers, body=forged.body)
    assert hub.delivery(delivery.id).status == DeliveryStatus.SENT


def test_an_unsubscribe_receipt_withdraws_consent(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    receipt = email.receipt(delivery.id, "unsubscribed")
    hub.receive(email, url=receipt.url, headers=receipt.headers, body=receipt.body)
    again = hub.send(cid, "Another sale!", channel="email")
    assert again.status == DeliveryStatus.REFUSED
    assert "consent" in (again.reason or "")


def test_a_customers_reply_lands_on_their_profile(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    reply = email.reply("ana@example.com", "Is the red coat in stock?")
    report = hub.receive("memory-email", url=reply.url, headers=reply.headers, body=reply.body)
    assert len(report.ingested) == 1
    [received] = [tp for tp in hub.touchpoints(cid) if tp.name == "Message Received"]
    assert received.properties["text"] == "Is the red coat in stock?"


def test_forget_erases_the_customers_deliveries(store: Store) -> None:
    email = MemoryConnector("email")
    hub, _ = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    hub.forget(cid)
    with pytest.raises(omnikit.NotFoundError):
        hub.delivery(delivery.id)


class Crashing(MemoryConnector):
    def send(self, envelope):  # type: ignore[no-untyped-def]  # noqa: ARG002
        raise SystemExit("the process dies here")  # as a kill would stop it: nothing after


class Buggy(MemoryConnector):
    def send(self, envelope):  # type: ignore[no-untyped-def]  # noqa: ARG002
        raise RuntimeError("a bug in the connector, after the request may have gone out")


def test_a_connector_that_raises_settles_its_delivery_not_the_batch(store: Store) -> None:
    email = Buggy("email")
    hub, _clock = make_hub(store, email)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    assert delivery.status == DeliveryStatus.UNKNOWN
    assert "RuntimeError" in (delivery.reason or "")


def test_a_sender_that_dies_mid_attempt_leaves_an_unknown_not_a_resend(store: Store) -> None:
    email = Crashing("email")
    hub, clock = make_hub(store, email)
    cid = customer(hub)
    with pytest.raises(SystemExit):
        hub.send(cid, "Sale!", channel="email")
    [stuck] = hub.deliveries(customer=cid)
    assert stuck.status == DeliveryStatus.SENDING
    clock.advance(minutes=1)
    assert hub.dispatch().counts == {}  # the lease holds
    clock.advance(minutes=10)
    assert hub.dispatch().counts == {"unknown": 1}


def test_a_rate_limit_holds_the_rest_for_later(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email, send_rates={"memory-email": 1.0})
    ids = [customer(hub, f"c{n}@example.com") for n in range(3)]
    statuses = [hub.send(cid, "Sale!", channel="email").status for cid in ids]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.QUEUED, DeliveryStatus.QUEUED]
    clock.advance(seconds=1)
    assert hub.dispatch().counts == {"sent": 1, "queued": 1}
    clock.advance(seconds=1)
    assert hub.dispatch().counts == {"sent": 1}


def test_failover_moves_a_failed_send_to_the_channels_next_connector(store: Store) -> None:
    primary = MemoryConnector("email", name="sendgrid")
    backup = MemoryConnector("email", name="smtp")
    hub, clock = make_hub(store, primary, backup)
    cid = customer(hub)
    primary.script(Transient(code="503", reason="down", safe_to_retry=True))
    delivery = hub.send(cid, "Sale!", channel="email")
    assert (delivery.status, delivery.connector) == (DeliveryStatus.QUEUED, "smtp")
    clock.advance(minutes=5)
    hub.dispatch()
    assert hub.delivery(delivery.id).status == DeliveryStatus.SENT
    assert len(backup.sent) == 1


def test_async_hub_sends_and_dispatches_awaiting_the_connector() -> None:
    email = MemoryConnector("email")

    async def run() -> Delivery:
        async with omnikit.AsyncHub(connectors=[email], clock=FrozenClock(NOON)) as hub:
            await hub.identify(user_id="ana", traits={"email": "ana@example.com"})
            cid = (await hub.customer(email="ana@example.com")).id
            await hub.set_consent(cid, purpose="marketing", granted=True, channel="email")
            return await hub.send(cid, "Sale!", channel="email")

    delivery = asyncio.run(run())
    assert delivery.status == DeliveryStatus.SENT
    assert isinstance(email.attempts[0].rendition.text, str)
    assert Accepted(provider_message_id="mem-1").provider_message_id == delivery.provider_message_id


def test_the_wall_stands_again_when_a_deferred_message_comes_due(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    clock.advance(hours=8)  # 22:00 in Lisbon: quiet hours
    cid = customer(hub)
    deferred = hub.send(cid, "Sale!", channel="email")
    assert deferred.status == DeliveryStatus.DEFERRED
    clock.advance(minutes=1)
    hub.set_consent(cid, purpose="marketing", granted=False, channel="email")
    clock.advance(hours=11)  # 09:00: due, but the customer has opted out since
    report = hub.dispatch()
    assert report.counts == {"refused": 1}
    assert email.attempts == []
    assert "no marketing consent" in (hub.delivery(deferred.id).reason or "")


def test_deliveries_follow_their_customer_when_the_customer_is_re_keyed(store: Store) -> None:
    email = MemoryConnector("email")
    policy = ContactPolicy(
        caps=(FrequencyCap(limit=1, per=dt.timedelta(days=1)),), quiet_hours=None
    )
    hub, _clock = make_hub(store, email, policy=policy)
    cid = customer(hub)
    first = hub.send(cid, "Sale!", channel="email")
    # An earlier event of the same person arrives late: the customer's id moves to it.
    hub.track(
        "Product Viewed",
        email="ana@example.com",
        timestamp=NOON - dt.timedelta(days=3),
        message_id="aaa-early",
    )
    moved = hub.customer(email="ana@example.com").id
    assert moved != cid, "the late event did not re-key the customer; the test proves nothing"
    assert [d.id for d in hub.deliveries(customer=moved)] == [first.id]
    assert hub.send(moved, "Another sale!", channel="email").status == DeliveryStatus.REFUSED


def test_an_idempotency_key_names_one_send_only(store: Store) -> None:
    hub, _clock = make_hub(store, MemoryConnector("email"))
    ana, bob = customer(hub), customer(hub, "bob@example.com")
    hub.send(ana, "Your reset code is 1234", channel="email", purpose="transactional", key="reset")
    with pytest.raises(omnikit.ConflictError, match="key"):
        hub.send(
            bob, "Your reset code is 9876", channel="email", purpose="transactional", key="reset"
        )


def test_a_receipt_moves_only_its_own_connectors_deliveries(store: Store) -> None:
    email, sms = MemoryConnector("email"), MemoryConnector("sms")
    hub, _clock = make_hub(store, email, sms)
    cid = customer(hub)
    delivery = hub.send(cid, "Sale!", channel="email")
    forged = sms.receipt(delivery.id, "unsubscribed")  # signed by the SMS provider
    report = hub.receive(sms, url=forged.url, headers=forged.headers, body=forged.body)
    assert report.deliveries == ()
    assert hub.delivery(delivery.id).status == DeliveryStatus.SENT


def test_an_address_that_bounced_meanwhile_gets_no_deferred_message(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email)
    clock.advance(hours=8)  # 22:00 in Lisbon
    cid = customer(hub)
    first = hub.send(cid, "Order shipped", channel="email", purpose="transactional")
    deferred = hub.send(cid, "Sale!", channel="email")
    assert deferred.status == DeliveryStatus.DEFERRED
    bounce = email.receipt(first, "bounced")
    hub.receive(email, url=bounce.url, headers=bounce.headers, body=bounce.body)
    clock.advance(hours=11)
    assert hub.dispatch().counts == {"refused": 1}
    assert "suppressed" in (hub.delivery(deferred.id).reason or "")


def test_an_acceptance_that_comes_after_the_lease_lapsed_still_counts(store: Store) -> None:
    hub, clock = make_hub(store, MemoryConnector("email"))
    now = clock()
    claimed = omnikit.Delivery(
        id="dlv_1",
        customer_id="c",
        channel="email",
        status="sending",
        created_at=now,
        updated_at=now,
        version=2,
        attempts=1,
    )
    taken_back = omnikit.Delivery(
        id="dlv_1",
        customer_id="c",
        channel="email",
        status="unknown",
        created_at=now,
        updated_at=now,
        version=3,
        attempts=1,
    )
    flow = settle(
        [(claimed, Accepted(provider_message_id="p1"), None)],
        now=now,
        backoff=Backoff(),
        own_touchpoint=hub._own_touchpoint,
        config=hub._ingest_config(),
    )
    next(flow)  # the read of the rows as they are now
    saved = flow.send({"dlv_1": taken_back})
    assert saved.deliveries[0].status == DeliveryStatus.SENT


def test_async_hub_sends_and_dispatches_on_every_store(store_url: str) -> None:
    """
    `AsyncHub.send()` and `dispatch()` over each store: on PostgreSQL natively, awaiting
    `AsyncPostgresStore`; a key sends once, and a retry goes out when it comes due.
    """
    email = MemoryConnector("email")
    clock = FrozenClock(NOON)

    async def run() -> tuple[list[Delivery], DispatchReport, list[Delivery], object]:
        async with omnikit.AsyncHub.open(store_url, connectors=[email], clock=clock) as hub:
            await hub.identify(user_id="ana", traits={"email": "ana@example.com"})
            cid = (await hub.customer(email="ana@example.com")).id
            await hub.set_consent(cid, purpose="marketing", granted=True, channel="email")
            sent = await hub.send(cid, "Sale!", channel="email")
            email.script(
                Transient(code="429", reason="slow down", retry_after=30, safe_to_retry=True)
            )
            queued = await hub.send(cid, "Code 1", channel="email", key="otp-1")
            again = await hub.send(cid, "Code 1", channel="email", key="otp-1")
            clock.advance(minutes=1)
            report = await hub.dispatch()
            listed = await hub.deliveries(customer=cid)
            return [sent, queued, again], report, listed, hub.store

    (sent, queued, again), report, listed, store = asyncio.run(run())

    assert (sent.status, queued.status) == (DeliveryStatus.SENT, DeliveryStatus.QUEUED)
    assert again == queued
    assert report.counts == {"sent": 1}
    assert {d.id for d in listed} == {queued.id, sent.id}
    assert all(d.status == DeliveryStatus.SENT for d in listed)
    assert [e.id for e in email.sent] == [sent.id, queued.id]
    assert isinstance(store, AsyncPostgresStore) == store_url.startswith("postgresql")


def test_a_half_open_breaker_lets_one_attempt_through(store: Store) -> None:
    email = MemoryConnector("email")
    hub, clock = make_hub(store, email, retry=Backoff(attempts=20, initial=1, jitter=0))
    ids = [customer(hub, f"c{n}@example.com") for n in range(5)]
    email.script(*[Transient(code="503", reason="down", safe_to_retry=True)] * 5)
    for cid in ids:  # five failures in a row open the breaker
        hub.send(cid, "Sale!", channel="email")
    clock.advance(seconds=40)  # past the breaker's cooldown and every backoff
    attempts = len(email.attempts)
    report = hub.dispatch()
    assert len(email.attempts) == attempts + 1  # one trial, not the whole batch
    assert report.counts == {"sent": 1, "queued": 4}
    hub.dispatch()  # the trial succeeded: the breaker is closed again
    assert all(d.status == DeliveryStatus.SENT for d in hub.deliveries(limit=10))


def test_a_lease_must_be_positive() -> None:
    with pytest.raises(omnikit.ValidationError, match="send_lease"):
        Hub(send_lease=dt.timedelta(0))
