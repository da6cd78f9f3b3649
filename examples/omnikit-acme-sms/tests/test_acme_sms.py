"""The Acme SMS connector passes omnikit's connector contract, and speaks Acme's API."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
from collections.abc import Iterator
from hashlib import sha256

import pytest
from fake_acme import KEY_ID, KEY_SECRET, FakeAcme
from omnikit_acme_sms import AcmeSMS

from omnikit.connectors import (
    Accepted,
    Connector,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    Refused,
    Rendition,
    Transient,
    connect,
)
from omnikit.errors import SignatureError, ValidationError
from omnikit.testing import ConnectorContract

WEBHOOK_SECRET = "acme-webhook-secret-1"  # noqa: S105 - a test credential
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


@pytest.fixture
def acme() -> Iterator[FakeAcme]:
    with FakeAcme() as fake:
        yield fake


def make(acme: FakeAcme, **options: object) -> AcmeSMS:
    return AcmeSMS(
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        sender="+15550100",
        webhook_secret=WEBHOOK_SECRET,
        base_url=acme.url,
        **options,  # type: ignore[arg-type]
    )


def callback(events: list[dict[str, object]], *, at: dt.datetime = NOW) -> InboundRequest:
    """A callback as Acme sends it: signed over the timestamp and the exact body."""
    body = json.dumps({"events": events}).encode()
    timestamp = str(int(at.timestamp()))
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, sha256)
    headers = {"Acme-Timestamp": timestamp, "Acme-Signature": signature.hexdigest()}
    return InboundRequest(
        method="POST", url="https://shop.example/hooks/acme", headers=headers, body=body
    )


DELIVERED = {
    "id": "ev-1",
    "type": "message.status",
    "message_id": "AM0001",
    "client_ref": "dlv_contract_1",
    "status": "delivered",
    "occurred_at": "2026-12-05T12:00:01Z",
}


# --8<-- [start:contract]
class TestAcmeSMS(ConnectorContract):
    timestamped = True  # Acme signs a timestamp: a stale callback must be refused

    @pytest.fixture
    def connector(self, acme: FakeAcme) -> Iterator[AcmeSMS]:
        connector = make(acme)  # pointed at the fake Acme on loopback
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="sms", to="+15550123", text="Your order is ready")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [KEY_SECRET, WEBHOOK_SECRET]

    @pytest.fixture
    def webhook(self) -> InboundRequest:
        return callback([DELIVERED])

    @pytest.fixture
    def webhook_now(self) -> dt.datetime:
        return NOW


# --8<-- [end:contract]


def envelope(to: str = "+15550123", text: str = "Your order is ready") -> Envelope:
    return Envelope(id="dlv_1", rendition=Rendition(channel="sms", to=to, text=text))


def test_one_token_serves_many_sends_until_it_expires(acme: FakeAcme) -> None:
    connector = make(acme)
    try:
        results = [connector.send(envelope()) for _ in range(3)]
        acme.expire_tokens()
        expired = connector.send(envelope())
        again = connector.send(envelope())
    finally:
        connector.close()

    assert ["AM0001", "AM0002", "AM0003"] == [r.provider_message_id for r in results]  # type: ignore[union-attr]
    assert (
        Transient(code="token_expired", reason="fetch a new token", safe_to_retry=True) == expired
    )
    assert Accepted(provider_message_id="AM0004", status="queued") == again
    assert 2 == acme.token_requests
    assert "dlv_1" == acme.messages[0]["client_ref"]


def test_acmes_error_codes_decide_the_result(acme: FakeAcme) -> None:
    connector = make(acme)
    acme.script = [
        (402, {"error": {"code": "insufficient_funds", "message": "top up"}}, {}),
        (429, {"error": {"code": "rate_limited", "message": "slow"}}, {"Retry-After": "3"}),
        (503, {"error": {"code": "unavailable", "message": "down"}}, {}),
    ]
    try:
        funds, limited, down = (connector.send(envelope()) for _ in range(3))
        invalid = connector.send(envelope(to="5550123"))
    finally:
        connector.close()

    assert Refused(code="insufficient_funds", reason="top up") == funds
    assert (
        Transient(code="rate_limited", reason="slow", retry_after=3.0, safe_to_retry=True)
        == limited
    )
    assert Transient(code="unavailable", reason="down") == down
    assert Refused(code="invalid_number", reason="'to' is not an E.164 number") == invalid


def test_bad_credentials_are_refused_and_never_shown(acme: FakeAcme) -> None:
    connector = AcmeSMS(
        key_id=KEY_ID, key_secret="wrong-secret", sender="+15550100", base_url=acme.url
    )
    try:
        result = connector.send(envelope())
    finally:
        connector.close()
    assert Refused(code="bad_credentials", reason="unknown API key") == result
    assert "wrong-secret" not in repr(connector)


def test_asend_fetches_its_token_too(acme: FakeAcme) -> None:
    async def run() -> object:
        connector = make(acme)
        try:
            return await connector.asend(envelope())
        finally:
            await connector.aclose()

    assert Accepted(provider_message_id="AM0001", status="queued") == asyncio.run(run())


def test_connect_finds_it_by_its_entry_point(acme: FakeAcme) -> None:
    """Once the package is installed (`pip install -e .`), omnikit finds it by name."""
    # --8<-- [start:connect]
    sms: Connector = connect(f"acme-sms://{KEY_ID}:{KEY_SECRET}@/+15550100", base_url=acme.url)
    try:
        result = sms.send(
            Envelope(id="dlv_1", rendition=Rendition(channel="sms", to="+15550123", text="Hi"))
        )
    finally:
        sms.close()
    # --8<-- [end:connect]
    assert isinstance(sms, AcmeSMS)
    assert Accepted(provider_message_id="AM0001", status="queued") == result


def test_from_url() -> None:
    connector = AcmeSMS.from_url(f"acme-sms://{KEY_ID}:{KEY_SECRET}@/+15550100?webhook_secret=x")
    assert (KEY_ID, "+15550100") == (connector.key_id, connector.sender)
    with pytest.raises(ValidationError, match="API key"):
        AcmeSMS.from_url("acme-sms:///+15550100")


def test_receipts_and_replies_are_parsed() -> None:
    reply = {
        "id": "ev-2",
        "type": "message.inbound",
        "from": "+15550123",
        "to": "+15550100",
        "text": "STOP",
    }
    connector = AcmeSMS(
        key_id=KEY_ID, key_secret=KEY_SECRET, sender="+15550100", webhook_secret=WEBHOOK_SECRET
    )
    request = callback([DELIVERED, reply])

    connector.verify(request, now=NOW)
    receipt, inbound = connector.parse(request)

    assert (EventKind.STATUS, DeliveryStatus.DELIVERED, "dlv_contract_1") == (
        receipt.kind,
        receipt.status,
        receipt.delivery_id,
    )
    assert (EventKind.INBOUND, "+15550123", "STOP") == (inbound.kind, inbound.address, inbound.text)
    with pytest.raises(SignatureError, match="replay"):
        connector.verify(request, now=NOW)
    with pytest.raises(ValidationError, match="not an Acme callback"):
        connector.parse(InboundRequest(method="POST", url="https://shop.example/", body=b"<xml/>"))
