"""SlackConnector: chat.postMessage and incoming webhooks against a fake Slack, and v0-signed Events API requests."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from fake_provider import Answer, FakeProvider, Fault, Seen
from hypothesis import given
from hypothesis import strategies as st

import omnikit
from omnikit.connectors import (
    Accepted,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundConnector,
    InboundRequest,
    Refused,
    Rendition,
    SendResult,
    Transient,
    Unknown,
    connect,
)
from omnikit.connectors.slack import (
    EVENT_TYPE,
    RETRY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackConnector,
    signature,
)
from omnikit.testing import ConnectorContract

TOKEN = "xoxb-1111-2222-SlackBotTokenForTests"  # noqa: S105 - a test token
SIGNING_SECRET = "omnikit-signing-secret"  # noqa: S105 - the vector's secret (providers.md §11)
HOOK = "/services/T0SHOP/B0ALERTS/hookSecretPart4e2f9a"
NOW = dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
EVENT = {
    "token": "XXYYZZ",
    "team_id": "T0SHOP",
    "api_app_id": "A0OMNI",
    "type": "event_callback",
    "event_id": "Ev0PV52K21",
    "event_time": 1_700_000_000,
    "event": {
        "type": "message",
        "channel": "D0CUSTOMER",
        "user": "U0ANA",
        "text": "Is the blue jacket back in stock?",
        "ts": "1699999999.000200",
        "channel_type": "im",
    },
}


# -- the fake Slack ------------------------------------------------------------------------------


def _web_api_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"ok": False, "error": error}, headers=headers or {})


class FakeSlack:
    """chat.postMessage and one incoming webhook, enforcing the shapes Slack documents."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Answer:
        if seen.path == "/api/chat.postMessage":
            return self.post_message(seen)
        if seen.path.startswith("/services/"):
            return self.webhook(seen)
        return Answer(404, "no_service")

    # -- https://slack.com/api/chat.postMessage -------------------------------------------------

    def post_message(self, seen: Seen) -> Answer:
        if seen.method != "POST":
            return _web_api_error("invalid_post_type")
        content_type = seen.headers.get("content-type", "")
        if not content_type:
            return _web_api_error("missing_post_type")
        if content_type.split(";")[0].strip() != "application/json":
            return _web_api_error("invalid_post_type")
        if "charset" in content_type and "charset=utf-8" not in content_type.replace(" ", ""):
            return _web_api_error("invalid_charset")
        bearer = seen.headers.get("authorization")
        if bearer is None:
            return _web_api_error("not_authed")
        if bearer != f"Bearer {TOKEN}":
            return _web_api_error("invalid_auth")
        try:
            body = seen.json()
        except ValueError:
            return _web_api_error("invalid_json")
        problem = self.check_message(body)
        if problem is not None:
            return _web_api_error(problem)
        return self.answer(body)

    @staticmethod
    def check_message(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "invalid_arguments"
        if not isinstance(body.get("channel"), str) or not body["channel"]:
            return "channel_not_found"
        if not body.get("text") and not body.get("blocks"):
            return "no_text"
        blocks = body.get("blocks", [])
        if (
            not isinstance(blocks, list)
            or len(blocks) > 50
            or not all(isinstance(b, dict) and "type" in b for b in blocks)
        ):
            return "invalid_blocks"
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            return "invalid_metadata_format"
        if len(body.get("text", "")) > 40_000:
            return "msg_too_long"
        return None

    def answer(self, body: dict[str, Any]) -> Answer:
        channel = body["channel"]
        errors = {
            "C0GONE": "channel_not_found",
            "C0OUTSIDE": "not_in_channel",
            "C0ARCHIVED": "is_archived",
            "C0BROKEN": "internal_error",
            "C0LEGACY": "rate_limited",
            "C0MOVING": "team_added_to_org",
        }
        if channel in errors:
            return _web_api_error(errors[channel])
        if channel == "C0BUSY":
            return _web_api_error("ratelimited", 429, {"Retry-After": "3"})
        with self._lock:
            self.count += 1
            ts = f"1700000000.{self.count:06d}"
        message = {"type": "message", "text": body.get("text", ""), "ts": ts, "bot_id": "B0OMNI"}
        return Answer(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    # -- https://hooks.slack.com/services/... ---------------------------------------------------

    @staticmethod
    def webhook(seen: Seen) -> Answer:
        if seen.path != HOOK:
            return Answer(404, "no_service")
        if seen.method != "POST":
            return Answer(405, "invalid_method")
        if not seen.headers.get("content-type", "").startswith("application/json"):
            return Answer(400, "invalid_payload")
        try:
            body = seen.json()
        except ValueError:
            return Answer(400, "invalid_payload")
        if not isinstance(body, dict):
            return Answer(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return Answer(400, "no_text")
        scripted = {
            "archived": Answer(410, "channel_is_archived"),
            "forbidden": Answer(403, "action_prohibited"),
            "slow down": Answer(429, "rate_limited", headers={"Retry-After": "2"}),
            "boom": Answer(500, "rollup_error"),
        }
        return scripted.get(body.get("text", ""), Answer(200, "ok"))


@pytest.fixture(name="slack")
def _slack() -> FakeSlack:
    return FakeSlack()


@pytest.fixture(name="fake")
def _fake(slack: FakeSlack) -> Iterator[FakeProvider]:
    with FakeProvider(slack) as server:
        yield server


@pytest.fixture(name="make")
def _make(fake: FakeProvider) -> Iterator[Callable[..., SlackConnector]]:
    made: list[SlackConnector] = []

    def make(mode: str = "api", **options: Any) -> SlackConnector:
        if mode == "api":
            options.setdefault("token", TOKEN)
            options.setdefault("base_url", f"{fake.url}/api")
        else:
            options.setdefault("webhook_url", f"{fake.url}{HOOK}")
        made.append(SlackConnector(signing_secret=SIGNING_SECRET, **options))
        return made[-1]

    yield make
    for connector in made:
        connector.close()


def envelope(to: str = "C0SHOP", text: str = "Order A-17 is packed", **fields: Any) -> Envelope:
    return Envelope(id="dlv_1", rendition=Rendition(channel="chat", to=to, text=text, **fields))


def signed(
    body: bytes, *, at: dt.datetime = NOW, secret: str = SIGNING_SECRET, **headers: str
) -> InboundRequest:
    timestamp = str(int(at.timestamp()))
    return InboundRequest(
        method="POST",
        url="https://shop.example/hooks/slack/events",
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            **headers,
        },
        body=body,
    )


# -- the contract, in both modes ---------------------------------------------------------------


class TestSlackWebAPIContract(ConnectorContract):
    timestamped = True

    @pytest.fixture
    def connector(self, make: Callable[..., SlackConnector]) -> SlackConnector:
        return make("api")

    @pytest.fixture
    def rendition(self) -> Rendition:
        return Rendition(channel="chat", to="C0SHOP", text="Order A-17 is packed")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [TOKEN, SIGNING_SECRET]

    @pytest.fixture
    def webhook(self) -> InboundRequest:
        return signed(json.dumps(EVENT).encode())

    @pytest.fixture
    def webhook_now(self) -> dt.datetime:
        return NOW


class TestSlackIncomingWebhookContract(TestSlackWebAPIContract):
    @pytest.fixture
    def connector(self, make: Callable[..., SlackConnector]) -> SlackConnector:
        return make("webhook")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [HOOK, HOOK.rsplit("/", 1)[-1], SIGNING_SECRET]


# -- chat.postMessage ----------------------------------------------------------------------------


def test_post_message_sends_our_id_in_metadata_and_answers_channel_and_ts(
    make: Callable[..., SlackConnector], fake: FakeProvider, send: Any
) -> None:
    result = send(make(), envelope(data={"order": "A-17"}))

    assert Accepted(provider_message_id="C0SHOP:1700000000.000001", status="ok") == result
    [seen] = fake.requests
    assert ("POST", "/api/chat.postMessage") == (seen.method, seen.path)
    assert f"Bearer {TOKEN}" == seen.headers["authorization"]
    assert "application/json; charset=utf-8" == seen.headers["content-type"]
    assert {
        "channel": "C0SHOP",
        "text": "Order A-17 is packed",
        "metadata": {
            "event_type": EVENT_TYPE,
            "event_payload": {"delivery_id": "dlv_1", "order": "A-17"},
        },
    } == seen.json()


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("C0GONE", Refused(code="channel_not_found", reason="chat.postMessage: channel_not_found")),
        ("C0OUTSIDE", Refused(code="not_in_channel", reason="chat.postMessage: not_in_channel")),
        ("C0ARCHIVED", Refused(code="is_archived", reason="chat.postMessage: is_archived")),
        (
            "C0BUSY",
            Transient(
                code="ratelimited",
                reason="chat.postMessage: ratelimited",
                retry_after=3.0,
                safe_to_retry=True,
            ),
        ),
        (
            "C0LEGACY",
            Transient(
                code="rate_limited",
                reason="chat.postMessage: rate_limited",
                retry_after=1.0,
                safe_to_retry=True,
            ),
        ),
        ("C0BROKEN", Transient(code="internal_error", reason="chat.postMessage: internal_error")),
        (
            "C0MOVING",
            Transient(code="team_added_to_org", reason="chat.postMessage: team_added_to_org"),
        ),
    ],
)
def test_ok_false_errors_are_classified_by_their_name(
    make: Callable[..., SlackConnector], to: str, expected: SendResult, send: Any
) -> None:
    assert expected == send(make(), envelope(to))


