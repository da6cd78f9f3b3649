"""The WhatsApp Cloud API connector against a fake Graph API on loopback, and Meta's webhooks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from fake_provider import Answer, FakeProvider, Fault, Seen
from hypothesis import given
from hypothesis import strategies as st

from omnikit import Hub
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
from omnikit.connectors.whatsapp import (
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    THROTTLE_WAITS,
    WhatsAppConnector,
)
from omnikit.errors import ConnectorError, SignatureError, ValidationError
from omnikit.testing import ConnectorContract, FrozenClock

PHONE_ID = "106540352242922"
TOKEN = "EAAG-whatsapp-access-token-0042"  # noqa: S105 - a test secret
APP_SECRET = "omnikit-app-secret"  # noqa: S105 - a test secret
VERIFY_TOKEN = "omnikit-verify-token-0042"  # noqa: S105 - a test secret
VERSION = "v21.0"
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)

# -- the fake Graph API --------------------------------------------------------------------------

_IDS = itertools.count(1)


def graph_error(status: int, code: int, message: str, details: str | None = None) -> Answer:
    """A Graph API error envelope, as Meta answers."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "AbC123"
    return Answer(status, {"error": error})


def _template_error(template: object) -> Answer | None:
    if not isinstance(template, dict) or not template.get("name"):
        return graph_error(400, 131008, "(#131008) Required parameter is missing", "template.name")
    language = template.get("language")
    if not isinstance(language, dict) or not language.get("code"):
        return graph_error(400, 131008, "(#131008) Required parameter is missing", "language")
    for component in template.get("components", []):
        for parameter in component.get("parameters", []):
            if parameter.get("type") == "text" and not parameter.get("text"):
                return graph_error(400, 100, "(#100) Invalid parameter", "Parameter text is empty")
    return None


def _shape_error(body: dict[str, Any]) -> Answer | None:
    """The documented checks of a /messages request."""
    if body.get("messaging_product") != "whatsapp":
        return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
    if not body.get("to"):
        return graph_error(400, 100, "(#100) The parameter to is required.")
    kind = body.get("type")
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, dict) or not text.get("body"):
            return graph_error(400, 100, "(#100) Param text['body'] must be a non-empty string")
        return None
    if kind == "template":
        return _template_error(body.get("template"))
    return graph_error(400, 100, f"(#100) Unsupported message type {kind!r}")


def _scripted(body: dict[str, Any]) -> Answer | None:
    """Numbers and texts that play Meta's bad days."""
    text = body.get("text", {}).get("body", "")
    if body["to"] == "+15550000001":
        return graph_error(400, 131026, "(#131026) Message undeliverable", "Receiver is incapable")
    if body["to"] == "+15550000002":
        return graph_error(400, 131047, "(#131047) Re-engagement message", "More than 24 hours")
    throttled = {"pair": 131056, "burst": 130429, "app": 4, "waba": 80007}
    if text in throttled:
        code = throttled[text]
        return graph_error(400, code, f"(#{code}) Rate limit hit", "Too many messages")
    if text == "wait as told":
        return Answer(429, {"error": {"message": "slow", "code": 130429}}, {"Retry-After": "3"})
    if text == "meta down":
        return graph_error(503, 2, "(#2) Service temporarily unavailable")
    return None


def graph_api(seen: Seen) -> Answer:
    """A Cloud API /messages endpoint that enforces the documented request shape."""
    if seen.method != "POST" or seen.path != f"/{VERSION}/{PHONE_ID}/messages":
        return graph_error(400, 100, "(#100) Unsupported post request.")
    if seen.headers.get("authorization") != f"Bearer {TOKEN}":
        return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
    if seen.headers.get("content-type") != "application/json":
        return graph_error(400, 100, "(#100) The request body is not JSON")
    try:
        body = seen.json()
    except ValueError:
        return graph_error(400, 100, "(#100) The request body is not JSON")
    answer = _shape_error(body) or _scripted(body)
    if answer is not None:
        return answer
    wamid = f"wamid.HBgL{next(_IDS):06d}"
    return Answer(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"].lstrip("+")}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        },
    )


