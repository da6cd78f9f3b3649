"""The generic webhook connector: Standard Webhooks signatures both ways, against a receiver on loopback."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import socket
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from fake_provider import Answer, FakeProvider, Fault, Seen
from hypothesis import given
from hypothesis import strategies as st

from omnikit.connectors import (
    Accepted,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    Refused,
    Rendition,
    SendResult,
    TemplateRef,
    Transient,
    Unknown,
    connect,
)
from omnikit.connectors.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConnector,
    generate_secret,
    sign,
)
from omnikit.errors import SignatureError, ValidationError
from omnikit.testing import ConnectorContract

SECRET = "whsec_" + base64.b64encode(b"omnikit-webhook-test-key-0001").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"omnikit-webhook-old-key-00001").decode()
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)

# The worked example of Svix's documentation of Standard Webhooks verification, as services that
# send through Svix republish it (developer.ongoody.com/webhooks/webhook-security): a secret, the
# three headers and the body; the signature is re-computed here, and matches.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the published example's
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _their_signatures(secret: str, seen: Seen) -> bool:
    """The receiver's own check, written from the specification, apart from the connector's."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{seen.headers['webhook-id']}.{seen.headers['webhook-timestamp']}.".encode()
    digest = hmac.new(key, content + seen.body, hashlib.sha256).digest()
    wanted = "v1," + base64.b64encode(digest).decode()
    return any(
        hmac.compare_digest(wanted, given) for given in seen.headers["webhook-signature"].split()
    )


def receiver(seen: Seen) -> Answer:
    """A host's system taking omnikit's messages: it checks what the documentation promises."""
    if seen.method != "POST" or seen.path != "/hooks":
        return Answer(404, {"error": "no such hook"})
    if seen.headers.get("content-type") != "application/json":
        return Answer(415, {"error": "JSON only"})
    if not all(name in seen.headers for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)):
        return Answer(401, {"error": "unsigned"})
    if not _their_signatures(SECRET, seen):
        return Answer(401, {"error": "bad signature"})
    body = seen.json()
    if body["type"] != "message" or body["data"]["delivery_id"] != seen.headers["webhook-id"]:
        return Answer(422, {"error": "not a message"})
    answers = {
        "gone": Answer(410, {"error": "unsubscribed this endpoint"}),
        "slow down": Answer(429, {"error": "rate"}, headers={"Retry-After": "7"}),
        "down": Answer(503, {"error": "maintenance"}),
        "bad": Answer(422, {"error": "unknown contact"}),
        "moved": Answer(301, b"", headers={"Location": "https://elsewhere.example/"}),
        "no id": Answer(204, b""),
    }
    return answers.get(
        body["data"]["text"], Answer(200, {"id": f"rcv-{body['data']['delivery_id']}"})
    )


@pytest.fixture(name="fake")
def _fake() -> Iterator[FakeProvider]:
    with FakeProvider(receiver) as server:
        yield server


_MADE: list[WebhookConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    """Every connector a test made is closed with it: no client is left to the collector."""
    yield
    while _MADE:
        _MADE.pop().close()


def _made(connector: WebhookConnector) -> WebhookConnector:
    _MADE.append(connector)
    return connector


def _envelope(text: str = "Your order ships today", **changes: object) -> Envelope:
    rendition = Rendition(channel="webhook", to="crm-contact-42", text=text)
    return Envelope(id="dlv_1", rendition=attrs.evolve(rendition, **changes))


def _inbound(
    connector: WebhookConnector,
    payload: object,
    *,
    msg_id: str = "evt_msg_1",
    at: dt.datetime = NOW,
) -> InboundRequest:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(connector.signed_headers(body, msg_id=msg_id, now=at))
    return InboundRequest(
        method="POST", url="https://shop.example/hooks/omnikit", headers=headers, body=body
    )


DELIVERED = {
    "type": "message.delivered",
    "timestamp": "2026-12-05T12:00:03Z",
    "data": {"delivery_id": "dlv_1", "message_id": "rcv-dlv_1", "to": "crm-contact-42"},
}


class TestWebhookContract(ConnectorContract):
    timestamped = True

    @pytest.fixture
    def connector(self, fake: FakeProvider) -> Iterator[WebhookConnector]:
        connector = WebhookConnector(secret=SECRET, base_url=fake.url, endpoint="/hooks")
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="webhook", to="crm-contact-42", text="Your order ships today")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [SECRET, SECRET.removeprefix("whsec_")]

    @pytest.fixture
    def webhook(self, connector: WebhookConnector) -> InboundRequest:
        return _inbound(connector, DELIVERED)

    @pytest.fixture
    def webhook_now(self) -> dt.datetime:
        return NOW + dt.timedelta(seconds=2)


