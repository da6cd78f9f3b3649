"""Processes dispatching one outbox at once send each delivery once, on SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import time
from typing import Any

import pytest
from fake_provider import Answer, FakeProvider, Seen

import omnikit
from omnikit import ContactPolicy, DeliveryStatus
from omnikit.connectors import Accepted, Envelope, SendResult
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector
from omnikit.testing import FrozenClock

LATE = dt.datetime(2026, 12, 5, 22, tzinfo=dt.UTC)  # quiet hours, in UTC
MORNING = dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC)
POLICY = ContactPolicy(transactional_in_quiet_hours=False)
CUSTOMERS = 40
PROCESSES = 2


class CountedMail(HttpConnector):
    """Mail through a provider that answers 202 with its own id for the message."""

    name = "counted-mail"
    channel = "email"

    def request(self, envelope: Envelope) -> HttpCall:
        return HttpCall.json("POST", "/messages", {"id": envelope.id, "to": envelope.rendition.to})

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        if answer.status == 202:
            return Accepted(provider_message_id=answer.json()["message_id"])
        return self.classify(answer)


def provider(seen: Seen) -> Answer:
    """Takes each message after a moment's work, so that the dispatchers overlap."""
    if (seen.method, seen.path) != ("POST", "/messages"):
        return Answer(404, {"error": "no such endpoint"})
    time.sleep(0.01)
    return Answer(202, {"message_id": f"acme-{seen.json()['id']}"})


def _dispatcher(url: str, base_url: str, start: Any, out: Any) -> None:
    """Dispatch a few at a time until nothing is due; how many deliveries it touched."""
    connector = CountedMail(base_url=base_url)
    clock = FrozenClock(MORNING)
    with omnikit.Hub.open(url, connectors=[connector], contact_policy=POLICY, clock=clock) as hub:
        start.wait(timeout=60)
        touched = 0
        while report := hub.dispatch(limit=3).deliveries:
            touched += len(report)
        out.put(touched)


def _identify(n: int) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"id-{n}",
        "timestamp": (LATE - dt.timedelta(days=1)).isoformat(),
        "userId": f"u{n}",
        "traits": {"email": f"c{n}@example.com"},
    }


@pytest.mark.stores("sqlite", "postgres")
def test_processes_dispatching_one_outbox_send_each_delivery_once(store_url: str) -> None:
    """
    Deliveries held overnight go out once each when two processes dispatch them at once.

    Each claims a few at a time, in its own connections, to a real provider on loopback:
    the provider hears every message once, and every delivery is sent.
    """
    with FakeProvider(provider) as fake:
        connector = CountedMail(base_url=fake.url)
        clock = FrozenClock(LATE)
        with omnikit.Hub.open(
            store_url, connectors=[connector], contact_policy=POLICY, clock=clock
        ) as hub:
            hub.ingest({"batch": [_identify(n) for n in range(CUSTOMERS)]})
            customers = [hub.customer(user_id=f"u{n}") for n in range(CUSTOMERS)]
            held = [
                hub.send(c, "Your order shipped", channel="email", purpose="transactional")
                for c in customers
                if c is not None
            ]
        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Barrier(PROCESSES), ctx.Queue()
        workers = [
            ctx.Process(target=_dispatcher, args=(store_url, fake.url, start, out))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        touched = [out.get(timeout=5) for _ in workers]
        heard = collections.Counter(seen.json()["id"] for seen in fake.requests)
    with omnikit.Hub.open(store_url) as hub:
        after = [hub.delivery(d.id) for d in held]

    assert CUSTOMERS == len(held)
    assert {DeliveryStatus.DEFERRED} == {d.status for d in held}
    assert [0] * PROCESSES == [w.exitcode for w in workers]
    assert {d.id: 1 for d in held} == dict(heard)
    assert CUSTOMERS == sum(touched)
    assert all(touched), f"one process did all the work ({touched}): nothing was contended"
    assert {DeliveryStatus.SENT} == {d.status for d in after}
    assert {f"acme-{d.id}" for d in held} == {d.provider_message_id for d in after}