@pytest.fixture(name="fake")
def _fake() -> Iterator[FakeProvider]:
    with FakeProvider(graph_api) as server:
        yield server


_OPEN: list[WhatsAppConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def whatsapp(fake: FakeProvider | None = None, **options: object) -> WhatsAppConnector:
    settings: dict[str, object] = {
        "phone_number_id": PHONE_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "language": "en_US",
        "base_url": fake.url if fake is not None else "https://graph.facebook.com",
    }
    settings.update(options)
    connector = WhatsAppConnector(**settings)  # type: ignore[arg-type]
    _OPEN.append(connector)
    return connector


def message(to: str = "+14155550100", text: str = "Your order is ready", **more: Any) -> Envelope:
    return Envelope(id="dlv_1", rendition=Rendition(channel="whatsapp", to=to, text=text, **more))


def template(*parameters: str, **more: Any) -> Envelope:
    ref = TemplateRef(name="order_update", parameters=parameters, **more)
    return Envelope(
        id="dlv_2", rendition=Rendition(channel="whatsapp", to="+14155550100", template=ref)
    )


Send = Callable[[WhatsAppConnector, Envelope], SendResult]


def signed(payload: object, *, secret: str = APP_SECRET) -> InboundRequest:
    """A webhook request as Meta sends it: the raw JSON body and its HMAC-SHA256."""
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return InboundRequest(
        method="POST",
        url="https://shop.example/hooks/whatsapp",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: f"sha256={digest}"},
        body=body,
    )


def notification(value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550100", "phone_number_id": PHONE_ID}
    value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [change]}]}


def status(state: str, **more: Any) -> dict[str, Any]:
    return {
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
        "status": state,
        "timestamp": "1796472000",
        "recipient_id": "14155550100",
        "biz_opaque_callback_data": "dlv_1",
        **more,
    }


# -- the contract --------------------------------------------------------------------------------


class TestWhatsAppContract(ConnectorContract):
    @pytest.fixture
    def connector(self, fake: FakeProvider) -> Iterator[WhatsAppConnector]:
        connector = whatsapp(fake)
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="whatsapp", to="+14155550100", text="Your order is ready")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [TOKEN, APP_SECRET, VERIFY_TOKEN]

    @pytest.fixture
    def webhook(self) -> InboundRequest:
        return signed(notification({"statuses": [status("delivered"), status("read")]}))


# -- sending -------------------------------------------------------------------------------------


def test_a_text_is_the_documented_json_post_with_our_id_as_callback_data(
    fake: FakeProvider, send: Send
) -> None:
    result = send(whatsapp(fake), message(to="whatsapp:14155550100"))
    assert isinstance(result, Accepted)
    assert result.provider_message_id.startswith("wamid.")
    [seen] = fake.requests
    assert seen.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+14155550100",
        "biz_opaque_callback_data": "dlv_1",
        "type": "text",
        "text": {"body": "Your order is ready", "preview_url": False},
    }


def test_a_template_carries_its_language_and_body_parameters(fake: FakeProvider) -> None:
    assert isinstance(whatsapp(fake).send(template("Ana", "#1042")), Accepted)
    assert fake.requests[0].json()["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#1042"}],
            }
        ],
    }


def test_a_templates_own_language_wins_and_no_parameters_means_no_components(
    fake: FakeProvider,
) -> None:
    assert isinstance(whatsapp(fake).send(template(language="pt_PT")), Accepted)
    assert fake.requests[0].json()["template"] == {
        "name": "order_update",
        "language": {"code": "pt_PT"},
    }


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        (template("Ana", ""), "template.parameters[1]: empty"),
        (template("   "), "template.parameters[0]: empty"),
        (template("line\nbreak"), "template.parameters[0]"),
        (template("a     b"), "template.parameters[0]"),
        (
            Envelope(
                id="d",
                rendition=Rendition(
                    channel="whatsapp", to="+14155550100", template=TemplateRef(name="Order Update")
                ),
            ),
            "template.name",
        ),
        (message(to="+1415\r\nX-Injected: 1"), "to"),
        (message(to="ana@example.com"), "to"),
    ],
)
def test_what_meta_would_refuse_is_an_error_before_sending(
    fake: FakeProvider, envelope: Envelope, field: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(field)):
        whatsapp(fake).send(envelope)
    assert fake.requests == []


