"""Twilio's signed webhooks: the published signature vectors, verification and parsing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_twilio import (
    ACCOUNT,
    CALLBACK,
    KEY,
    KEY_SECRET,
    NOW,
    SENDER,
    TOKEN,
    callback,
    signed,
    twilio,
)

from omnikit.connectors import (
    DeliveryStatus,
    EventKind,
    InboundRequest,
)
from omnikit.connectors.twilio import (
    DELIVERY_PARAMETER,
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    TwilioConnector,
    signature,
)
from omnikit.errors import ConnectorError, SignatureError, ValidationError

# -- signatures ----------------------------------------------------------------------------------

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PORT_URL = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
MULTI_PARAMS = [
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "1234"),
]
VECTOR_BODY = b'{"property": "value", "boolean": true}'
VECTOR_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def vector_connector() -> TwilioConnector:
    return twilio(auth_token="12345")  # noqa: S106 - the published vectors' token


def form_request(url: str, params: list[tuple[str, str]], header: str) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/x-www-form-urlencoded", SIGNATURE_HEADER: header},
        body=urllib.parse.urlencode(params).encode(),
    )


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        (VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (VECTOR_PORT_URL, VECTOR_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        (
            VECTOR_URL,
            MULTI_PARAMS,
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        ),
        (f"{VECTOR_URL}&bodySHA256={VECTOR_BODY_HASH}", {}, "a9nBmqA0ju/hNViExpshrM61xv4="),
    ],
    ids=["form", "port-443", "multi-value", "json-body"],
)
def test_twilios_published_vectors(
    url: str, params: dict[str, str] | list[tuple[str, str]], expected: str
) -> None:
    assert signature("12345", url, params) == expected


@pytest.mark.parametrize(
    ("url", "header"),
    [
        (VECTOR_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (VECTOR_PORT_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        (VECTOR_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # Twilio signed with :443, we see none
        (VECTOR_PORT_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # and the other way round
    ],
)
def test_verify_accepts_the_vectors_with_and_without_the_port(url: str, header: str) -> None:
    request = form_request(url, list(VECTOR_PARAMS.items()), header)
    vector_connector().verify(request, now=NOW)


def test_verify_accepts_the_multi_value_vector() -> None:
    request = form_request(VECTOR_URL, MULTI_PARAMS, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    vector_connector().verify(request, now=NOW)


def json_request(body: bytes, url: str, header: str) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=url,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
        body=body,
    )


def test_verify_accepts_the_json_body_vector_and_checks_its_hash() -> None:
    url = f"{VECTOR_URL}&bodySHA256={VECTOR_BODY_HASH}"
    vector_connector().verify(
        json_request(VECTOR_BODY, url, "a9nBmqA0ju/hNViExpshrM61xv4="), now=NOW
    )
    tampered = json_request(
        VECTOR_BODY.replace(b"true", b"fals"), url, "a9nBmqA0ju/hNViExpshrM61xv4="
    )
    with pytest.raises(SignatureError, match="bodySHA256"):
        vector_connector().verify(tampered, now=NOW)


def test_a_json_body_without_its_hash_in_the_url_is_refused() -> None:
    request = json_request(VECTOR_BODY, VECTOR_URL, signature("12345", VECTOR_URL))
    with pytest.raises(SignatureError, match="bodySHA256"):
        vector_connector().verify(request, now=NOW)


def test_another_url_does_not_verify() -> None:
    request = callback("delivered")
    moved = attrs.evolve(request, url=request.url.replace("shop.example", "proxy.internal"))
    with pytest.raises(SignatureError, match="public one"):
        twilio().verify(moved, now=NOW)


def test_a_get_is_signed_over_its_url_alone() -> None:
    url = f"{CALLBACK}?MessageSid=SM1&MessageStatus=received&Body=hi&From=%2B14155550100"
    request = InboundRequest(
        method="GET", url=url, headers={SIGNATURE_HEADER: signature(TOKEN, url)}
    )
    connector = twilio()
    connector.verify(request, now=NOW)
    [event] = connector.parse(request)
    assert (event.kind, event.text, event.address) == (EventKind.INBOUND, "hi", "+14155550100")


def test_a_replay_is_refused_and_the_secret_never_shows() -> None:
    connector = twilio()
    request = callback("delivered")
    connector.verify(request, now=NOW)
    with pytest.raises(SignatureError, match="replay") as caught:
        connector.verify(request, now=NOW + dt.timedelta(minutes=5))
    assert TOKEN not in str(caught.value)
    assert request.headers[SIGNATURE_HEADER] not in str(caught.value)


def test_verifying_needs_the_auth_token() -> None:
    connector = twilio(auth_token=None, api_key=KEY, api_secret=KEY_SECRET)
    with pytest.raises(ConnectorError, match="auth_token"):
        connector.verify(callback("delivered"), now=NOW)


_names = st.sampled_from(["Body", "From", "To", "MessageSid", "MediaUrl0", "X"])
_params = st.lists(st.tuples(_names, st.text(max_size=20)), min_size=1, max_size=8)
_paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-", max_size=20)


@given(params=_params, path=_paths)
def test_what_twilio_signs_verifies(params: list[tuple[str, str]], path: str) -> None:
    url = f"https://shop.example/{path}?x=1"
    twilio().verify(signed(url, params), now=NOW)


@given(params=_params, data=st.data())
def test_any_changed_character_in_a_parameter_does_not_verify(
    params: list[tuple[str, str]], data: st.DataObject
) -> None:
    request = signed(CALLBACK, params)
    index = data.draw(st.integers(0, len(params) - 1))
    name, value = params[index]
    spot = data.draw(st.integers(0, len(value)))
    changed = value[:spot] + data.draw(st.characters(codec="utf-8")) + value[spot + 1 :]
    if sorted({(n, v) for n, v in params}) == sorted(
        {(n, v) for n, v in [*params[:index], (name, changed), *params[index + 1 :]]}
    ):
        return  # the same parameters after all (a character replaced by itself)
    forged = [*params[:index], (name, changed), *params[index + 1 :]]
    body = urllib.parse.urlencode(forged).encode()
    with pytest.raises(SignatureError):
        twilio().verify(attrs.evolve(request, body=body), now=NOW)


@given(body=st.binary(min_size=1, max_size=200), data=st.data())
def test_any_changed_byte_of_a_json_body_does_not_verify(body: bytes, data: st.DataObject) -> None:
    url = f"{CALLBACK}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    request = json_request(body, url, signature(TOKEN, url))
    twilio().verify(request, now=NOW)
    spot = data.draw(st.integers(0, len(body) - 1))
    other = data.draw(st.integers(0, 255).filter(lambda byte: byte != body[spot]))
    tampered = body[:spot] + bytes([other]) + body[spot + 1 :]
    with pytest.raises(SignatureError):
        twilio().verify(attrs.evolve(request, body=tampered), now=NOW)


# -- parsing -------------------------------------------------------------------------------------

STATUS_MAP = {
    "accepted": (EventKind.STATUS, DeliveryStatus.SENT),
    "scheduled": (EventKind.STATUS, DeliveryStatus.SENT),
    "queued": (EventKind.STATUS, DeliveryStatus.SENT),
    "sending": (EventKind.STATUS, DeliveryStatus.SENT),
    "sent": (EventKind.STATUS, DeliveryStatus.SENT),
    "delivered": (EventKind.STATUS, DeliveryStatus.DELIVERED),
    "partially_delivered": (EventKind.STATUS, DeliveryStatus.DELIVERED),
    "undelivered": (EventKind.STATUS, DeliveryStatus.UNDELIVERED),
    "failed": (EventKind.STATUS, DeliveryStatus.FAILED),
    "canceled": (EventKind.STATUS, DeliveryStatus.FAILED),
    "read": (EventKind.ENGAGEMENT, DeliveryStatus.READ),
    "receiving": (EventKind.INBOUND, None),
    "received": (EventKind.INBOUND, None),
}


@pytest.mark.parametrize("status", sorted(STATUS_MAP))
def test_every_twilio_status_is_mapped(status: str) -> None:
    connector = twilio()
    request = callback(status)
    connector.verify(request, now=NOW)
    [event] = connector.parse(request)
    assert (event.kind, event.status) == STATUS_MAP[status]
    assert event.provider_message_id == "SM" + "5" * 32
    if event.kind is not EventKind.INBOUND:
        assert (event.delivery_id, event.address) == ("dlv_1", "+14155550100")


def test_event_ids_are_stable_and_differ_by_status() -> None:
    ids = {status: twilio().parse(callback(status))[0].event_id for status in STATUS_MAP}
    assert len(set(ids.values())) == len(STATUS_MAP) - 1
    assert ids["receiving"] == ids["received"]  # one customer's message, counted once
    assert twilio().parse(callback("delivered"))[0].event_id == ids["delivered"]


def test_a_failure_keeps_twilios_code_and_the_carriers_time() -> None:
    request = callback("undelivered", ErrorCode="30003", RawDlrDoneDate="2612051159")
    [event] = twilio().parse(request)
    assert (event.code, event.timestamp) == ("30003", "2026-12-05T11:59:00")
    assert event.raw["ErrorCode"] == "30003"
    earlier = callback("undelivered", ErrorCode="30003", RawDlrDoneDate="2612051158")
    assert twilio().parse(earlier)[0].event_id != event.event_id


def test_an_unknown_status_is_kept_with_a_reason() -> None:
    [event] = twilio().parse(callback("teleported"))
    assert (event.kind, event.status) == (EventKind.STATUS, None)
    assert event.reason is not None
    assert "teleported" in event.reason


def test_an_incoming_message_becomes_an_inbound_event() -> None:
    params = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": ACCOUNT,
        "From": "whatsapp:+14155550100",
        "To": f"whatsapp:{SENDER}",
        "Body": "Is it in stock?",
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
        "SmsStatus": "received",
        "ProfileName": "Ana",
    }
    connector = twilio(whatsapp=True)
    request = signed(CALLBACK, params)
    connector.verify(request, now=NOW)
    [event] = connector.parse(request)
    assert (event.kind, event.address, event.text) == (
        EventKind.INBOUND,
        "+14155550100",
        "Is it in stock?",
    )
    assert event.raw["MediaUrl0"] == "https://api.twilio.com/media/ME1"
    assert event.delivery_id is None


def test_a_json_webhook_parses_like_a_form() -> None:
    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered", "NumMedia": 0}).encode()
    request = InboundRequest(
        method="POST",
        url=f"{CALLBACK}?{DELIVERY_PARAMETER}=dlv_9",
        headers={"Content-Type": "application/json"},
        body=body,
    )
    [event] = twilio().parse(request)
    assert (event.status, event.delivery_id) == (DeliveryStatus.DELIVERED, "dlv_9")


def _form(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> InboundRequest:
    return InboundRequest(
        method="POST", url=CALLBACK, headers={"Content-Type": content_type}, body=body
    )


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (_form(b"garbage"), "MessageSid"),
        (_form(b"MessageSid=SM1"), "MessageStatus"),
        (_form(b"MessageSid=SM1&SmsStatus=received&NumMedia=many"), "NumMedia"),
        (_form(b"\xff\xfe"), "UTF-8"),
        (_form(b"{not json", "application/json"), "JSON"),
        (_form(b"[1, 2]", "application/json"), "object"),
        (_form(b"[" * 100_000 + b"]" * 100_000, "application/json"), "JSON"),
        (_form(b"MessageSid=SM1&" + b"x" * MAX_WEBHOOK_BYTES), "bytes"),
    ],
    ids=["garbage", "no-status", "media", "not-utf8", "not-json", "array", "deep", "huge"],
)
def test_hostile_webhook_bodies_are_validation_errors(
    request_: InboundRequest, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        twilio().parse(request_)


def test_a_garbage_delivery_id_in_the_url_is_dropped() -> None:
    [event] = twilio().parse(callback("delivered", delivery="not%20ours%0A"))
    assert event.delivery_id is None
