"""The email connectors under the hub: a send over SMTP, SendGrid's receipts moving deliveries."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fake_sendgrid import KEY, public_b64, signed
from smtp_server import Mailroom, serving

from omnikit import ContactPolicy, DeliveryStatus, Hub
from omnikit.connectors.memory import MemoryConnector
from omnikit.connectors.sendgrid import DELIVERY_ARG, SendGridConnector
from omnikit.connectors.smtp import DELIVERY_HEADER, SMTPConnector
from omnikit.testing import FrozenClock

NOON = dt.datetime(2026, 12, 5, 14, tzinfo=dt.UTC)


def make_hub(*connectors: object) -> Hub:
    return Hub(
        connectors=list(connectors),
        contact_policy=ContactPolicy(timezone="Europe/Lisbon"),
        clock=FrozenClock(NOON),
    )


def customer(hub: Hub, email: str = "ana@example.com") -> str:
    hub.identify(user_id="ana", traits={"email": email})
    found = hub.customer(email=email)
    hub.set_consent(found, purpose="marketing", granted=True, channel="email")
    return found.id


def test_the_hub_sends_over_smtp_and_records_the_message_id() -> None:
    mailroom = Mailroom()
    with serving(mailroom) as port:
        smtp = SMTPConnector("127.0.0.1", port, starttls=False, sender="shop@example.com")
        hub = make_hub(smtp)
        delivery = hub.send(customer(hub), "Our winter sale starts today", channel="email")

    assert DeliveryStatus.SENT == delivery.status
    [message] = mailroom.messages
    assert delivery.id == message[DELIVERY_HEADER]
    assert delivery.provider_message_id == message["Message-ID"].strip()  # a long one is folded
    assert delivery.id == SMTPConnector.delivery_id(message["Message-ID"])


@pytest.mark.parametrize(
    ("events", "status", "code"),
    [
        (["processed", "delivered", "open"], DeliveryStatus.OPENED, None),
        (["processed", "bounce"], DeliveryStatus.BOUNCED, "5.1.1"),
        (["delivered", "processed", "deferred"], DeliveryStatus.DELIVERED, None),
    ],
)
def test_sendgrids_receipts_move_the_delivery_forward_only(
    events: list[str], status: DeliveryStatus, code: str | None
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sendgrid = SendGridConnector(KEY, public_key=public_b64(key))
    # The message went out through the channel's first connector; SendGrid, the channel's
    # other one, reports on it (its receipts may only move the channel's deliveries).
    hub = make_hub(MemoryConnector("email"), sendgrid)
    delivery = hub.send(customer(hub), "Hello", channel="email")
    items = [
        {
            "event": name,
            "sg_event_id": f"ev-{n}",
            "status": "5.1.1",
            "email": "ana@example.com",
            "timestamp": int(NOON.timestamp()) + n,
            DELIVERY_ARG: delivery.id,
        }
        for n, name in enumerate(events)
    ]
    request = signed(key, items, NOON)

    hub.receive(sendgrid, url=request.url, headers=dict(request.headers), body=request.body)

    moved = hub.delivery(delivery.id)
    assert (status, code) == (moved.status, moved.code)
    assert json.loads(request.body)[0][DELIVERY_ARG] == delivery.id