def test_a_wrong_token_is_refused_as_invalid_auth(
    make: Callable[..., SlackConnector], send: Any
) -> None:
    result = send(make(token="xoxb-not-ours"), envelope())  # noqa: S106
    assert Refused(code="invalid_auth", reason="chat.postMessage: invalid_auth") == result


def test_text_past_40000_characters_is_an_error_not_a_truncation(
    make: Callable[..., SlackConnector], fake: FakeProvider
) -> None:
    with pytest.raises(omnikit.ValidationError, match="text"):
        make().send(envelope(text="x" * 40_001))
    assert [] == fake.requests


def test_blocks_and_a_thread_come_from_data(
    make: Callable[..., SlackConnector], fake: FakeProvider
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Packed*"}}]
    data = {"blocks": json.dumps(blocks), "thread_ts": "1699999999.000200"}

    assert isinstance(make().send(envelope(text="Packed", data=data)), Accepted)

    body = fake.requests[0].json()
    assert (blocks, "1699999999.000200", "Packed") == (
        body["blocks"],
        body["thread_ts"],
        body["text"],
    )
    assert {"delivery_id": "dlv_1"} == body["metadata"]["event_payload"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"to": "C0SHOP\r\nX-Injected: 1"}, "to"),
        ({"to": "C" * 200}, "to"),
        ({"data": {"blocks": "not json"}}, "data.blocks"),
        ({"data": {"blocks": '{"type": "section"}'}}, "data.blocks"),
        ({"data": {"blocks": json.dumps([{"type": "divider"}] * 51)}}, "data.blocks"),
        ({"data": {"thread_ts": "yesterday"}}, "data.thread_ts"),
        ({"data": {"delivery_id": "someone-else"}}, "data.delivery_id"),
        ({"template": omnikit.connectors.TemplateRef(name="promo")}, "template"),
        ({"text": "", "html": "<b>hi</b>"}, "text"),
    ],
)
def test_a_message_slack_would_refuse_is_an_error_before_anything_goes_out(
    make: Callable[..., SlackConnector], fake: FakeProvider, fields: dict[str, Any], field: str
) -> None:
    rendition = Rendition(**{"channel": "chat", "to": "C0SHOP", "text": "Hi", **fields})
    with pytest.raises(omnikit.ValidationError) as caught:
        make().send(Envelope(id="dlv_1", rendition=rendition))
    assert any(error.startswith(f"{field}:") for error in caught.value.errors), caught.value.errors
    assert [] == fake.requests


