"""The Twilio connector against a fake Messages API on loopback, and Twilio's signed webhooks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterator

import pytest
from fake_provider import Answer, FakeProvider, Fault, Seen

from omnikit import Hub
from omnikit.connectors import (
    Accepted,
    DeliveryStatus,
    Envelope,
    InboundRequest,
    Refused,
    Rendition,
    SendResult,
    TemplateRef,
    Transient,
    Unknown,
    connect,
)
from omnikit.connectors.twilio import (
    DELIVERY_PARAMETER,
    SIGNATURE_HEADER,
    TwilioConnector,
    signature,
)
from omnikit.errors import SignatureError, ValidationError
from omnikit.testing import ConnectorContract, FrozenClock

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-0042"  # noqa: S105 - a test secret
KEY = "SK" + "fe" * 16
KEY_SECRET = "twilio-key-secret-0042"  # noqa: S105 - a test secret
SERVICE = "MG" + "12" * 16
CONTENT = "HX" + "ab" * 16
SENDER = "+15005550006"
CALLBACK = "https://shop.example/hooks/twilio"
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)

# -- the fake Messages API -----------------------------------------------------------------------

_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")
_SIDS = itertools.count(1)


def twilio_error(status: int, code: int, message: str) -> Answer:
    """Twilio's (legacy) error body, as its API answers."""
    more = f"https://www.twilio.com/docs/errors/{code}"
    return Answer(status, {"code": code, "message": message, "more_info": more, "status": status})


def _authorized(seen: Seen, account: str) -> bool:
    scheme, _, encoded = seen.headers.get("authorization", "").partition(" ")
    if scheme != "Basic":
        return False
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    if account != ACCOUNT:
        return False
    return (user, password) in {(ACCOUNT, TOKEN), (KEY, KEY_SECRET)}


def _shape_error(form: dict[str, list[str]]) -> Answer | None:
    """The documented checks of a Messages create request, in Twilio's order."""
    one = {name: values[0] for name, values in form.items()}
    to, sender = one.get("To", ""), one.get("From", "")
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not sender and not one.get("MessagingServiceSid"):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not (one.get("Body") or form.get("MediaUrl") or one.get("ContentSid")):
        return twilio_error(400, 21602, "Message body is required.")
    if len(one.get("Body", "")) > 1600:
        return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 limit")
    if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
        return twilio_error(400, 21910, "Invalid From and To pair.")
    callback = urllib.parse.urlsplit(one.get("StatusCallback", "https://ok"))
    if callback.scheme not in {"http", "https"} or "_" in (callback.hostname or "_"):
        return twilio_error(400, 21609, "Invalid StatusCallback url")
    if "ContentVariables" in one:
        try:
            assert isinstance(json.loads(one["ContentVariables"]), dict)
        except (ValueError, AssertionError):
            return twilio_error(400, 21656, "The ContentVariables Parameter is invalid.")
    return None


def _scripted(form: dict[str, list[str]]) -> Answer | None:
    """Twilio's magic test numbers, and bodies that play its bad days."""
    to, body = form["To"][0].removeprefix("whatsapp:"), form.get("Body", [""])[0]
    if to == "+15005550001":
        return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if to == "+15005550004":
        return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
    if to == "+15005550009":  # the newer, RFC 9457 error shape
        problem = {
            "type": "https://www.twilio.com/docs/api/errors/21614",
            "title": "'To' number is not a valid mobile number",
            "status": 400,
            "code": 21614,
            "detail": f"{to} is not a mobile number",
            "instance": "/2010-04-01/Accounts/.../Messages.json",
        }
        return Answer(400, problem, headers={"Content-Type": "application/problem+json"})
    if body == "slow down":
        return twilio_error(429, 20429, "Too Many Requests")
    if body == "boom":
        return twilio_error(500, 20500, "Internal Server Error")
    if body == "maintenance":
        return Answer(503, "Service Unavailable", headers={"Retry-After": "30"})
    return None