# -- sending --------------------------------------------------------------------------------------


Send = Callable[[WebhookConnector, Envelope], SendResult]


def _hooks(fake: FakeProvider, **options: object) -> WebhookConnector:
    return _made(WebhookConnector(secret=SECRET, endpoint=f"{fake.url}/hooks", **options))  # type: ignore[arg-type]


def test_the_receiver_gets_a_signed_message_with_our_delivery_id(
    fake: FakeProvider, send: Send
) -> None:
    envelope = _envelope(
        subject="Shipped",
        html="<p>It ships</p>",
        data={"order": "1042"},
        media=("https://cdn.example/a.png",),
        template=TemplateRef(name="shipped", language="en", parameters=("1042",)),
        sender="Shop",
    )
    envelope = attrs.evolve(envelope, key="order-1042-shipped")

    result = send(_hooks(fake, clock=lambda: NOW), envelope)

    assert Accepted(provider_message_id="rcv-dlv_1", status="200") == result
    [seen] = fake.requests
    assert "dlv_1" == seen.headers["webhook-id"]
    assert str(int(NOW.timestamp())) == seen.headers["webhook-timestamp"]
    assert {
        "type": "message",
        "timestamp": "2026-12-05T12:00:00Z",
        "data": {
            "delivery_id": "dlv_1",
            "to": "crm-contact-42",
            "sender": "Shop",
            "subject": "Shipped",
            "text": "Your order ships today",
            "html": "<p>It ships</p>",
            "data": {"order": "1042"},
            "media": ["https://cdn.example/a.png"],
            "template": {"name": "shipped", "language": "en", "parameters": ["1042"]},
            "key": "order-1042-shipped",
        },
    } == seen.json()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no id", Accepted(provider_message_id="dlv_1", status="204")),
        ("gone", Refused(code="410", reason="the endpoint is gone: it wants no more messages")),
        (
            "slow down",
            Transient(code="429", reason='{"error": "rate"}', retry_after=7.0, safe_to_retry=True),
        ),
        ("down", Transient(code="503", reason='{"error": "maintenance"}')),
        ("bad", Refused(code="422", reason='{"error": "unknown contact"}')),
        (
            "moved",
            Refused(code="301", reason="the endpoint redirects; configure the URL it redirects to"),
        ),
    ],
)
def test_each_answer_is_classified(
    fake: FakeProvider, send: Send, text: str, expected: SendResult
) -> None:
    assert expected == send(_hooks(fake), _envelope(text))


def test_a_wrong_secret_is_refused_by_the_receiver(fake: FakeProvider) -> None:
    connector = _made(WebhookConnector(secret=OLD_SECRET, endpoint=f"{fake.url}/hooks"))

    result = connector.send(_envelope())

    assert Refused(code="401", reason='{"error": "bad signature"}') == result


def test_a_retry_carries_the_same_webhook_id_for_the_receiver_to_deduplicate(
    fake: FakeProvider,
) -> None:
    connector = _hooks(fake)
    assert connector.capabilities.idempotency_keys
    fake.fault(Fault.fail_after_store())

    first = connector.send(_envelope())
    second = connector.send(attrs.evolve(_envelope(), attempt=2))

    assert isinstance(first, Transient)
    assert not first.safe_to_retry  # the receiver had it
    assert isinstance(second, Accepted)
    assert ["dlv_1", "dlv_1"] == [seen.headers["webhook-id"] for seen in fake.stored]


def test_no_answer_within_the_timeout_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.delay(1.0))
    result = send(_hooks(fake, timeout=0.2), _envelope())
    assert isinstance(result, Unknown)


def test_a_reset_connection_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.reset())
    assert isinstance(send(_hooks(fake), _envelope()), Unknown)


def test_nobody_listening_is_transient_and_safe(send: Send) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = WebhookConnector(secret=SECRET, endpoint=f"http://127.0.0.1:{port}/hooks")
    result = send(connector, _envelope())
    assert isinstance(result, Transient)
    assert result.safe_to_retry


