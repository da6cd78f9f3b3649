"""HttpConnector's drivers against a real server on loopback: results for every kind of failure."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import httpx
import pytest
from fake_provider import Answer, FakeProvider, Fault, Seen

from omnikit.connectors import (
    Accepted,
    Envelope,
    Refused,
    Rendition,
    SendResult,
    Transient,
    Unknown,
)
from omnikit.connectors.http import Exchange, HttpAnswer, HttpCall, HttpConnector, retry_after
from omnikit.errors import ConnectorError, ValidationError


class Relay(HttpConnector):
    """A connector for the tests: POSTs the text, answers the server's id."""

    name = "relay"
    channel = "webhook"

    def request(self, envelope: Envelope) -> HttpCall:
        return HttpCall.json(
            "POST", "/messages", {"id": envelope.id, "text": envelope.rendition.text}
        )

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        if answer.status == 201:
            return Accepted(provider_message_id=answer.json()["sid"])
        return self.classify(answer)


class TokenFirst(Relay):
    """Fetches a token, then sends with it."""

    def exchange(self, envelope: Envelope) -> Exchange:
        token = yield HttpCall.json("POST", "/token", {}, delivers=False)
        call = self.request(envelope)
        answer = yield HttpCall(
            method=call.method,
            url=call.url,
            headers={**call.headers, "Authorization": f"Bearer {token.json()['token']}"},
            content=call.content,
        )
        return self.interpret(envelope, answer)


def provider(seen: Seen) -> Answer:
    if seen.path == "/token":
        return Answer(200, {"token": "abc"})
    if seen.headers.get("content-type") != "application/json":
        return Answer(415, {"error": "json only"})
    body = seen.json()
    if body["text"] == "bad":
        return Answer(400, {"error": "invalid"})
    if body["text"] == "slow down":
        return Answer(429, {"error": "rate"}, headers={"Retry-After": "7"})
    if body["text"] == "down":
        return Answer(503, {"error": "down"})
    return Answer(201, {"sid": f"SM-{body['id']}"})


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(provider) as server:
        yield server


def envelope(text: str = "hello") -> Envelope:
    return Envelope(id="dlv_1", rendition=Rendition(channel="webhook", to="https://x", text=text))


def test_accepted_refused_and_transient_by_the_providers_answer(
    fake: FakeProvider, send: object
) -> None:
    relay = Relay(base_url=fake.url)
    assert send(relay, envelope()) == Accepted(provider_message_id="SM-dlv_1")  # type: ignore[operator]
    assert isinstance(send(Relay(base_url=fake.url), envelope("bad")), Refused)  # type: ignore[operator]
    limited = send(Relay(base_url=fake.url), envelope("slow down"))  # type: ignore[operator]
    assert limited == Transient(
        code="429", reason='{"error": "rate"}', retry_after=7.0, safe_to_retry=True
    )
    down = send(Relay(base_url=fake.url), envelope("down"))  # type: ignore[operator]
    assert isinstance(down, Transient)
    assert not down.safe_to_retry


def test_a_reset_after_the_request_went_out_is_unknown(fake: FakeProvider, send: object) -> None:
    fake.fault(Fault.reset())
    result = send(Relay(base_url=fake.url), envelope())  # type: ignore[operator]
    assert isinstance(result, Unknown)


def test_no_answer_within_the_timeout_is_unknown(fake: FakeProvider, send: object) -> None:
    fake.fault(Fault.delay(1.0))
    result = send(Relay(base_url=fake.url, timeout=0.2), envelope())  # type: ignore[operator]
    assert isinstance(result, Unknown)
    assert "Timeout" in result.reason


def test_a_5xx_after_the_provider_stored_it_is_not_safe_to_retry(
    fake: FakeProvider, send: object
) -> None:
    fake.fault(Fault.fail_after_store())
    result = send(Relay(base_url=fake.url), envelope())  # type: ignore[operator]
    assert isinstance(result, Transient)
    assert not result.safe_to_retry
    assert len(fake.stored) == 1  # which is why: the provider has it


def test_nobody_listening_is_transient_and_safe(send: object) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(Relay(base_url=f"http://127.0.0.1:{port}"), envelope())  # type: ignore[operator]
    assert isinstance(result, Transient)
    assert result.safe_to_retry


def test_a_failed_token_exchange_is_safe_to_retry(fake: FakeProvider, send: object) -> None:
    fake.fault(Fault.reset())  # the token call, which carries no message
    result = send(TokenFirst(base_url=fake.url), envelope())  # type: ignore[operator]
    assert isinstance(result, Transient)
    assert result.safe_to_retry
    assert send(TokenFirst(base_url=fake.url), envelope()) == Accepted(
        provider_message_id="SM-dlv_1"
    )  # type: ignore[operator]
    assert fake.requests[-1].headers["authorization"] == "Bearer abc"


def test_a_host_client_is_used_and_not_closed(fake: FakeProvider) -> None:
    with httpx.Client() as client:
        relay = Relay(base_url=fake.url, client=client)
        assert isinstance(relay.send(envelope()), Accepted)
        relay.close()
        assert not client.is_closed
    with pytest.raises(ConnectorError, match="closed"):
        relay.send(envelope())


def test_base_url_and_timeout_are_checked() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        Relay(base_url="ftp://x")
    with pytest.raises(ValidationError, match="timeout"):
        Relay(base_url="http://x", timeout=0)


NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after": "Sat, 05 Dec 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Reset": "5"}, 5.0),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 40)}, 40.0),
        ({"Retry-After": "-3"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers, NOW) == expected