def twilio_api(seen: Seen) -> Answer:
    """A Messages API that enforces the documented request shape."""
    found = _PATH.fullmatch(seen.path)
    if seen.method != "POST" or found is None:
        return twilio_error(404, 20404, "The requested resource was not found")
    if not _authorized(seen, found.group(1)):
        return twilio_error(401, 20003, "Authenticate")
    if seen.headers.get("content-type") != "application/x-www-form-urlencoded":
        return twilio_error(400, 21601, "The request is not form-encoded")
    form = seen.form()
    answer = _shape_error(form) or _scripted(form)
    if answer is not None:
        return answer
    one = {name: values[0] for name, values in form.items()}
    through_service = "From" not in one
    sid = "SM" + hashlib.md5(str(next(_SIDS)).encode()).hexdigest()  # noqa: S324 - an id, not a hash
    resource = {
        "sid": sid,
        "account_sid": ACCOUNT,
        "status": "accepted" if through_service else "queued",
        "to": one["To"],
        "from": one.get("From"),
        "body": one.get("Body", ""),
        "num_segments": "1",
        "num_media": str(len(form.get("MediaUrl", []))),
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": one.get("MessagingServiceSid"),
    }
    return Answer(201, resource)


@pytest.fixture(name="fake")
def _fake() -> Iterator[FakeProvider]:
    with FakeProvider(twilio_api) as server:
        yield server


_OPEN: list[TwilioConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def twilio(fake: FakeProvider | None = None, **options: object) -> TwilioConnector:
    settings: dict[str, object] = {
        "account_sid": ACCOUNT,
        "auth_token": TOKEN,
        "sender": SENDER,
        "status_callback": CALLBACK,
        "base_url": fake.url if fake is not None else "https://api.twilio.com",
    }
    settings.update(options)
    connector = TwilioConnector(**settings)  # type: ignore[arg-type]
    _OPEN.append(connector)
    return connector


def sms(to: str = "+14155550100", text: str = "Your order is ready", **more: object) -> Envelope:
    rendition = Rendition(channel="sms", to=to, text=text, **more)  # type: ignore[arg-type]
    return Envelope(id="dlv_1", rendition=rendition)


Send = Callable[[TwilioConnector, Envelope], SendResult]


def signed(
    url: str,
    params: dict[str, str] | list[tuple[str, str]],
    *,
    token: str = TOKEN,
) -> InboundRequest:
    """A webhook request as Twilio sends it: a form POST signed over the URL and the form."""
    return InboundRequest(
        method="POST",
        url=url,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature(token, url, params),
        },
        body=urllib.parse.urlencode(params).encode(),
    )


def callback(status: str, delivery: str = "dlv_1", **more: str) -> InboundRequest:
    params = {
        "MessageSid": "SM" + "5" * 32,
        "SmsSid": "SM" + "5" * 32,
        "AccountSid": ACCOUNT,
        "From": SENDER,
        "To": "+14155550100",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        **more,
    }
    return signed(f"{CALLBACK}?{DELIVERY_PARAMETER}={delivery}", params)


# -- the contract --------------------------------------------------------------------------------


class TestTwilioSMSContract(ConnectorContract):
    @pytest.fixture
    def connector(self, fake: FakeProvider) -> Iterator[TwilioConnector]:
        connector = twilio(fake)
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="sms", to="+14155550100", text="Your order is ready")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [TOKEN]

    @pytest.fixture
    def webhook(self) -> InboundRequest:
        return callback("delivered", delivery="dlv_contract_1")


class TestTwilioWhatsAppContract(TestTwilioSMSContract):
    @pytest.fixture
    def connector(self, fake: FakeProvider) -> Iterator[TwilioConnector]:
        connector = twilio(fake, whatsapp=True)
        yield connector
        connector.close()

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="whatsapp", to="+14155550100", text="Your order is ready")


# -- sending -------------------------------------------------------------------------------------