def test_without_an_endpoint_the_renditions_to_is_the_url(fake: FakeProvider, send: Send) -> None:
    connector = WebhookConnector(secret=SECRET, allow_private_hosts=True)  # the fake is local
    result = send(connector, _envelope(to=f"{fake.url}/hooks"))
    assert Accepted(provider_message_id="rcv-dlv_1", status="200") == result
    assert "<WebhookConnector webhook channel=webhook endpoint=each rendition's URL>" == repr(
        connector
    )


@pytest.mark.parametrize(
    "to",
    [
        "http://127.0.0.1:1/hooks\r\nX-Injected: 1",
        "http://127.0.0.1:1/ho oks",
        "crm-contact-42",
        "ftp://files.example/x",
        "javascript:alert(1)",
        "https:///no-host",
    ],
)
def test_a_to_that_is_not_a_plain_http_url_is_refused_before_sending(to: str) -> None:
    connector = WebhookConnector(secret=SECRET)
    with pytest.raises(ValidationError, match=r"^to: not an absolute http"):
        connector.send(_envelope(to=to))


def test_with_an_endpoint_a_hostile_to_stays_inside_the_json(fake: FakeProvider) -> None:
    hostile = "x\r\nwebhook-id: forged"
    assert isinstance(_hooks(fake).send(_envelope(to=hostile)), Accepted)
    [seen] = fake.requests
    assert "dlv_1" == seen.headers["webhook-id"]
    assert hostile == seen.json()["data"]["to"]


# -- configuration ------------------------------------------------------------------------------


def test_from_url_and_connect(fake: FakeProvider) -> None:
    port = fake.url.rsplit(":", 1)[1]
    quoted = SECRET.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    url = f"webhook://127.0.0.1:{port}/hooks?secret={quoted}&tls=false&timeout=3"

    connector = _made(connect(url))  # type: ignore[arg-type]

    assert isinstance(connector, WebhookConnector)
    assert f"http://127.0.0.1:{port}/hooks" == connector.endpoint
    assert 3.0 == connector.timeout
    assert isinstance(connector.send(_envelope()), Accepted)
    assert f"<WebhookConnector webhook channel=webhook endpoint=http://127.0.0.1:{port}/…>" == repr(
        connector
    )


