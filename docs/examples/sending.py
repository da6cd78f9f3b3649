"""
Sending with omnikit: the snippets of docs/how-to/send-messages.md, run by the test suite.

Run it as a script to see what it prints.
"""

from __future__ import annotations

import datetime as dt

import omnikit
from omnikit.connectors import Transient
from omnikit.connectors.memory import MemoryConnector
from omnikit.testing import FrozenClock


def main() -> dict[str, object]:
    """Every step of the how-to, in order; what each printed line shows, for the tests."""
    seen: dict[str, object] = {}
    # --8<-- [start:hub]
    email = MemoryConnector("email")  # a readable outbox; in production, e.g. connect("smtp://...")
    sms = MemoryConnector("sms")
    clock = FrozenClock(dt.datetime(2026, 12, 5, 14, tzinfo=dt.UTC))
    hub = omnikit.Hub(
        connectors=[email, sms],
        contact_policy=omnikit.ContactPolicy(
            caps=(
                omnikit.FrequencyCap(limit=3, per=dt.timedelta(days=7)),
            ),  # 3 marketing messages a week
            quiet_hours=omnikit.QuietHours(start=dt.time(21), end=dt.time(8)),
            timezone="Europe/Lisbon",  # for customers who have none
        ),
        clock=clock,
    )
    # --8<-- [end:hub]

    # --8<-- [start:send]
    hub.identify(user_id="ana", traits={"email": "ana@example.com", "phone": "+351912345678"})
    ana = hub.customer(email="ana@example.com")

    refused = hub.send(ana, "Our winter sale starts today", channel="email")
    print(refused.status, "-", refused.reason)
    # refused - contact policy: email: no marketing consent in force on email

    hub.set_consent(ana, purpose="marketing", granted=True, channel="email")
    sent = hub.send(ana, "Our winter sale starts today", channel="email", name="winter-sale")
    print(sent.status, sent.connector, sent.provider_message_id)
    # sent memory-email mem-1
    # --8<-- [end:send]
    seen["refused"], seen["sent"] = refused, sent

    # --8<-- [start:transactional]
    ready = hub.send(ana, "Your order is ready for pickup", channel="sms", purpose="transactional")
    print(ready.status)  # sent: an order update needs no opt-in, only no refusal
    # --8<-- [end:transactional]
    seen["transactional"] = ready

    # --8<-- [start:quiet]
    clock.advance(hours=8)  # 22:00 in Lisbon
    later = hub.send(ana, "Last hours of the sale", channel="email")
    print(later.status, later.due_at)  # deferred 2026-12-06 08:00:00+00:00
    clock.advance(hours=10)  # the next morning
    print(hub.dispatch())  # DispatchReport(sent=1)
    # --8<-- [end:quiet]
    seen["deferred"], seen["dispatched"] = later, hub.delivery(later.id)

    # --8<-- [start:retry]
    email.script(Transient(code="429", reason="slow down", retry_after=30, safe_to_retry=True))
    retried = hub.send(ana, "New arrivals", channel="email", purpose="service")
    print(retried.status, retried.reason)  # queued retrying: slow down
    clock.advance(minutes=1)
    hub.dispatch()
    print(hub.delivery(retried.id).status)  # sent, on the second attempt
    # --8<-- [end:retry]
    seen["retried"] = hub.delivery(retried.id)

    # --8<-- [start:receipts]
    webhook = email.receipt(sent, "delivered")  # as the provider would call the host
    report = hub.receive(email, url=webhook.url, headers=webhook.headers, body=webhook.body)
    print([d.status for d in report.deliveries])  # [<DeliveryStatus.DELIVERED: 'delivered'>]
    print([tp.name for tp in hub.touchpoints(ana)][-3:])
    # --8<-- [end:receipts]
    seen["received"] = report
    seen["touchpoints"] = [tp.name for tp in hub.touchpoints(ana)]
    return seen


if __name__ == "__main__":
    main()