def test_a_send_is_the_documented_form_post_with_our_id_in_the_callback(
    fake: FakeProvider, send: Send
) -> None:
    result = send(twilio(fake), sms())
    assert isinstance(result, Accepted)
    assert result.provider_message_id.startswith("SM")
    assert result.status == "queued"
    [seen] = fake.requests
    assert seen.headers["accept"] == "application/json"
    form = seen.form()
    assert form["To"] == ["+14155550100"]
    assert form["From"] == [SENDER]
    assert form["Body"] == ["Your order is ready"]
    [url] = form["StatusCallback"]
    assert url == f"{CALLBACK}?{DELIVERY_PARAMETER}=dlv_1"


def test_a_callback_keeps_its_own_query_and_fragment(fake: FakeProvider) -> None:
    connector = twilio(fake, status_callback="https://shop.example/hooks?site=eu#rc=3")
    assert isinstance(connector.send(sms()), Accepted)
    [url] = fake.requests[0].form()["StatusCallback"]
    assert url == f"https://shop.example/hooks?site=eu&{DELIVERY_PARAMETER}=dlv_1#rc=3"


def test_a_messaging_service_sends_when_no_sender_is_given(fake: FakeProvider) -> None:
    connector = twilio(fake, sender=None, messaging_service_sid=SERVICE)
    result = connector.send(sms())
    assert result == Accepted(provider_message_id=result.provider_message_id, status="accepted")  # type: ignore[union-attr]
    form = fake.requests[0].form()
    assert form["MessagingServiceSid"] == [SERVICE]
    assert "From" not in form


def test_a_renditions_own_sender_wins(fake: FakeProvider) -> None:
    assert isinstance(twilio(fake).send(sms(sender="Shop")), Accepted)
    assert fake.requests[0].form()["From"] == ["Shop"]


def test_an_api_key_authenticates_in_place_of_the_auth_token(fake: FakeProvider) -> None:
    connector = twilio(fake, auth_token=None, api_key=KEY, api_secret=KEY_SECRET)
    assert isinstance(connector.send(sms()), Accepted)
    user = base64.b64decode(fake.requests[0].headers["authorization"].split()[1]).decode()
    assert user == f"{KEY}:{KEY_SECRET}"


def test_media_go_as_repeated_media_urls(fake: FakeProvider) -> None:
    media = ("https://cdn.example/a.jpg", "https://cdn.example/b.png")
    assert isinstance(twilio(fake).send(sms(media=media)), Accepted)
    assert fake.requests[0].form()["MediaUrl"] == list(media)


def test_whatsapp_addresses_get_the_channel_prefix(fake: FakeProvider) -> None:
    connector = twilio(fake, whatsapp=True)
    assert connector.channel == "whatsapp"
    envelope = Envelope(
        id="dlv_2", rendition=Rendition(channel="whatsapp", to="+14155550100", text="Hi")
    )
    assert isinstance(connector.send(envelope), Accepted)
    form = fake.requests[0].form()
    assert (form["To"], form["From"]) == (["whatsapp:+14155550100"], [f"whatsapp:{SENDER}"])


def test_a_template_goes_as_content_sid_and_variables(fake: FakeProvider) -> None:
    connector = twilio(fake, whatsapp=True)
    template = TemplateRef(name=CONTENT, parameters=("Ana", "12 Dec"))
    envelope = Envelope(
        id="dlv_3",
        rendition=Rendition(channel="whatsapp", to="whatsapp:+14155550100", template=template),
    )
    assert isinstance(connector.send(envelope), Accepted)
    form = fake.requests[0].form()
    assert form["ContentSid"] == [CONTENT]
    assert json.loads(form["ContentVariables"][0]) == {"1": "Ana", "2": "12 Dec"}
    assert "Body" not in form


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        (sms(to="+1415\r\nBcc: evil@example.com"), "to"),
        (sms(to="04155550100"), "to"),
        (sms(sender="+1555\nX-Injected: 1"), "sender"),
        (sms(sender="Far too long a sender"), "sender"),
        (sms(media=tuple(f"https://cdn.example/{n}.jpg" for n in range(11))), "media"),
        (sms(media=("javascript:alert(1)",)), "media[0]"),
        (sms(template=TemplateRef(name="order_ready")), "template.name"),
    ],
)
def test_what_twilio_would_refuse_is_an_error_before_sending(
    fake: FakeProvider, envelope: Envelope, field: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(field)):
        twilio(fake).send(envelope)
    assert fake.requests == []


