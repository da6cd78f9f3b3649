"""The SendGrid connector against a fake SendGrid on loopback, and its signed Event Webhook."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from fake_provider import FakeProvider, Fault
from fake_sendgrid import EXHAUSTED_KEY, KEY, NOW, FakeSendGrid, public_b64, signed
from hypothesis import HealthCheck, given, settings
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
from omnikit.connectors import sendgrid as sendgrid_module
from omnikit.connectors.sendgrid import (
    DELIVERY_ARG,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGridConnector,
)
from omnikit.errors import ConnectorError, SignatureError, ValidationError
from omnikit.testing import ConnectorContract

SENDER = "Shop <shop@example.com>"

# providers.md section 11: SendGrid's own vector (sendgrid-python test_eventwebhook.py)
VECTOR_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
VECTOR_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
VECTOR_TIMESTAMP = "1600112502"
VECTOR_EVENT = {
    "email": "hello@world.com",
    "event": "dropped",
    "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}
VECTOR_BODY = json.dumps([VECTOR_EVENT], sort_keys=True, separators=(",", ":")) + "\r\n"


@pytest.fixture(name="sendgrid")
def _sendgrid() -> FakeSendGrid:
    return FakeSendGrid()


@pytest.fixture(name="fake")
def _fake(sendgrid: FakeSendGrid) -> Iterator[FakeProvider]:
    with FakeProvider(sendgrid) as server:
        yield server


@pytest.fixture(scope="module", name="signing_key")
def _signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


OPEN: list[SendGridConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    """Connectors made by `grid()` are closed after each test: their clients hold sockets."""
    yield
    while OPEN:
        OPEN.pop().close()


def grid(fake: FakeProvider, **options: Any) -> SendGridConnector:
    settings_: dict[str, Any] = {"sender": SENDER, "base_url": fake.url, "timeout": 5.0}
    settings_.update(options)
    connector = SendGridConnector(KEY, **settings_)
    OPEN.append(connector)
    return connector


def letter(to: str = "ana@example.com", id: str = "dlv_1", **fields: Any) -> Envelope:
    fields.setdefault("subject", "Your order")
    fields.setdefault("text", "It ships today.")
    fields.setdefault("html", "<p>It ships <b>today</b>.</p>")
    return Envelope(id=id, rendition=Rendition(channel="email", to=to, **fields))


class TestSendGridContract(ConnectorContract):
    timestamped = True

    @pytest.fixture
    def connector(self, fake: FakeProvider, signing_key: ec.EllipticCurvePrivateKey) -> Any:
        return grid(fake, public_key=public_b64(signing_key))

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="email", to="ana@example.com", subject="Hi", text="Hello Ana")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [KEY]

    @pytest.fixture
    def webhook(self, signing_key: ec.EllipticCurvePrivateKey) -> InboundRequest:
        events = [
            {"event": "delivered", "sg_event_id": "ev-1", DELIVERY_ARG: "dlv_1", "timestamp": 1},
            {"event": "open", "sg_event_id": "ev-2", DELIVERY_ARG: "dlv_1", "timestamp": 2},
        ]
        return signed(signing_key, events)

    @pytest.fixture
    def webhook_now(self) -> dt.datetime:
        return NOW


# -- sending -------------------------------------------------------------------------------------


Send = Callable[[SendGridConnector, Envelope], SendResult]


def test_a_send_is_the_documented_request_and_carries_our_delivery_id(
    fake: FakeProvider, send: Send
) -> None:
    result = send(grid(fake), letter(to="Ana Lima <ana@example.com>", id="dlv_7"))

    assert Accepted(provider_message_id="sgmsg1", status="queued") == result
    [seen] = fake.requests
    assert f"Bearer {KEY}" == seen.headers["authorization"]
    assert "application/json" == seen.headers["content-type"]
    assert {
        "personalizations": [
            {
                "to": [{"email": "ana@example.com", "name": "Ana Lima"}],
                "custom_args": {DELIVERY_ARG: "dlv_7"},
            }
        ],
        "from": {"email": "shop@example.com", "name": "Shop"},
        "subject": "Your order",
        "content": [
            {"type": "text/plain", "value": "It ships today."},
            {"type": "text/html", "value": "<p>It ships <b>today</b>.</p>"},
        ],
    } == seen.json()


def test_html_only_and_media_as_links(fake: FakeProvider, sendgrid: FakeSendGrid) -> None:
    envelope = letter(text="", media=("https://shop.example/a.jpg",))
    assert isinstance(grid(fake).send(envelope), Accepted)
    [part] = sendgrid.accepted[0]["content"]
    assert "text/html" == part["type"]
    assert 'href="https://shop.example/a.jpg"' in part["value"]


def test_a_template_send_names_it_and_passes_the_data(
    fake: FakeProvider, sendgrid: FakeSendGrid
) -> None:
    envelope = letter(
        subject=None,
        text="",
        html=None,
        template=TemplateRef(name="d-0123456789abcdef"),
        data={"first_name": "Ana"},
    )
    assert isinstance(grid(fake).send(envelope), Accepted)
    [body] = sendgrid.accepted
    assert "d-0123456789abcdef" == body["template_id"]
    assert "content" not in body
    assert {"first_name": "Ana"} == body["personalizations"][0]["dynamic_template_data"]
    with pytest.raises(ValidationError, match=r"template\.parameters"):
        grid(fake).send(letter(template=TemplateRef(name="d-1", parameters=("Ana",))))


@pytest.mark.parametrize(
    ("connector_options", "envelope", "expected"),
    [
        (
            {},
            letter(sender="nobody@example.com"),
            Refused(
                code="403",
                reason="from: The from address does not match a verified Sender Identity.",
            ),
        ),
        (
            {"api_key": "SG.wrong"},
            letter(),
            Refused(
                code="401",
                reason="The provided authorization grant is invalid, expired, or revoked",
            ),
        ),
        (
            {"api_key": EXHAUSTED_KEY},
            letter(),
            Refused(code="403", reason="You have exceeded your messaging limits"),
        ),
    ],
)
def test_documented_refusals_carry_sendgrids_errors(
    fake: FakeProvider,
    send: Send,
    connector_options: dict[str, Any],
    envelope: Envelope,
    expected: SendResult,
) -> None:
    options = {"api_key": KEY, "sender": SENDER, "base_url": fake.url, **connector_options}
    connector = SendGridConnector(**options)
    result = send(connector, envelope)
    assert expected == result
    assert options["api_key"] not in f"{result!r} {connector!r}"


def test_a_rate_limit_is_transient_safe_and_waits_until_the_reset(
    fake: FakeProvider, send: Send
) -> None:
    result = send(grid(fake), letter(to="ana@limited.example"))
    assert isinstance(result, Transient)
    assert ("429", "too many requests", True) == (result.code, result.reason, result.safe_to_retry)
    assert result.retry_after is not None
    assert 25 <= result.retry_after <= 30


def test_a_payload_too_large_is_refused(sendgrid: FakeSendGrid, send: Send) -> None:
    sendgrid.max_bytes = 10_000
    with FakeProvider(sendgrid) as fake:
        result = send(grid(fake), letter(text="x" * 20_000))
    assert isinstance(result, Refused)
    assert "413" == result.code
    assert "too large" in result.reason


def test_a_reset_or_a_timeout_after_sending_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.reset())
    assert isinstance(send(grid(fake), letter()), Unknown)
    fake.fault(Fault.delay(1.0))
    assert isinstance(send(grid(fake, timeout=0.2), letter()), Unknown)


def test_a_5xx_after_sendgrid_stored_it_is_not_safe_to_retry(
    fake: FakeProvider, send: Send
) -> None:
    fake.fault(Fault.fail_after_store(503))
    result = send(grid(fake), letter())
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert len(fake.stored) == 1


def test_nobody_listening_is_transient_and_safe(send: Send) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(
        SendGridConnector(KEY, sender=SENDER, base_url=f"http://127.0.0.1:{port}"), letter()
    )
    assert isinstance(result, Transient)
    assert result.safe_to_retry


INJECTIONS = ["\r\nBcc: evil@example.net", "\nX-Evil: 1", "\x00"]


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("field", ["to", "subject", "sender"])
def test_header_injection_is_refused_before_sending(
    fake: FakeProvider, field: str, injection: str
) -> None:
    values = {"to": "ana@example.com", "subject": "Hi", "sender": "shop@example.com"}
    values[field] += injection
    with pytest.raises(ValidationError, match=field):
        grid(fake).send(letter(**values))
    assert [] == fake.requests


def test_what_sendgrid_would_refuse_is_an_error_before_sending(fake: FakeProvider) -> None:
    with pytest.raises(ValidationError, match="subject"):
        grid(fake).send(letter(subject=None))
    with pytest.raises(ValidationError, match="to"):
        grid(fake).send(letter(to="Lima, Ana <ana@example.com>"))
    with pytest.raises(ValidationError, match="sender"):
        SendGridConnector(KEY, base_url=fake.url).send(letter())
    assert [] == fake.requests


# -- the fake enforces SendGrid's shape ----------------------------------------------------------

GOOD = {
    "personalizations": [{"to": [{"email": "a@example.com"}]}],
    "from": {"email": "shop@example.com"},
    "subject": "Hi",
    "content": [{"type": "text/plain", "value": "x"}],
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"personalizations": []}, "personalizations"),
        ({"personalizations": [{"to": []}]}, "personalizations.0.to"),
        ({"from": None}, "from"),
        ({"subject": None}, "subject"),
        ({"content": []}, "content"),
        (
            {
                "content": [
                    {"type": "text/html", "value": "<p>x</p>"},
                    {"type": "text/plain", "value": "x"},
                ]
            },
            "content",
        ),
        (
            {
                "personalizations": [
                    {"to": [{"email": "a@example.com"}]},
                    {"to": [{"email": "A@example.com"}]},
                ]
            },
            "personalizations.1.to",
        ),
    ],
)
def test_the_fake_refuses_what_sendgrid_documents_as_bad(
    fake: FakeProvider, change: dict[str, Any], field: str
) -> None:
    body = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    answer = httpx.post(
        f"{fake.url}/v3/mail/send", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert 400 == answer.status_code
    assert field == answer.json()["errors"][0]["field"]
    ok = httpx.post(
        f"{fake.url}/v3/mail/send", json=GOOD, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert 202 == ok.status_code
    form = httpx.post(
        f"{fake.url}/v3/mail/send", data={"a": "b"}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert 400 == form.status_code


# -- batches -------------------------------------------------------------------------------------


def test_a_batch_groups_identical_content_within_sendgrids_limits(
    fake: FakeProvider, sendgrid: FakeSendGrid
) -> None:
    same = [letter(to=f"c{n}@example.com", id=f"dlv_{n}") for n in range(2003)]
    twice = letter(to="c0@example.com", id="dlv_again")  # an address already in the first
    other = letter(to="c1@example.com", id="dlv_other", subject="Another")
    envelopes = [*same[:5], other, twice, *same[5:]]

    results = grid(fake).send_batch(envelopes)

    assert len(envelopes) == len(results)
    assert all(isinstance(result, Accepted) for result in results)
    sizes = sorted(len(body["personalizations"]) for body in sendgrid.accepted)
    assert [1, 4, 1000, 1000] == sizes  # "Another"; 2004 of one content in 1000 + 1000 + 4
    ids = [
        p["custom_args"][DELIVERY_ARG]
        for body in sendgrid.accepted
        for p in body["personalizations"]
    ]
    assert sorted(envelope.id for envelope in envelopes) == sorted(ids)
    by_id = {envelope.id: result for envelope, result in zip(envelopes, results, strict=True)}
    assert by_id["dlv_0"] != by_id["dlv_again"]  # never one address twice in a request


def test_a_batch_gives_each_request_its_own_answer(fake: FakeProvider) -> None:
    envelopes = [
        letter(to="ana@example.com", id="dlv_a"),
        letter(to="bo@limited.example", id="dlv_b", subject="Limited"),
        letter(to="cy@example.com", id="dlv_c"),
    ]

    async def run() -> list[SendResult]:
        connector = grid(fake)
        try:
            return await connector.asend_batch(envelopes)
        finally:
            await connector.aclose()

    first, limited, third = asyncio.run(run())
    assert isinstance(first, Accepted)
    assert first == third
    assert isinstance(limited, Transient)
    assert limited.safe_to_retry


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2)), min_size=0, max_size=25),
)
def test_a_batch_plan_sends_each_envelope_once_within_the_limits(
    monkeypatch: pytest.MonkeyPatch, picks: list[tuple[int, int]]
) -> None:
    monkeypatch.setattr(sendgrid_module, "MAX_PERSONALIZATIONS", 3)
    envelopes = [
        letter(to=f"c{who}@example.com", id=f"dlv_{n}", subject=f"content {what}")
        for n, (who, what) in enumerate(picks)
    ]
    plan = SendGridConnector(KEY, sender=SENDER)._plan(envelopes)

    carried = sorted(index for indices, _ in plan for index in indices)
    assert list(range(len(envelopes))) == carried
    for indices, call in plan:
        body = json.loads(call.content)
        addresses = [p["to"][0]["email"] for p in body["personalizations"]]
        assert len(addresses) <= 3
        assert len(set(addresses)) == len(addresses)
        assert {envelopes[index].rendition.subject for index in indices} == {body["subject"]}
        assert [envelopes[index].id for index in indices] == [
            p["custom_args"][DELIVERY_ARG] for p in body["personalizations"]
        ]


def test_an_invalid_envelope_stops_the_whole_batch_before_sending(fake: FakeProvider) -> None:
    envelopes = [letter(), letter(to="ana@example.com\r\nBcc: x@example.net", id="dlv_2")]
    with pytest.raises(ValidationError, match=r"envelopes\[1\]\.to"):
        grid(fake).send_batch(envelopes)
    assert [] == fake.requests
    assert [] == grid(fake).send_batch([])


# -- the event webhook ---------------------------------------------------------------------------


def test_sendgrids_own_vector_verifies_and_parses() -> None:
    connector = SendGridConnector(KEY, public_key=VECTOR_KEY)
    request = InboundRequest(
        method="POST",
        url="https://shop.example/hooks/sendgrid",
        headers={SIGNATURE_HEADER: VECTOR_SIGNATURE, TIMESTAMP_HEADER: VECTOR_TIMESTAMP},
        body=VECTOR_BODY.encode(),
    )
    connector.verify(request, now=dt.datetime.fromtimestamp(1600112502, dt.UTC))
    [event] = connector.parse(request)
    assert event.kind is EventKind.STATUS
    assert event.status is DeliveryStatus.FAILED
    assert "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA" == event.event_id
    assert "LRzXl_NHStOGhQ4kofSm_A" == event.provider_message_id
    assert ("hello@world.com", "Bounced Address") == (event.address, event.reason)
    assert "2020-09-14T19:41:32+00:00" == event.timestamp


def test_the_vector_fails_with_another_key_or_a_changed_timestamp() -> None:
    other = SendGridConnector(
        KEY,
        public_key="MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==",
    )
    moment = dt.datetime.fromtimestamp(1600112502, dt.UTC)
    headers = {SIGNATURE_HEADER: VECTOR_SIGNATURE, TIMESTAMP_HEADER: VECTOR_TIMESTAMP}
    request = InboundRequest(method="POST", url="https://x", headers=headers, body=VECTOR_BODY)
    with pytest.raises(SignatureError, match=SIGNATURE_HEADER):
        other.verify(request, now=moment)
    moved = {**headers, TIMESTAMP_HEADER: "1600112503"}
    with pytest.raises(SignatureError, match="does not match"):
        SendGridConnector(KEY, public_key=VECTOR_KEY).verify(
            attrs.evolve(request, headers=moved), now=moment
        )


def test_a_pem_key_works_as_well(signing_key: ec.EllipticCurvePrivateKey) -> None:
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    connector = SendGridConnector(KEY, public_key=pem.decode())
    connector.verify(signed(signing_key, [{"event": "open"}]), now=NOW)


def test_a_replay_with_a_reencoded_signature_is_still_a_replay(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    connector = SendGridConnector(KEY, public_key=public_b64(signing_key))
    request = signed(signing_key, [{"event": "open", "sg_event_id": "ev-1"}])
    connector.verify(request, now=NOW)
    r, s = decode_dss_signature(base64.b64decode(request.headers[SIGNATURE_HEADER]))
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's n
    twin = base64.b64encode(encode_dss_signature(r, order - s)).decode()
    replay = attrs.evolve(request, headers={**request.headers, SIGNATURE_HEADER: twin})
    with pytest.raises(SignatureError, match="replay"):
        connector.verify(replay, now=NOW + dt.timedelta(seconds=5))


def test_what_cannot_be_verified_is_refused_by_name(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    request = signed(signing_key, [{"event": "open"}])
    without_key = SendGridConnector(KEY)
    with pytest.raises(SignatureError, match="public_key"):
        without_key.verify(request, now=NOW)
    connector = SendGridConnector(KEY, public_key=public_b64(signing_key))
    no_stamp = {k: v for k, v in request.headers.items() if k.lower() != TIMESTAMP_HEADER.lower()}
    with pytest.raises(SignatureError, match=TIMESTAMP_HEADER):
        connector.verify(attrs.evolve(request, headers=no_stamp), now=NOW)
    junk = {**request.headers, SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"}
    with pytest.raises(SignatureError, match=SIGNATURE_HEADER):
        connector.verify(attrs.evolve(request, headers=junk), now=NOW)


@settings(max_examples=40, deadline=None)
@given(body=st.binary(min_size=1, max_size=300), data=st.data())
def test_what_is_signed_verifies_and_no_changed_byte_does(body: bytes, data: st.DataObject) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    request = signed(key, body)
    SendGridConnector(KEY, public_key=public_b64(key)).verify(request, now=NOW)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[index] ^= flip
    with pytest.raises(SignatureError):
        SendGridConnector(KEY, public_key=public_b64(key)).verify(
            attrs.evolve(request, body=bytes(changed)), now=NOW
        )


EVENTS = [
    ({"event": "processed"}, EventKind.STATUS, DeliveryStatus.SENT, None),
    (
        {"event": "deferred", "response": "400 try again later", "attempt": "5"},
        EventKind.STATUS,
        DeliveryStatus.SENT,
        "deferred",
    ),
    (
        {"event": "delivered", "response": "250 OK"},
        EventKind.STATUS,
        DeliveryStatus.DELIVERED,
        None,
    ),
    (
        {"event": "dropped", "reason": "Bounced Address"},
        EventKind.STATUS,
        DeliveryStatus.FAILED,
        "dropped",
    ),
    (
        {"event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "550 no such user"},
        EventKind.STATUS,
        DeliveryStatus.BOUNCED,
        "5.1.1",
    ),
    (
        {"event": "bounce", "type": "blocked", "status": "5.7.1", "reason": "IP listed"},
        EventKind.STATUS,
        DeliveryStatus.UNDELIVERED,
        "5.7.1",
    ),
    (
        {"event": "open", "sg_machine_open": False, "useragent": "Mozilla", "ip": "203.0.113.9"},
        EventKind.ENGAGEMENT,
        DeliveryStatus.OPENED,
        None,
    ),
    (
        {"event": "click", "url": "https://shop.example/p/1"},
        EventKind.ENGAGEMENT,
        DeliveryStatus.CLICKED,
        None,
    ),
    ({"event": "spamreport"}, EventKind.ENGAGEMENT, DeliveryStatus.COMPLAINED, None),
    ({"event": "unsubscribe"}, EventKind.ENGAGEMENT, DeliveryStatus.UNSUBSCRIBED, None),
    (
        {"event": "group_unsubscribe", "asm_group_id": 42},
        EventKind.ENGAGEMENT,
        DeliveryStatus.UNSUBSCRIBED,
        None,
    ),
    (
        {"event": "group_resubscribe", "asm_group_id": 42},
        EventKind.ENGAGEMENT,
        None,
        "group_resubscribe",
    ),
    ({"event": "account_status_change"}, EventKind.STATUS, None, "account_status_change"),
]


def test_every_sendgrid_event_becomes_a_provider_event(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    items = [
        {
            "email": "ana@example.com",
            "timestamp": 1764936000 + n,
            "sg_event_id": f"ev-{n}",
            "sg_message_id": "14c5d75ce93.filter0001.16648.5515E0B88.0",
            "category": ["welcome", "promo"],
            DELIVERY_ARG: "dlv_9",
            **event,
        }
        for n, (event, *_) in enumerate(EVENTS)
    ]
    connector = SendGridConnector(KEY, public_key=public_b64(signing_key))
    request = signed(signing_key, items)
    connector.verify(request, now=NOW)

    parsed = connector.parse(request)

    assert [(kind, status, code) for _, kind, status, code in EVENTS] == [
        (event.kind, event.status, event.code) for event in parsed
    ]
    assert [f"ev-{n}" for n in range(len(EVENTS))] == [event.event_id for event in parsed]
    assert {"dlv_9"} == {event.delivery_id for event in parsed}
    assert {"14c5d75ce93"} == {event.provider_message_id for event in parsed}
    assert "2025-12-05T12:00:00+00:00" == parsed[0].timestamp
    assert "400 try again later" == parsed[1].reason
    assert "https://shop.example/p/1" == parsed[7].raw["url"]


def test_an_event_without_an_id_gets_a_stable_one() -> None:
    connector = SendGridConnector(KEY)
    event = {"event": "delivered", "sg_message_id": "m.1", "timestamp": 5, "email": "a@example.com"}
    body = json.dumps([event, {**event, "event": "open"}]).encode()
    request = InboundRequest(method="POST", url="https://x", body=body)
    first, second = connector.parse(request)
    assert first.event_id.startswith("sg-")
    assert first.event_id != second.event_id
    assert first.event_id == connector.parse(request)[0].event_id


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"event=open", "not JSON"),
        (b'{"event": "open"}', "array"),
        (b"[1, 2]", r"body\.0"),
        (b'[{"email": "a@example.com"}]', r"body\.0"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_body_that_is_not_sendgrids_is_a_validation_error(body: bytes, match: str) -> None:
    request = InboundRequest(method="POST", url="https://x", body=body)
    with pytest.raises(ValidationError, match=match):
        SendGridConnector(KEY).parse(request)


# -- configuration -------------------------------------------------------------------------------


def test_the_url_configures_it_and_hides_the_key(signing_key: ec.EllipticCurvePrivateKey) -> None:
    key = public_b64(signing_key)
    url = f"sendgrid://apikey:{KEY}@api.eu.sendgrid.com?from=shop@example.com&public_key={key}"
    connector = connect(url)  # the key's "+" arrive as spaces, and are put back
    assert isinstance(connector, SendGridConnector)
    assert "https://api.eu.sendgrid.com" == connector.base_url
    assert connector.sender is not None
    assert "shop@example.com" == connector.sender.address
    assert KEY not in repr(connector)
    connector.verify(signed(signing_key, [{"event": "open"}]), now=NOW)
    default = connect(f"sendgrid://apikey:{KEY}@?from=shop@example.com", timeout=3.0)
    assert isinstance(default, SendGridConnector)
    assert ("https://api.sendgrid.com", 3.0) == (default.base_url, default.timeout)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        (f"sendgrid://{KEY}@?from=shop@example.com", "password place"),
        (f"sendgrid://apikey:{KEY}@?form=shop@example.com", "form"),
        (f"sendgrid://apikey:{KEY}@?public_key=bm90LWEta2V5", "public_key"),
        (f"sendgrid://apikey:{KEY}@?timeout=soon", "timeout"),
    ],
)
def test_a_url_it_cannot_use_is_an_error(url: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as caught:
        connect(url)
    assert KEY not in str(caught.value)


def test_a_key_that_is_not_p256_is_refused() -> None:
    der = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValidationError, match="P-256"):
        SendGridConnector(KEY, public_key=base64.b64encode(der).decode())


def test_verifying_without_cryptography_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.serialization", None)
    with pytest.raises(ConnectorError, match=r"omnikit\[sendgrid\]"):
        SendGridConnector(KEY, public_key=VECTOR_KEY)
    assert isinstance(SendGridConnector(KEY), SendGridConnector)  # sending needs no extra