# -- incoming webhooks --------------------------------------------------------------------------


def test_a_webhook_posts_json_and_stands_our_id_in_for_the_missing_message_id(
    make: Callable[..., SlackConnector], fake: FakeProvider, send: Any
) -> None:
    result = send(make("webhook"), envelope("#alerts"))

    assert Accepted(provider_message_id="dlv_1", status="ok") == result
    [seen] = fake.requests
    assert (HOOK, "application/json; charset=utf-8") == (seen.path, seen.headers["content-type"])
    assert {"text": "Order A-17 is packed"} == seen.json()
    assert "authorization" not in seen.headers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "archived",
            Refused(
                code="channel_is_archived",
                reason="incoming webhook: channel_is_archived (HTTP 410)",
            ),
        ),
        (
            "forbidden",
            Refused(
                code="action_prohibited", reason="incoming webhook: action_prohibited (HTTP 403)"
            ),
        ),
        (
            "slow down",
            Transient(
                code="rate_limited",
                reason="incoming webhook: rate_limited (HTTP 429)",
                retry_after=2.0,
                safe_to_retry=True,
            ),
        ),
        (
            "boom",
            Transient(code="rollup_error", reason="incoming webhook: rollup_error (HTTP 500)"),
        ),
    ],
)
def test_webhook_errors_are_classified(
    make: Callable[..., SlackConnector], text: str, expected: SendResult, send: Any
) -> None:
    assert expected == send(make("webhook"), envelope(text=text))