def test_a_body_past_1600_characters_is_an_error_not_a_truncation(fake: FakeProvider) -> None:
    with pytest.raises(ValidationError, match="1600"):
        twilio(fake).send(sms(text="x" * 1601))
    assert isinstance(twilio(fake).send(sms(text="x" * 1600)), Accepted)


@pytest.mark.parametrize(
    ("to", "text", "expected"),
    [
        (
            "+15005550001",
            "hi",
            Refused(
                code="21211", reason="The 'To' number +15005550001 is not a valid phone number."
            ),
        ),
        (
            "+15005550004",
            "hi",
            Refused(code="21610", reason="Attempt to send to unsubscribed recipient"),
        ),
        ("+15005550009", "hi", Refused(code="21614", reason="+15005550009 is not a mobile number")),
        (
            "+14155550100",
            "slow down",
            Transient(code="20429", reason="Too Many Requests", safe_to_retry=True),
        ),
        ("+14155550100", "boom", Transient(code="20500", reason="Internal Server Error")),
        (
            "+14155550100",
            "maintenance",
            Transient(code="503", reason="Service Unavailable", retry_after=30.0),
        ),
    ],
)
def test_errors_are_classified_by_twilios_code(
    fake: FakeProvider, send: Send, to: str, text: str, expected: SendResult
) -> None:
    assert send(twilio(fake), sms(to=to, text=text)) == expected


def test_a_wrong_token_is_refused_with_twilios_code(fake: FakeProvider, send: Send) -> None:
    result = send(twilio(fake, auth_token="not-the-token"), sms())  # noqa: S106 - a wrong one
    assert result == Refused(code="20003", reason="Authenticate")


def test_a_2xx_without_a_sid_is_unknown() -> None:
    with FakeProvider(lambda _seen: Answer(201, {"status": "queued"})) as fake:
        result = twilio(fake).send(sms())
    assert isinstance(result, Unknown)


# -- faults --------------------------------------------------------------------------------------


def test_no_answer_within_the_timeout_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.delay(1.0))
    assert isinstance(send(twilio(fake, timeout=0.2), sms()), Unknown)


def test_a_reset_after_the_request_went_out_is_unknown(fake: FakeProvider, send: Send) -> None:
    fake.fault(Fault.reset())
    assert isinstance(send(twilio(fake), sms()), Unknown)


def test_a_5xx_after_twilio_stored_the_message_is_not_safe_to_retry(
    fake: FakeProvider, send: Send
) -> None:
    fake.fault(Fault.fail_after_store())
    result = send(twilio(fake), sms())
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert len(fake.stored) == 1


def test_twilio_unreachable_is_transient_and_safe(send: Send) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(twilio(base_url=f"http://127.0.0.1:{port}"), sms())
    assert isinstance(result, Transient)
    assert result.safe_to_retry


# -- configuration -------------------------------------------------------------------------------


def test_from_url_reads_credentials_sender_and_options() -> None:
    callback_url = urllib.parse.quote(f"{CALLBACK}?site=eu", safe="")
    connector = connect(f"twilio://{ACCOUNT}:{TOKEN}@/{SENDER}?status_callback={callback_url}")
    assert isinstance(connector, TwilioConnector)
    assert (connector.account_sid, connector.sender, connector.channel) == (ACCOUNT, SENDER, "sms")
    assert connector.status_callback == f"{CALLBACK}?site=eu"
    assert connector.capabilities.echoes_correlation_id