def test_a_template_without_a_language_is_an_error(fake: FakeProvider) -> None:
    with pytest.raises(ValidationError, match=re.escape("template.language")):
        whatsapp(fake, language=None).send(template("Ana"))


def test_media_are_not_carried(fake: FakeProvider) -> None:
    with pytest.raises(ValidationError, match="media"):
        whatsapp(fake).send(message(media=("https://cdn.example/a.jpg",)))


def test_text_past_4096_characters_is_an_error(fake: FakeProvider) -> None:
    with pytest.raises(ValidationError, match="4096"):
        whatsapp(fake).send(message(text="x" * 4097))


@pytest.mark.parametrize(
    ("to", "text", "expected"),
    [
        ("+14155550100", "pair", ("131056", Transient, True, THROTTLE_WAITS["131056"])),
        ("+14155550100", "burst", ("130429", Transient, True, THROTTLE_WAITS["130429"])),
        ("+14155550100", "app", ("4", Transient, True, THROTTLE_WAITS["4"])),
        ("+14155550100", "waba", ("80007", Transient, True, THROTTLE_WAITS["80007"])),
        ("+14155550100", "wait as told", ("130429", Transient, True, 3.0)),
        ("+14155550100", "meta down", ("2", Transient, False, None)),
        ("+15550000001", "hi", ("131026", Refused, None, None)),
        ("+15550000002", "hi", ("131047", Refused, None, None)),
    ],
)
def test_graph_errors_are_classified_by_their_code(
    fake: FakeProvider, send: Send, to: str, text: str, expected: tuple[Any, ...]
) -> None:
    code, kind, safe, wait = expected
    result = send(whatsapp(fake), message(to=to, text=text))
    assert isinstance(result, kind)
    assert result.code == code  # type: ignore[union-attr]
    if isinstance(result, Transient):
        assert (result.safe_to_retry, result.retry_after) == (safe, wait)


def test_meta_s_explanation_is_kept_and_the_window_says_to_use_a_template(
    fake: FakeProvider,
) -> None:
    undeliverable = whatsapp(fake).send(message(to="+15550000001"))
    assert undeliverable == Refused(
        code="131026", reason="(#131026) Message undeliverable: Receiver is incapable"
    )
    closed = whatsapp(fake).send(message(to="+15550000002"))
    assert isinstance(closed, Refused)
    assert "Re-engagement message" in closed.reason
    assert "template" in closed.reason


def test_an_invalid_parameter_and_a_bad_token_are_refused(fake: FakeProvider, send: Send) -> None:
    bad_token = send(whatsapp(fake, access_token="expired"), message())  # noqa: S106 - a wrong one
    assert isinstance(bad_token, Refused)
    assert bad_token.code == "190"
    wrong_version = send(whatsapp(fake, api_version="v1.0"), message())
    assert isinstance(wrong_version, Refused)
    assert wrong_version.code == "100"


def test_a_200_without_a_message_id_is_unknown() -> None:
    with FakeProvider(lambda _seen: Answer(200, {"messaging_product": "whatsapp"})) as fake:
        assert isinstance(whatsapp(fake).send(message()), Unknown)


# -- faults --------------------------------------------------------------------------------------


def test_no_answer_within_the_timeout_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.delay(1.0))
    assert isinstance(send(whatsapp(fake, timeout=0.2), message()), Unknown)


def test_a_reset_after_the_request_went_out_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.reset())
    assert isinstance(send(whatsapp(fake), message()), Unknown)


def test_a_5xx_after_meta_stored_the_message_is_not_safe_to_retry(
    fake: FakeProvider, send: Send
) -> None:
    fake.fault(Fault.fail_after_store(502))
    result = send(whatsapp(fake), message())
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert len(fake.stored) == 1