def test_from_url_takes_the_secret_as_password_and_base_url_as_a_keyword(
    fake: FakeProvider,
) -> None:
    connector = _made(
        WebhookConnector.from_url(
            f"webhook://:{SECRET}@crm.shop.example/hooks?tolerance=60", base_url=fake.url
        )
    )
    assert f"{fake.url}/hooks" == connector.endpoint
    assert dt.timedelta(seconds=60) == connector.tolerance
    assert isinstance(connector.send(_envelope()), Accepted)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("webhook://crm.shop.example/hooks", "no secret"),
        (f"webhook://crm.shop.example/hooks?secret={SECRET}&colour=red", "unknown options"),
        (f"webhook://crm.shop.example/hooks?secret={SECRET}&tls=maybe", "tls"),
        (f"webhook://crm.shop.example/hooks?secret={SECRET}&timeout=nan", "timeout"),
        ("webhook://crm.shop.example/hooks?secret=whsec_c2hvcnQ%3D", "the key is 5 bytes"),
        (
            "webhook://crm.shop.example/hooks?secret=whsec_not base64!",
            "not a Standard Webhooks secret",
        ),
    ],
)
def test_unusable_configuration_is_named(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        WebhookConnector.from_url(url)
    assert "c2hvcnQ" not in str(caught.value)
    assert "not base64!" not in str(caught.value)


def test_keyword_configuration_is_checked() -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        WebhookConnector(secret=SECRET, endpoint="/hooks")
    with pytest.raises(ValidationError, match="endpoint"):
        WebhookConnector(
            secret=SECRET, base_url="https://a.example", endpoint="https://b.example/x"
        )
    with pytest.raises(ValidationError, match="base_url"):
        WebhookConnector(secret=SECRET, base_url="ftp://a.example")
    with pytest.raises(ValidationError, match="tolerance"):
        WebhookConnector(secret=SECRET, tolerance=dt.timedelta(0))
    with pytest.raises(ValidationError, match=r"previous_secrets\[0\]"):
        WebhookConnector(secret=SECRET, previous_secrets=["whsec_short"])


def test_no_secret_shows_in_reprs_or_errors(fake: FakeProvider) -> None:
    connector = WebhookConnector(
        secret=SECRET, previous_secrets=[OLD_SECRET], endpoint=f"{fake.url}/hooks?token=hidden"
    )
    request = _inbound(connector, DELIVERED)
    tampered = attrs.evolve(request, body=request.body + b" ")
    with pytest.raises(SignatureError) as caught:
        connector.verify(tampered, now=NOW)
    shown = [repr(connector), str(caught.value), repr(request)]
    expected = sign(SECRET, msg_id="evt_msg_1", timestamp=int(NOW.timestamp()), body=tampered.body)
    for secret in (SECRET, OLD_SECRET, SECRET[6:], OLD_SECRET[6:], "hidden", expected[3:]):
        assert all(secret not in text for text in shown)


def test_generated_secrets_are_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert "***" == str(first)
    assert 32 == len(base64.b64decode(first.reveal().removeprefix("whsec_")))
    WebhookConnector(secret=first)  # usable as it is


# -- verifying ------------------------------------------------------------------------------------


def test_the_published_standard_webhooks_example_verifies() -> None:
    assert VECTOR_SIGNATURE == sign(
        VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
    )
    request = InboundRequest(
        method="POST",
        url="https://shop.example/hooks",
        headers={
            ID_HEADER: VECTOR_ID,
            TIMESTAMP_HEADER: str(VECTOR_TIMESTAMP),
            SIGNATURE_HEADER: VECTOR_SIGNATURE,
        },
        body=VECTOR_BODY,
    )
    WebhookConnector(secret=VECTOR_SECRET).verify(
        request, now=dt.datetime.fromtimestamp(VECTOR_TIMESTAMP + 10, dt.UTC)
    )


def test_rotation_signs_with_every_secret_and_verifies_with_any() -> None:
    rotating = WebhookConnector(secret=SECRET, previous_secrets=[OLD_SECRET])
    headers = rotating.signed_headers(b"{}", msg_id="m1", now=NOW)
    new, old = headers[SIGNATURE_HEADER].split(" ")
    assert new == sign(SECRET, msg_id="m1", timestamp=int(NOW.timestamp()), body=b"{}")
    assert old == sign(OLD_SECRET, msg_id="m1", timestamp=int(NOW.timestamp()), body=b"{}")

    from_old_sender = _inbound(WebhookConnector(secret=OLD_SECRET), DELIVERED)
    rotating.verify(from_old_sender, now=NOW)
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        WebhookConnector(secret=SECRET).verify(from_old_sender, now=NOW)


def test_one_matching_v1_signature_among_others_is_enough() -> None:
    connector = WebhookConnector(secret=SECRET)
    request = _inbound(connector, DELIVERED)
    good = request.headers[SIGNATURE_HEADER]
    others = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw== v2,abc v1,!!notbase64 v1,AAAA"
    headers = {**request.headers, SIGNATURE_HEADER: f"{others} {good}"}
    connector.verify(attrs.evolve(request, headers=headers), now=NOW)


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        (ID_HEADER, None, "webhook-id: missing"),
        (ID_HEADER, "", "webhook-id: not a message id"),
        (ID_HEADER, "evt 1", "webhook-id: not a message id"),
        (TIMESTAMP_HEADER, None, "webhook-timestamp: missing"),
        (TIMESTAMP_HEADER, "yesterday", "webhook-timestamp: not a Unix time"),
        (SIGNATURE_HEADER, None, "webhook-signature: missing"),
        (SIGNATURE_HEADER, "v1a,abc", "no v1 signature matches"),
        (SIGNATURE_HEADER, " ".join(["v1,AAAA"] * 17), "more than 16 signatures"),
    ],
)
def test_each_missing_or_broken_header_is_named(
    header: str, value: str | None, message: str
) -> None:
    connector = WebhookConnector(secret=SECRET)
    request = _inbound(connector, DELIVERED)
    headers = {k: v for k, v in request.headers.items() if k != header}
    if value is not None:
        headers[header] = value
    with pytest.raises(SignatureError, match=message):
        connector.verify(attrs.evolve(request, headers=headers), now=NOW)


@pytest.mark.parametrize(
    ("seconds", "fresh"), [(-301, False), (-299, True), (0, True), (299, True), (301, False)]
)
def test_timestamps_within_five_minutes_either_way_verify(seconds: int, fresh: bool) -> None:
    connector = WebhookConnector(secret=SECRET)
    request = _inbound(connector, DELIVERED)
    later = NOW + dt.timedelta(seconds=seconds)
    if fresh:
        connector.verify(request, now=later)
    else:
        with pytest.raises(SignatureError, match="webhook-timestamp: the request is stale"):
            connector.verify(request, now=later)