def test_a_revoked_webhook_is_refused_as_no_service(
    make: Callable[..., SlackConnector], fake: FakeProvider, send: Any
) -> None:
    result = send(make("webhook", webhook_url=f"{fake.url}/services/T0/B0/revoked"), envelope())
    assert Refused(code="no_service", reason="incoming webhook: no_service (HTTP 404)") == result


def test_a_webhook_carries_no_metadata(
    make: Callable[..., SlackConnector], fake: FakeProvider
) -> None:
    with pytest.raises(omnikit.ValidationError, match=r"data\.order"):
        make("webhook").send(envelope(data={"order": "A-17"}))
    assert [] == fake.requests


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["api", "webhook"])
def test_no_answer_within_the_timeout_is_unknown(
    make: Callable[..., SlackConnector], fake: FakeProvider, mode: str, send: Any
) -> None:
    fake.fault(Fault.delay(1.0))
    result = send(make(mode, timeout=0.3), envelope())
    assert isinstance(result, Unknown)


@pytest.mark.parametrize("mode", ["api", "webhook"])
def test_a_reset_after_the_request_went_out_is_unknown(
    make: Callable[..., SlackConnector], fake: FakeProvider, mode: str, send: Any
) -> None:
    fake.fault(Fault.reset())
    assert isinstance(send(make(mode), envelope()), Unknown)


@pytest.mark.parametrize("mode", ["api", "webhook"])
def test_a_5xx_after_slack_stored_it_is_not_safe_to_retry(
    make: Callable[..., SlackConnector], fake: FakeProvider, mode: str, send: Any
) -> None:
    fake.fault(Fault.fail_after_store())
    result = send(make(mode), envelope())
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert 1 == len(fake.stored)


# -- configuration -------------------------------------------------------------------------------


def test_one_of_token_and_webhook_url() -> None:
    with pytest.raises(omnikit.ValidationError, match="token"):
        SlackConnector()
    with pytest.raises(omnikit.ValidationError, match="token"):
        SlackConnector(token=TOKEN, webhook_url="https://hooks.slack.com" + HOOK)


def test_malformed_credentials_are_named_without_showing_them() -> None:
    for options, field in (
        ({"token": "xoxb-1\r\nX-Injected: 1"}, "token"),
        ({"webhook_url": "ftp://hooks.slack.com" + HOOK}, "webhook_url"),
        ({"webhook_url": "https://hooks.slack.com/services/T0/B0/a b"}, "webhook_url"),
    ):
        with pytest.raises(omnikit.ValidationError, match=field) as caught:
            SlackConnector(**options)
        shown = str(caught.value)
        assert "xoxb-1" not in shown
        assert "services" not in shown


def test_connect_by_url_in_both_modes() -> None:
    bot = connect(f"slack://?token={TOKEN}&signing_secret={SIGNING_SECRET}")
    assert isinstance(bot, SlackConnector)
    assert ("api", "https://slack.com/api") == (bot.mode, bot.base_url)
    hook = connect(f"slack://hooks.slack.com{HOOK}?timeout=4")
    assert isinstance(hook, SlackConnector)
    assert ("webhook", "https://hooks.slack.com", 4.0) == (hook.mode, hook.base_url, hook.timeout)
    for connector in (bot, hook):
        assert TOKEN not in repr(connector)
        assert "hookSecretPart" not in repr(connector)
        assert isinstance(connector, InboundConnector)
    with pytest.raises(omnikit.ValidationError, match="not both"):
        connect(f"slack://hooks.slack.com{HOOK}?token={TOKEN}")
    with pytest.raises(omnikit.ValidationError, match="unknown option 'channel'"):
        connect(f"slack://?token={TOKEN}&channel=C0")


# -- verifying Events API requests ----------------------------------------------------------------