def test_meta_unreachable_is_transient_and_safe(send: Send) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(whatsapp(base_url=f"http://127.0.0.1:{port}"), message())
    assert isinstance(result, Transient)
    assert result.safe_to_retry


# -- configuration -------------------------------------------------------------------------------


def test_from_url_reads_the_token_the_number_and_options() -> None:
    connector = connect(
        f"whatsapp://:{TOKEN}@{PHONE_ID}?app_secret={APP_SECRET}&language=pt_PT"
        "&api_version=v22.0&preview_url=true"
    )
    assert isinstance(connector, WhatsAppConnector)
    assert (connector.phone_number_id, connector.language, connector.api_version) == (
        PHONE_ID,
        "pt_PT",
        "v22.0",
    )
    assert connector.preview_url
    assert TOKEN not in repr(connector)


@pytest.mark.parametrize(
    ("url", "message_"),
    [
        (f"whatsapp://{PHONE_ID}", "access token"),
        (f"whatsapp://:{TOKEN}@{PHONE_ID}?colour=red", "colour"),
        (f"whatsapp://:{TOKEN}@{PHONE_ID}?preview_url=maybe", "preview_url"),
        (f"whatsapp://:{TOKEN}@{PHONE_ID}?api_version=21", "api_version"),
        (f"whatsapp://:{TOKEN}@not-a-number", "phone_number_id"),
    ],
)
def test_a_bad_url_is_an_error_that_hides_the_token(url: str, message_: str) -> None:
    with pytest.raises(ValidationError, match=message_) as caught:
        connect(url)
    assert TOKEN not in str(caught.value)


def test_no_secret_shows_anywhere(fake: FakeProvider) -> None:
    connector = whatsapp(fake)
    result = connector.send(message(to="+15550000001"))
    for text in (repr(connector), str(connector), repr(result), repr(vars(connector))):
        for secret in (TOKEN, APP_SECRET, VERIFY_TOKEN):
            assert secret not in text


# -- the subscription handshake ------------------------------------------------------------------


def handshake(mode: str = "subscribe", token: str = VERIFY_TOKEN, challenge: str = "1158201444"):
    query = urllib.parse.urlencode(
        {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    )
    return InboundRequest(method="GET", url=f"https://shop.example/hooks/whatsapp?{query}")


def test_the_handshake_answers_the_challenge() -> None:
    assert whatsapp().verify_subscription(handshake()) == "1158201444"


@pytest.mark.parametrize(
    ("request_", "error", "message_"),
    [
        (handshake(token="guess"), SignatureError, "hub.verify_token"),  # noqa: S106 - a wrong one
        (handshake(token=""), SignatureError, "hub.verify_token"),
        (handshake(mode="unsubscribe"), SignatureError, "hub.mode"),
        (handshake(challenge="<script>alert(1)</script>"), ValidationError, "hub.challenge"),
        (attrs.evolve(handshake(), method="POST"), ValidationError, "GET"),
    ],
)
def test_a_wrong_handshake_is_refused(
    request_: InboundRequest, error: type[Exception], message_: str
) -> None:
    with pytest.raises(error, match=re.escape(message_)) as caught:
        whatsapp().verify_subscription(request_)
    assert VERIFY_TOKEN not in str(caught.value)


def test_the_handshake_needs_a_verify_token() -> None:
    with pytest.raises(ConnectorError, match="verify_token"):
        whatsapp(verify_token=None).verify_subscription(handshake())


# -- signatures ----------------------------------------------------------------------------------

VECTOR_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
VECTOR_SIGNATURE = "sha256=e07662339bedcf9ad9f45c809be130511a4ed9ce889cc93901ba1ad2aea7381e"


def vector_request(header: str = VECTOR_SIGNATURE) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://shop.example/hooks/whatsapp",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
        body=VECTOR_BODY,
    )


def test_the_section_11_vector_verifies_and_parses_to_nothing() -> None:
    connector = whatsapp()
    connector.verify(vector_request(), now=NOW)
    assert connector.parse(vector_request()) == []
    upper = vector_request(VECTOR_SIGNATURE.upper().replace("SHA256", "sha256"))
    whatsapp().verify(upper, now=NOW)