def test_the_tolerance_is_configurable() -> None:
    connector = WebhookConnector(secret=SECRET, tolerance=dt.timedelta(seconds=30))
    with pytest.raises(SignatureError, match="stale"):
        connector.verify(_inbound(connector, DELIVERED), now=NOW + dt.timedelta(seconds=31))


def test_a_replay_is_refused_but_a_redelivery_with_a_new_timestamp_is_not() -> None:
    connector = WebhookConnector(secret=SECRET)
    first = _inbound(connector, DELIVERED)
    connector.verify(first, now=NOW)
    with pytest.raises(SignatureError, match="replay"):
        connector.verify(first, now=NOW + dt.timedelta(seconds=30))

    redelivered = _inbound(connector, DELIVERED, at=NOW + dt.timedelta(seconds=60))
    connector.verify(redelivered, now=NOW + dt.timedelta(seconds=61))
    assert connector.parse(first)[0].event_id == connector.parse(redelivered)[0].event_id


def test_a_forged_request_does_not_poison_the_replay_guard() -> None:
    connector = WebhookConnector(secret=SECRET)
    real = _inbound(connector, DELIVERED)
    forged = {**real.headers, SIGNATURE_HEADER: "v1," + base64.b64encode(b"x" * 32).decode()}
    with pytest.raises(SignatureError):
        connector.verify(attrs.evolve(real, headers=forged), now=NOW)
    connector.verify(real, now=NOW)


_IDS = st.text(alphabet=string.ascii_letters + string.digits + "_-:", min_size=1, max_size=40)


@given(
    msg_id=_IDS,
    seconds=st.integers(min_value=1_000_000_000, max_value=4_000_000_000),
    body=st.binary(min_size=1, max_size=300),
    where=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_what_we_sign_verifies_and_no_single_byte_change_does(
    msg_id: str, seconds: int, body: bytes, where: int, flip: int
) -> None:
    now = dt.datetime.fromtimestamp(seconds, dt.UTC)
    signer = WebhookConnector(secret=SECRET)
    headers = signer.signed_headers(body, msg_id=msg_id, now=now)
    request = InboundRequest(
        method="POST", url="https://shop.example/hooks", headers=headers, body=body
    )

    changed = bytearray(body)
    changed[where % len(body)] ^= flip
    with pytest.raises(SignatureError):
        WebhookConnector(secret=SECRET).verify(attrs.evolve(request, body=bytes(changed)), now=now)
    other_id = {**headers, ID_HEADER: msg_id + "x"}
    with pytest.raises(SignatureError):
        WebhookConnector(secret=SECRET).verify(attrs.evolve(request, headers=other_id), now=now)
    WebhookConnector(secret=SECRET).verify(request, now=now)


# -- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("queued", EventKind.STATUS),
        ("sent", EventKind.STATUS),
        ("delivered", EventKind.STATUS),
        ("bounced", EventKind.STATUS),
        ("failed", EventKind.STATUS),
        ("undelivered", EventKind.STATUS),
        ("opened", EventKind.ENGAGEMENT),
        ("clicked", EventKind.ENGAGEMENT),
        ("read", EventKind.ENGAGEMENT),
        ("complained", EventKind.ENGAGEMENT),
        ("unsubscribed", EventKind.ENGAGEMENT),
    ],
)
def test_every_documented_status_is_parsed(word: str, kind: EventKind) -> None:
    connector = WebhookConnector(secret=SECRET)
    payload = {
        "type": f"message.{word}",
        "timestamp": "2026-12-05T12:00:03.120+01:00",
        "data": {
            "delivery_id": "dlv_1",
            "message_id": 829,
            "to": "crm-42",
            "code": "550",
            "reason": "full",
        },
    }

    [event] = connector.parse(_inbound(connector, payload))

    assert kind == event.kind
    assert DeliveryStatus(word) == event.status
    assert "evt_msg_1" == event.event_id
    assert ("dlv_1", "829", "crm-42") == (
        event.delivery_id,
        event.provider_message_id,
        event.address,
    )
    assert ("550", "full") == (event.code, event.reason)
    assert "2026-12-05T12:00:03.120+01:00" == event.timestamp
    assert payload == event.raw