def test_slacks_own_vector_verifies() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    secret = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - Slack's published test secret
    assert expected == signature(secret, "1531420618", body)
    request = InboundRequest(
        method="POST",
        url="https://shop.example/slack/commands",
        headers={TIMESTAMP_HEADER: "1531420618", SIGNATURE_HEADER: expected},
        body=body,
    )
    SlackConnector(token=TOKEN, signing_secret=secret).verify(
        request, now=dt.datetime.fromtimestamp(1531420618, dt.UTC)
    )


def test_our_json_vector_verifies_and_parses() -> None:
    body = b'{"type":"event_callback","event_id":"Ev01","event":{"type":"message","text":"hi"}}'
    expected = "v0=5cefdbb71b90f21b950608358b54ae7fc16eaf6c7de7b977bc3c80c09eb18614"
    assert expected == signature(SIGNING_SECRET, 1700000000, body)
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    request = signed(body)
    assert expected == request.headers[SIGNATURE_HEADER]
    slack.verify(request, now=NOW)
    [event] = slack.parse(request)
    assert (EventKind.INBOUND, "Ev01", "hi", None) == (
        event.kind,
        event.event_id,
        event.text,
        event.address,
    )


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-300, True), (-301, False), (300, True), (301, False)]
)
def test_the_window_is_five_minutes_either_way(offset: int, accepted: bool) -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    request = signed(json.dumps(EVENT).encode())
    now = NOW - dt.timedelta(seconds=offset)
    if accepted:
        slack.verify(request, now=now)
    else:
        with pytest.raises(
            omnikit.SignatureError, match=f"{TIMESTAMP_HEADER}: the request is stale"
        ):
            slack.verify(request, now=now)


def test_a_refusal_names_the_header_never_the_secret_or_the_expected_signature() -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    body = json.dumps(EVENT).encode()
    expected = signature(SIGNING_SECRET, int(NOW.timestamp()), body)
    forged = signed(body, secret="someone-elses-secret")  # noqa: S106
    with pytest.raises(omnikit.SignatureError, match=SIGNATURE_HEADER) as caught:
        slack.verify(forged, now=NOW)
    assert SIGNING_SECRET not in str(caught.value)
    assert expected.removeprefix("v0=") not in str(caught.value)
    with pytest.raises(omnikit.SignatureError, match="not a v0 signature"):
        slack.verify(
            attrs.evolve(forged, headers={**forged.headers, SIGNATURE_HEADER: "v1=00"}), now=NOW
        )
    with pytest.raises(omnikit.SignatureError, match=f"{TIMESTAMP_HEADER}: missing"):
        slack.verify(
            attrs.evolve(forged, headers={SIGNATURE_HEADER: forged.headers[SIGNATURE_HEADER]}),
            now=NOW,
        )


def test_without_a_signing_secret_nothing_verifies() -> None:
    with pytest.raises(omnikit.SignatureError, match="signing_secret"):
        SlackConnector(token=TOKEN).verify(signed(b"{}"), now=NOW)