@pytest.mark.parametrize(
    ("header", "message_"),
    [
        (VECTOR_SIGNATURE.replace("sha256=", "sha1="), "sha256="),
        ("sha256=xyz", "sha256="),
        (VECTOR_SIGNATURE[:-1] + "f", "does not match"),
    ],
)
def test_a_malformed_or_wrong_signature_is_refused(header: str, message_: str) -> None:
    with pytest.raises(SignatureError, match=message_) as caught:
        whatsapp().verify(vector_request(header), now=NOW)
    assert APP_SECRET not in str(caught.value)
    assert VECTOR_SIGNATURE[7:] not in str(caught.value)


def test_verifying_needs_the_app_secret() -> None:
    with pytest.raises(ConnectorError, match="app_secret"):
        whatsapp(app_secret=None).verify(vector_request(), now=NOW)


@given(body=st.binary(min_size=1, max_size=300), data=st.data())
def test_what_meta_signs_verifies_and_any_changed_byte_does_not(
    body: bytes, data: st.DataObject
) -> None:
    digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = InboundRequest(
        method="POST",
        url="https://x.example/h",
        headers={SIGNATURE_HEADER: f"sha256={digest}"},
        body=body,
    )
    whatsapp().verify(request, now=NOW)
    spot = data.draw(st.integers(0, len(body) - 1))
    other = data.draw(st.integers(0, 255).filter(lambda byte: byte != body[spot]))
    with pytest.raises(SignatureError):
        whatsapp().verify(
            attrs.evolve(request, body=body[:spot] + bytes([other]) + body[spot + 1 :]), now=NOW
        )


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "kind", "expected"),
    [
        ("sent", EventKind.STATUS, DeliveryStatus.SENT),
        ("delivered", EventKind.STATUS, DeliveryStatus.DELIVERED),
        ("read", EventKind.ENGAGEMENT, DeliveryStatus.READ),
        ("failed", EventKind.STATUS, DeliveryStatus.FAILED),
    ],
)
def test_every_status_is_mapped_with_our_delivery_id(
    state: str, kind: EventKind, expected: DeliveryStatus
) -> None:
    [event] = whatsapp().parse(signed(notification({"statuses": [status(state)]})))
    assert (event.kind, event.status, event.delivery_id) == (kind, expected, "dlv_1")
    assert event.event_id == f"{status(state)['id']}:{state}"
    assert (event.address, event.timestamp) == ("+14155550100", "2026-12-05T12:00:00+00:00")


def test_a_failed_status_keeps_metas_error() -> None:
    error = {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "Message failed to send because more than 24 hours have passed"},
    }
    [event] = whatsapp().parse(
        signed(notification({"statuses": [status("failed", errors=[error])]}))
    )
    assert event.code == "131047"
    assert event.reason is not None
    assert "more than 24 hours" in event.reason


def test_an_unknown_status_is_kept_with_a_reason() -> None:
    [event] = whatsapp().parse(signed(notification({"statuses": [status("warning")]})))
    assert (event.kind, event.status) == (EventKind.STATUS, None)
    assert "warning" in (event.reason or "")


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ({"type": "text", "text": {"body": "Is it in stock?"}}, "Is it in stock?"),
        ({"type": "button", "button": {"payload": "p", "text": "Yes"}}, "Yes"),
        (
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "1", "title": "Size M"}},
            },
            "Size M",
        ),
        ({"type": "image", "image": {"id": "MEDIA1", "caption": "this one"}}, "this one"),
        ({"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}}, "👍"),
        ({"type": "location", "location": {"latitude": 38.7, "longitude": -9.1}}, None),
        ({"type": "unsupported", "errors": [{"code": 131051, "title": "Unsupported"}]}, None),
    ],
)
def test_every_kind_of_message_becomes_an_inbound_event_with_its_type(
    item: dict[str, Any], text: str | None
) -> None:
    inbound = {"from": "14155550100", "id": "wamid.IN1", "timestamp": "1796472000", **item}
    [event] = whatsapp().parse(signed(notification({"messages": [inbound]})))
    assert (event.kind, event.event_id, event.address, event.text) == (
        EventKind.INBOUND,
        "wamid.IN1",
        "+14155550100",
        text,
    )
    assert event.raw["type"] == item["type"]