def test_a_customers_message_and_a_batch() -> None:
    connector = WebhookConnector(secret=SECRET)
    received = {"id": "evt_9", "type": "message.received", "from": "crm-42", "text": "Where is it?"}
    request = _inbound(connector, [received, DELIVERED, DELIVERED])

    inbound, first, second = connector.parse(request)

    assert EventKind.INBOUND == inbound.kind
    assert ("evt_9", None, "crm-42", "Where is it?") == (
        inbound.event_id,
        inbound.status,
        inbound.address,
        inbound.text,
    )
    assert ["evt_msg_1:1", "evt_msg_1:2"] == [first.event_id, second.event_id]


def test_without_a_webhook_id_the_event_id_is_a_stable_digest() -> None:
    connector = WebhookConnector(secret=SECRET)
    request = _inbound(connector, DELIVERED)
    bare = attrs.evolve(request, headers={"Content-Type": "application/json"})
    [event] = connector.parse(bare)
    assert event.event_id.startswith("wh-")
    assert [event.event_id] == [e.event_id for e in connector.parse(bare)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<xml/>", "body: not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body: not JSON"),
        (b"[]", "empty list"),
        (b"42", "body: an event is a JSON object"),
        (b'{"type": "message.teleported"}', "body.type"),
        (b'{"type": ["message.sent"]}', "body.type"),
        (b'{"type": "message.sent", "data": []}', "body.data"),
        (b'{"type": "message.sent", "data": {"text": {"a": 1}}}', "body.data.text: text expected"),
        (b'{"type": "message.sent", "data": {"code": true}}', "body.data.code"),
        (
            b'{"type": "message.sent", "data": {"delivery_id": "' + b"x" * 600 + b'"}}',
            "longer than",
        ),
        (b'[{"type": "message.sent"}, "x"]', r"events\[1\]"),
    ],
)
def test_bodies_not_of_the_documented_shape_are_validation_errors(
    body: bytes, message: str
) -> None:
    request = InboundRequest(method="POST", url="https://shop.example/hooks", body=body)
    with pytest.raises(ValidationError, match=message):
        WebhookConnector(secret=SECRET).parse(request)


def test_a_huge_body_is_refused_unread() -> None:
    body = b'{"type": "message.sent", "data": {"text": "' + b"x" * (1 << 20) + b'"}}'
    request = InboundRequest(method="POST", url="https://shop.example/hooks", body=body)
    with pytest.raises(ValidationError, match="at most 1048576"):
        WebhookConnector(secret=SECRET).parse(request)


# -- the guide's code -----------------------------------------------------------------------------


def _guide() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guides_configurations_post_to_the_crm() -> None:
    guide = _guide()
    by_keyword = _made(guide.crm_connector(SECRET))
    by_url = _made(guide.crm_connector_from_url(SECRET))
    assert "https://crm.shop.example/omnikit" == by_keyword.endpoint == by_url.endpoint


def test_the_guides_receiver_answers_each_kind_of_request() -> None:
    guide = _guide()
    hooks = WebhookConnector(secret=SECRET)
    now = dt.datetime.now(dt.UTC)
    good = _inbound(hooks, DELIVERED, at=now)
    args = ("POST", good.url)

    status, events = guide.receive(hooks, *args, dict(good.headers), good.body)
    replayed = guide.receive(hooks, *args, dict(good.headers), good.body)
    tampered = guide.receive(hooks, *args, dict(good.headers), good.body + b" ")
    junk = _inbound(hooks, {"type": "message.teleported"}, msg_id="evt_2", at=now)
    unreadable = guide.receive(hooks, *args, dict(junk.headers), junk.body)

    assert (204, [DeliveryStatus.DELIVERED]) == (status, [event.status for event in events])
    assert [(401, []), (401, []), (400, [])] == [replayed, tampered, unreadable]


@pytest.mark.parametrize(
    "to",
    [
        "http://127.0.0.1:8080/hooks",
        "http://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "http://[::1]/hooks",
        "http://localhost/hooks",
        "http://billing.internal/hooks",
    ],
)
def test_a_per_message_url_inside_the_network_is_refused_before_sending(
    fake: FakeProvider, to: str
) -> None:
    connector = WebhookConnector(secret=SECRET)
    with pytest.raises(ValidationError, match="public"):
        connector.send(_envelope(to=to))
    connector.close()
    assert fake.requests == []
