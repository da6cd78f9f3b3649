"""
The Acme SMS connector.

Acme's API, as its (fictional) documentation describes it:

- `POST /v1/token` with `{"key_id", "key_secret"}` answers `200 {"access_token",
  "expires_in"}`; tokens last `expires_in` seconds.
- `POST /v1/messages` with `Authorization: Bearer <token>` and `{"from", "to", "text",
  "client_ref"}` answers `201 {"id", "status": "queued"}`. Errors are `{"error": {"code",
  "message"}}`: 400 `invalid_number`, `text_too_long`, `missing_field`; 401 `token_expired`;
  402 `insufficient_funds`; 403 `opted_out`; 429 `rate_limited` with `Retry-After` (such a
  request was never processed); 5xx when Acme is down.
- Receipts and replies are POSTed to the account's callback URL as `{"events": [...]}`,
  signed: `Acme-Timestamp` (Unix seconds) and `Acme-Signature`, the hex HMAC-SHA256 of
  `"{timestamp}.{body}"` under the account's webhook secret. An event has `id`, `type`
  (`message.status` or `message.inbound`), `occurred_at`, and `message_id`, `client_ref`,
  `status` (`queued`, `sent`, `delivered`, `failed`, `undelivered`), `error_code` for a
  status, or `from`, `to`, `text` for an inbound message.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from omnikit.connectors import (
    Accepted,
    Capabilities,
    ConnectorURL,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    ProviderEvent,
    Secret,
    SendResult,
    Transient,
)
from omnikit.connectors.http import Exchange, HttpAnswer, HttpCall, HttpConnector
from omnikit.connectors.signing import ReplayGuard, check_fresh, equal, hmac_digest
from omnikit.errors import ConnectorError, SignatureError, ValidationError

__all__ = ["AcmeSMS"]

_STATUSES = {
    "queued": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.UNDELIVERED,
}


# --8<-- [start:connector]
class AcmeSMS(HttpConnector):
    """
    Text messages through Acme.

    Args:
        key_id: The API key's id.
        key_secret: The API key's secret, exchanged for a token before sending.
        sender: The number messages come from (E.164).
        webhook_secret: The secret Acme signs its callbacks with.
        base_url: Where Acme's API is (tests point it at a fake).
        clock: Monotonic seconds, for the token's expiry.
        **options: `timeout`, `client`, `async_client`: see `HttpConnector`.
    """

    name = "acme-sms"
    channel = "sms"
    capabilities = Capabilities(max_length=1600, echoes_correlation_id=True)
    default_base_url = "https://api.acme-sms.example"

    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str | Secret,
        sender: str,
        webhook_secret: str | Secret | None = None,
        base_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self.key_id = key_id
        self.sender = sender
        self._key_secret = Secret(key_secret)  # never shown in a repr, a log or an error
        self._webhook_secret = Secret(webhook_secret) if webhook_secret else None
        self._clock = clock
        self._token: tuple[Secret, float] | None = None
        self._token_lock = threading.Lock()
        self._replays = ReplayGuard(dt.timedelta(minutes=10))

    # --8<-- [end:connector]
    # --8<-- [start:from-url]
    @classmethod
    def from_url(cls, url: str, **options: Any) -> AcmeSMS:
        """`acme-sms://KEY_ID:KEY_SECRET@/+15550100?webhook_secret=...`."""
        parsed = ConnectorURL(url)  # str(parsed) hides the password and secret options
        if parsed.user is None or parsed.password is None:
            raise ValidationError("url: the API key goes before '@': acme-sms://ID:SECRET@/...")
        if not parsed.path:
            raise ValidationError("url: the sender's number is the path: acme-sms://...@/+1555...")
        return cls(
            key_id=parsed.user,
            key_secret=parsed.password,
            sender=parsed.path,
            webhook_secret=parsed.secret("webhook_secret"),
            **options,
        )

    # --8<-- [end:from-url]
    # --8<-- [start:request]
    def request(self, envelope: Envelope) -> HttpCall:
        """The call that hands the message to Acme (without its token: see `exchange()`)."""
        rendition = envelope.rendition
        body = {
            "from": rendition.sender or self.sender,
            "to": rendition.to,
            "text": rendition.text,
            "client_ref": envelope.id,  # comes back in receipts as `client_ref`
        }
        return HttpCall.json("POST", "/v1/messages", body)

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        """Acme's answer as a result, by its documented error codes."""
        body = answer.json()
        if answer.status == 201 and isinstance(body, dict) and body.get("id"):
            return Accepted(provider_message_id=str(body["id"]), status=body.get("status", ""))
        error = body.get("error") if isinstance(body, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        reason = str(error.get("message", "")) if isinstance(error, dict) else ""
        if code == "token_expired":  # refused before anything was sent: fetch a new one
            self._forget_token()
            return Transient(code=code, reason=reason, safe_to_retry=True)
        return self.classify(answer, code=code or None, reason=reason)

    # --8<-- [end:request]
    # --8<-- [start:exchange]
    def exchange(self, envelope: Envelope) -> Exchange:
        """Fetch a token when there is none (or it expired), then send with it."""
        token = self._valid_token()
        if token is None:
            answer = yield HttpCall.json(
                "POST",
                "/v1/token",
                {"key_id": self.key_id, "key_secret": self._key_secret.reveal()},
                delivers=False,  # no message in it: a failure here is safe to retry
            )
            if answer.status != 200:
                return self.interpret(envelope, answer)
            token = self._remember_token(answer)
        call = self.request(envelope)
        headers = {**call.headers, "Authorization": f"Bearer {token.reveal()}"}
        answer = yield HttpCall(
            method=call.method, url=call.url, headers=headers, content=call.content
        )
        return self.interpret(envelope, answer)

    # --8<-- [end:exchange]

    def _valid_token(self) -> Secret | None:
        with self._token_lock:
            if self._token is None or self._token[1] <= self._clock():
                return None
            return self._token[0]

    def _remember_token(self, answer: HttpAnswer) -> Secret:
        body = answer.json()
        token = Secret(str(body["access_token"]))
        expires_at = self._clock() + float(body.get("expires_in", 0)) - 30  # a margin
        with self._token_lock:
            self._token = (token, expires_at)
        return token

    def _forget_token(self) -> None:
        with self._token_lock:
            self._token = None

    # --8<-- [start:verify]
    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """Check Acme's signature over the timestamp and the raw body, its age, and novelty."""
        if self._webhook_secret is None:
            raise ConnectorError("acme-sms: no webhook_secret configured to verify callbacks")
        timestamp = request.headers.get("Acme-Timestamp")
        check_fresh(timestamp, now=now, tolerance=dt.timedelta(minutes=5), header="Acme-Timestamp")
        given = request.headers.get("Acme-Signature")
        if given is None:
            raise SignatureError("Acme-Signature: missing")
        signed = f"{timestamp}.".encode() + request.body
        expected = hmac_digest(self._webhook_secret.reveal(), signed).hex()
        if not equal(given, expected):  # constant time; the message names no value
            raise SignatureError("Acme-Signature: does not match the timestamp and body")
        self._replays.check(given, now=now)

    # --8<-- [end:verify]
    # --8<-- [start:parse]
    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """The events of a verified callback."""
        try:
            events = json.loads(request.body)["events"]
            return [_event(item) for item in events]
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ValidationError(f"body: not an Acme callback ({type(exc).__name__})") from None

    # --8<-- [end:parse]

    def __repr__(self) -> str:
        return f"<AcmeSMS key_id={self.key_id} sender={self.sender} {self.base_url}>"


def _event(item: dict[str, Any]) -> ProviderEvent:
    if item["type"] == "message.inbound":
        return ProviderEvent(
            kind=EventKind.INBOUND,
            event_id=str(item["id"]),
            address=item["from"],
            text=item["text"],
            timestamp=item.get("occurred_at"),
            raw=item,
        )
    if item["type"] != "message.status":
        raise ValueError(item["type"])
    return ProviderEvent(
        kind=EventKind.STATUS,
        event_id=str(item["id"]),
        status=_STATUSES[item["status"]],
        delivery_id=item.get("client_ref"),  # our delivery id, echoed back
        provider_message_id=item["message_id"],
        code=item.get("error_code"),
        timestamp=item.get("occurred_at"),
        raw=item,
    )