def test_from_url_serves_whatsapp_and_api_keys() -> None:
    connector = connect(
        f"twilio+whatsapp://{KEY}:{KEY_SECRET}@/{SENDER}?account_sid={ACCOUNT}&auth_token={TOKEN}"
    )
    assert isinstance(connector, TwilioConnector)
    assert (connector.channel, connector.api_key, connector.account_sid) == (
        "whatsapp",
        KEY,
        ACCOUNT,
    )
    by_service = TwilioConnector.from_url(
        f"twilio://{ACCOUNT}:{TOKEN}@?messaging_service_sid={SERVICE}"
    )
    assert (by_service.sender, by_service.messaging_service_sid) == (None, SERVICE)
    assert not by_service.capabilities.echoes_correlation_id


def test_connect_by_name_takes_keywords() -> None:
    connector = connect("twilio", account_sid=ACCOUNT, auth_token=TOKEN, sender=SENDER)
    assert isinstance(connector, TwilioConnector)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"twilio://{ACCOUNT}@/{SENDER}", "auth token"),
        (f"twilio://{ACCOUNT}:{TOKEN}@/{SENDER}?colour=red", "colour"),
        (f"twilio://{ACCOUNT}:{TOKEN}@/{SENDER}?timeout=soon", "timeout"),
        (f"twilio://{KEY}:{KEY_SECRET}@/{SENDER}", "account_sid"),
        (f"twilio://{ACCOUNT}:{TOKEN}@", "sender"),
    ],
)
def test_a_bad_url_is_an_error_that_hides_the_secret(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        connect(url)
    assert TOKEN not in str(caught.value)
    assert KEY_SECRET not in str(caught.value)


def test_each_bad_setting_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        TwilioConnector(
            account_sid="AC123",
            api_key="XX1",
            api_secret="",
            sender="+1 555",
            messaging_service_sid="MG1",
            status_callback="https://my_host.example/hooks",
        )
    fields = sorted(error.split(":")[0] for error in caught.value.errors)
    assert fields == [
        "account_sid",
        "api_key",
        "api_secret",
        "messaging_service_sid",
        "sender",
        "status_callback",
    ]


def test_no_secret_shows_anywhere(fake: FakeProvider) -> None:
    connector = twilio(fake, api_key=KEY, api_secret=KEY_SECRET)
    result = connector.send(sms(to="+15005550001"))
    shown = [repr(connector), str(connector), repr(result), repr(vars(connector))]
    for text in shown:
        assert TOKEN not in text
        assert KEY_SECRET not in text


def test_sms_and_whatsapp_connectors_have_their_own_names() -> None:
    assert (twilio().name, twilio(whatsapp=True).name) == ("twilio", "twilio+whatsapp")
    assert twilio(name="twilio-eu").name == "twilio-eu"


def test_a_whatsapp_sender_must_be_a_phone_number() -> None:
    with pytest.raises(ValidationError, match="sender"):
        twilio(whatsapp=True, sender="Shop")


# -- through the hub -----------------------------------------------------------------------------


def test_a_hub_sends_through_twilio_and_the_status_callback_finds_the_delivery(
    fake: FakeProvider,
) -> None:
    sms_, whatsapp_ = twilio(fake), twilio(fake, whatsapp=True)
    hub = Hub(connectors=[sms_, whatsapp_], clock=FrozenClock(NOW))
    hub.identify(user_id="ana", traits={"phone": "+351912345678"})
    ana = hub.customer(user_id="ana").id
    delivery = hub.send(ana, "Your order is ready", channel="sms", purpose="transactional")
    assert (delivery.status, delivery.connector) == (DeliveryStatus.SENT, "twilio"), delivery.reason
    assert delivery.provider_message_id is not None
    [url] = fake.requests[-1].form()["StatusCallback"]
    params = {
        "MessageSid": delivery.provider_message_id,
        "MessageStatus": "delivered",
        "To": "+351912345678",
    }
    receipt = signed(url, params)
    report = hub.receive(sms_, url=receipt.url, headers=receipt.headers, body=receipt.body)
    assert [moved.id for moved in report.deliveries] == [delivery.id]
    assert hub.delivery(delivery.id).status == DeliveryStatus.DELIVERED
    with pytest.raises(SignatureError, match="replay"):
        hub.receive(sms_, url=receipt.url, headers=receipt.headers, body=receipt.body)