def test_a_retry_is_signed_anew_verifies_and_keeps_its_event_id() -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    body = json.dumps(EVENT).encode()
    first = signed(body)
    retry = signed(
        body,
        at=NOW + dt.timedelta(minutes=1),
        **{RETRY_HEADER: "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    slack.verify(first, now=NOW)
    slack.verify(retry, now=NOW + dt.timedelta(minutes=1))
    assert (
        [e.event_id for e in slack.parse(first)]
        == [e.event_id for e in slack.parse(retry)]
        == ["Ev0PV52K21"]
    )
    with pytest.raises(omnikit.SignatureError, match="replay"):
        slack.verify(retry, now=NOW + dt.timedelta(minutes=2))


@given(
    body=st.binary(min_size=1, max_size=300),
    at=st.integers(min_value=-300, max_value=300),
    data=st.data(),
)
def test_what_we_sign_verifies_and_any_changed_byte_does_not(
    body: bytes, at: int, data: st.DataObject
) -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    request = signed(body, at=NOW + dt.timedelta(seconds=at))
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    changed = bytearray(body)
    changed[index] ^= flip
    with pytest.raises(omnikit.SignatureError, match="does not match"):
        slack.verify(attrs.evolve(request, body=bytes(changed)), now=NOW)
    slack.verify(request, now=NOW)


# -- parsing Events API requests -----------------------------------------------------------------


def test_a_message_event_is_an_inbound_event_with_slacks_event_id() -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    [event] = slack.parse(signed(json.dumps(EVENT).encode()))
    assert (
        EventKind.INBOUND,
        "Ev0PV52K21",
        "U0ANA",
        "Is the blue jacket back in stock?",
        "D0CUSTOMER:1699999999.000200",
        "2023-11-14T22:13:19.000200+00:00",
    ) == (
        event.kind,
        event.event_id,
        event.address,
        event.text,
        event.provider_message_id,
        event.timestamp,
    )
    assert EVENT == event.raw


@pytest.mark.parametrize(
    "change",
    [
        {"bot_id": "B0OMNI", "subtype": "bot_message"},  # ours, or another app's
        {"bot_id": "B0OTHER"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"type": "app_mention"},
        {"type": "reaction_added"},
    ],
)
def test_events_that_are_not_a_persons_message_give_none(change: dict[str, str]) -> None:
    payload = {**EVENT, "event": {**EVENT["event"], **change}}  # type: ignore[dict-item]
    assert [] == SlackConnector(token=TOKEN).parse(signed(json.dumps(payload).encode()))


def test_our_metadata_posted_is_our_message_delivered_with_our_delivery_id() -> None:
    posted = {
        "type": "message_metadata_posted",
        "app_id": "A0OMNI",
        "bot_id": "B0OMNI",
        "channel_id": "C0SHOP",
        "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": "dlv_1"}},
        "message_ts": "1700000000.000001",
        "event_ts": "1700000000.000001",
    }
    slack = SlackConnector(token=TOKEN)
    [event] = slack.parse(signed(json.dumps({**EVENT, "event": posted}).encode()))
    assert (
        EventKind.STATUS,
        DeliveryStatus.DELIVERED,
        "dlv_1",
        "C0SHOP:1700000000.000001",
        "Ev0PV52K21",
    ) == (event.kind, event.status, event.delivery_id, event.provider_message_id, event.event_id)
    others = {**posted, "metadata": {"event_type": "task_created", "event_payload": {"id": "1"}}}
    assert [] == slack.parse(signed(json.dumps({**EVENT, "event": others}).encode()))


def test_a_file_share_or_thread_broadcast_is_a_persons_message() -> None:
    for subtype in ("file_share", "thread_broadcast"):
        payload = {**EVENT, "event": {**EVENT["event"], "subtype": subtype}}  # type: ignore[dict-item]
        [event] = SlackConnector(token=TOKEN).parse(signed(json.dumps(payload).encode()))
        assert EventKind.INBOUND == event.kind


def test_url_verification_gives_its_challenge_and_no_events() -> None:
    slack = SlackConnector(token=TOKEN, signing_secret=SIGNING_SECRET)
    body = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    request = signed(body.encode())
    slack.verify(request, now=NOW)
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" == slack.challenge(request)
    assert [] == slack.parse(request)
    assert slack.challenge(signed(json.dumps(EVENT).encode())) is None
    with pytest.raises(omnikit.ValidationError, match="challenge"):
        slack.challenge(signed(b'{"type": "url_verification"}'))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"payload=%7B%22type%22%3A%22block_actions%22%7D", "body"),
        (b"\xff\xfe not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"type": "event_callback", "event": {"type": "message"}}', "body.event_id"),
        (b'{"type": "event_callback", "event_id": "Ev1", "event": "message"}', "body.event"),
        (b'{"type": "block_actions"}', "body.type"),
        (
            b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "message", "text": "'
            + b"x" * 1_000_000
            + b'"}}',
            "body",
        ),
    ],
)
def test_a_body_that_is_not_an_events_api_request_is_a_validation_error(
    body: bytes, field: str
) -> None:
    with pytest.raises(omnikit.ValidationError) as caught:
        SlackConnector(token=TOKEN).parse(signed(body))
    assert caught.value.errors[0].startswith(f"{field}:")


def test_odd_field_types_in_a_message_event_do_not_crash() -> None:
    payload = {
        **EVENT,
        "event": {"type": "message", "channel": 7, "user": None, "text": ["x"], "ts": "soon"},
    }
    [event] = SlackConnector(token=TOKEN).parse(signed(json.dumps(payload).encode()))
    assert (None, None, None, None) == (
        event.address,
        event.text,
        event.provider_message_id,
        event.timestamp,
    )