def test_statuses_messages_and_errors_in_one_webhook_all_come_out() -> None:
    value = {
        "statuses": [status("sent"), status("delivered")],
        "messages": [
            {"from": "14155550100", "id": "wamid.IN2", "type": "text", "text": {"body": "hi"}}
        ],
        "errors": [{"code": 131000, "title": "Something went wrong"}],
    }
    events = whatsapp().parse(signed(notification(value)))
    assert [event.kind for event in events] == [
        EventKind.STATUS,
        EventKind.STATUS,
        EventKind.INBOUND,
        EventKind.STATUS,
    ]
    assert events[-1].code == "131000"
    assert len({event.event_id for event in events}) == 4
    again = whatsapp().parse(signed(notification(value)))
    assert [event.event_id for event in again] == [event.event_id for event in events]


def test_other_fields_give_no_events() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "W", "changes": [{"field": "message_template_status_update", "value": {}}]}
        ],
    }
    assert whatsapp().parse(signed(payload)) == []


def _raw(body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", url="https://x.example/h", body=body)


@pytest.mark.parametrize(
    ("request_", "message_"),
    [
        (_raw(b"not json"), "not JSON"),
        (_raw(b"[" * 100_000 + b"]" * 100_000), "not JSON"),
        (_raw(b'{"object":"page","entry":[]}'), "object"),
        (_raw(b'{"object":"whatsapp_business_account","entry":{}}'), "entry: not a list"),
        (signed(notification({"statuses": [{"status": "sent"}]})), "statuses[0].id"),
        (signed(notification({"statuses": [status("sent", timestamp="noon")]})), "timestamp"),
        (signed(notification({"messages": ["hi"]})), "messages[0]: not an object"),
        (_raw(b" " * (MAX_WEBHOOK_BYTES + 1)), "bytes"),
    ],
    ids=["garbage", "deep", "object", "entry", "status-id", "timestamp", "message", "huge"],
)
def test_hostile_webhook_bodies_are_validation_errors(
    request_: InboundRequest, message_: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message_)):
        whatsapp().parse(request_)


def test_an_echo_that_is_not_a_delivery_id_is_dropped() -> None:
    [event] = whatsapp().parse(
        signed(notification({"statuses": [status("sent", biz_opaque_callback_data="a b\n")]}))
    )
    assert event.delivery_id is None


# -- through the hub -----------------------------------------------------------------------------


def test_a_hub_sends_through_meta_and_hears_the_receipt_and_the_reply(fake: FakeProvider) -> None:
    connector = whatsapp(fake)
    hub = Hub(connectors=[connector], clock=FrozenClock(NOW))
    hub.identify(user_id="ana", traits={"phone": "+351912345678"})
    ana = hub.customer(user_id="ana").id
    delivery = hub.send(ana, "Your order is ready", channel="whatsapp", purpose="transactional")
    assert (delivery.status, delivery.connector) == (DeliveryStatus.SENT, "whatsapp"), (
        delivery.reason
    )
    assert fake.requests[-1].json()["biz_opaque_callback_data"] == delivery.id
    receipt = signed(
        notification(
            {
                "statuses": [
                    status(
                        "read",
                        id=delivery.provider_message_id,
                        biz_opaque_callback_data=delivery.id,
                    )
                ],
                "messages": [
                    {
                        "from": "351912345678",
                        "id": "wamid.IN9",
                        "type": "text",
                        "text": {"body": "Thanks!"},
                    }
                ],
            }
        )
    )
    report = hub.receive(connector, url=receipt.url, headers=receipt.headers, body=receipt.body)
    assert [moved.status for moved in report.deliveries] == [DeliveryStatus.READ]
    assert len(report.ingested) == 1
    received = [tp for tp in hub.touchpoints(ana) if tp.name == "Message Received"]
    assert len(received) == 1
