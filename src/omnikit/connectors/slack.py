"""
Chat messages through Slack: an incoming webhook, or the Web API's `chat.postMessage`.

```python
staff = SlackConnector(token="xoxb-...", signing_secret="...")  # the Web API, as a bot
alerts = SlackConnector(webhook_url="https://hooks.slack.com/services/T0/B0/XXXX")
staff.send(Envelope(id="dlv_1", rendition=Rendition(channel="chat", to="C0123", text="Hi")))
```

With a bot token, a send is `chat.postMessage` to the rendition's `to` (a channel id such as
`C0123`, or a user id for a direct message); Slack answers HTTP 200 even for most errors,
with `{"ok": false, "error": "..."}`, so results are classified by that error name. The
message's id is its channel and `ts`, as `"C0123:1503435956.000247"`. Our delivery id rides
in the message's `metadata` (`event_type` `omnikit_delivery`, `event_payload.delivery_id`).

With an incoming webhook, the URL is the credential and decides the channel; Slack answers
`ok` in plain text, or an error word (`invalid_payload`, `channel_not_found`, `no_service`)
with a 4xx status. It returns no message id and carries no metadata.

Slack tells the app about messages in its channels through the Events API. `verify()`
checks a request's v0 signature (HMAC-SHA256 of `v0:{timestamp}:{body}` under the app's
signing secret, a five-minute window, no replays); `parse()` turns message events into
inbound `ProviderEvent`s keyed by Slack's `event_id`, so the retries Slack makes (with
`X-Slack-Retry-Num`, each signed anew) are recognised as the same event; `challenge()`
answers the `url_verification` request Slack sends when the request URL is configured.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    ProviderEvent,
    Refused,
    SendResult,
    Transient,
    Unknown,
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector, retry_after
from omnikit.connectors.signing import ReplayGuard, check_fresh, equal, hmac_digest
from omnikit.errors import SignatureError, ValidationError

__all__ = [
    "EVENT_TYPE",
    "RETRY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SlackConnector",
    "signature",
]

SIGNATURE_HEADER = "X-Slack-Signature"
"""The header carrying `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
"""The header carrying the Unix time the request was signed at."""

RETRY_HEADER = "X-Slack-Retry-Num"
"""The header numbering Slack's retries of an event it thinks was not received."""

EVENT_TYPE = "omnikit_delivery"
"""The `metadata.event_type` of the messages omnikit posts with the Web API."""

TOLERANCE = dt.timedelta(minutes=5)
_MAX_LENGTH = 40_000  # Slack truncates text past this
_MAX_BLOCKS = 50
_MAX_BODY = 1_000_000  # Events API requests are small; a larger one is not Slack's
_RATE_WAIT = 1.0  # chat.postMessage and webhooks take about one message a second
_ADDRESS = re.compile(r"[#@]?[A-Za-z0-9._-]{1,80}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_WORD = re.compile(r"[a-z_]{1,64}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
_UNSURE = frozenset(  # Slack: "it's possible some aspect of the operation succeeded"
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_MIGRATING = frozenset({"team_added_to_org", "org_login_required"})
_CUSTOMER_MESSAGES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


def signature(signing_secret: str | Secret, timestamp: int | str, body: bytes) -> str:
    """
    The v0 signature Slack sends for *body* signed at *timestamp*: `v0=` and a hex digest.

    Added in version 0.1.0.
    """
    secret = Secret(signing_secret).reveal()
    digest = hmac_digest(secret, b"v0:" + str(timestamp).encode() + b":" + body)
    return f"v0={digest.hex()}"


class SlackConnector(HttpConnector):
    """
    Posts chat messages to Slack, and hears the messages people write to the app.

    Give exactly one of *token* (a bot token: `chat.postMessage`) and *webhook_url* (an
    incoming webhook). The rendition's `text` is the message (at most 40,000 characters);
    `data["blocks"]` may hold Block Kit blocks as JSON text (the text is then what
    notifications show), `data["thread_ts"]` the `ts` of a message to reply under. With a token, any other `data` joins our delivery id in the
    message's metadata; a webhook carries no metadata, so other keys are an error. An email
    subject is not carried.

    Args:
        token: A bot token (`xoxb-...`), sent as a Bearer token.
        webhook_url: An incoming webhook's URL (`https://hooks.slack.com/services/...`).
        signing_secret: The app's signing secret, for `verify()`.
        base_url: Where Slack is: `https://slack.com/api` for the Web API; for a webhook,
            its URL's own scheme and host (the path is kept).
        timeout: Seconds to wait for an answer.
        client: An `httpx.Client` to send with (the host's to close).
        async_client: An `httpx.AsyncClient` for `asend()`.

    Raises:
        ValidationError: If neither or both of *token* and *webhook_url* are given, or one
            is malformed (the message never shows it).

    Added in version 0.1.0.
    """

    name = "slack"
    channel = "chat"
    capabilities = Capabilities(max_length=_MAX_LENGTH, rich_content=True)
    default_base_url = "https://slack.com/api"

    def __init__(
        self,
        *,
        token: str | Secret | None = None,
        webhook_url: str | Secret | None = None,
        signing_secret: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        if (token is None) == (webhook_url is None):
            raise ValidationError(
                "token: give a bot token (chat.postMessage) or a webhook_url "
                "(an incoming webhook), one of them"
            )
        self._token = _token(token) if token is not None else None
        self._webhook: Secret | None = None
        if webhook_url is not None:
            origin, path = _webhook(Secret(webhook_url))
            base_url = base_url if base_url is not None else origin
            self._webhook = path
        super().__init__(
            base_url=base_url, timeout=timeout, client=client, async_client=async_client
        )
        self._signing_secret = Secret(signing_secret) if signing_secret else None
        self._replays = ReplayGuard(2 * TOLERANCE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SlackConnector:
        """
        `slack://?token=xoxb-...` (the Web API) or `slack://hooks.slack.com/services/T/B/X`.

        The webhook form is the webhook's URL with `slack` for `https`. Options in the URL:
        `token`, `signing_secret`, `base_url`, `timeout`.
        """
        parsed = ConnectorURL(url)
        unknown = set(parsed.options) - {"token", "signing_secret", "base_url", "timeout"}
        if unknown:
            raise ValidationError([f"url: unknown option {key!r}" for key in sorted(unknown)])
        settings: dict[str, Any] = {
            "token": parsed.secret("token"),
            "signing_secret": parsed.secret("signing_secret"),
            "base_url": parsed.option("base_url"),
        }
        if "timeout" in parsed.options:
            settings["timeout"] = _seconds(parsed.options["timeout"])
        if parsed.path:
            if settings["token"] is not None:
                raise ValidationError("url: a webhook URL or ?token=, not both")
            port = f":{parsed.port}" if parsed.port is not None else ""
            settings["webhook_url"] = Secret(f"https://{parsed.host}{port}/{parsed.path}")
        return cls(**settings, **options)

    @property
    def mode(self) -> str:
        """`"api"` (`chat.postMessage` with a bot token) or `"webhook"` (an incoming webhook)."""
        return "webhook" if self._webhook is not None else "api"

    # -- sending ---------------------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The webhook POST or the `chat.postMessage` call for *envelope*."""
        message, extra = _message(envelope)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._webhook is not None:
            if extra:
                raise ValidationError(
                    [f"data.{key}: an incoming webhook carries no metadata" for key in extra]
                )
            return HttpCall.json("POST", self._webhook.reveal(), message, headers=headers)
        if "delivery_id" in extra:
            raise ValidationError("data.delivery_id: carries our delivery id; leave it out")
        token = self._token.reveal() if self._token is not None else ""
        body = {
            "channel": envelope.rendition.to,
            **message,
            "metadata": {
                "event_type": EVENT_TYPE,
                "event_payload": {"delivery_id": envelope.id, **extra},
            },
        }
        headers["Authorization"] = f"Bearer {token}"
        return HttpCall.json("POST", "chat.postMessage", body, headers=headers)

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:
        """Slack's answer: `ok` from a webhook, `{"ok": ...}` from the Web API."""
        if self._webhook is not None:
            return _webhook_result(envelope, answer)
        return _api_result(answer)

    # -- webhooks --------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check *request*'s v0 signature, that it was signed in the last five minutes, and new.

        Raises:
            SignatureError: Naming the header and the check that failed.
        """
        if self._signing_secret is None:
            raise SignatureError(f"{SIGNATURE_HEADER}: no signing_secret is configured")
        given = request.headers.get(SIGNATURE_HEADER)
        if given is None:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        check_fresh(timestamp, now=now, tolerance=TOLERANCE, header=TIMESTAMP_HEADER)
        if not given.startswith("v0="):
            raise SignatureError(f"{SIGNATURE_HEADER}: not a v0 signature")
        expected = signature(self._signing_secret, str(timestamp), request.body)
        if not equal(given, expected):
            raise SignatureError(
                f"{SIGNATURE_HEADER}: does not match the timestamp and body received"
            )
        self._replays.check(given, now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        The inbound messages of a verified Events API request.

        A `message` event written by a person (not a bot, not an edit or a deletion) gives
        one inbound event whose `event_id` is Slack's, whose address is the writer's user id
        and whose `provider_message_id` is `"{channel}:{ts}"`. A `message_metadata_posted`
        event about a message omnikit posted (the app subscribes to the `omnikit_delivery`
        metadata type) gives a `delivered` status event carrying our delivery id. Other
        events, and the `url_verification` and `app_rate_limited` requests, give none.

        Raises:
            ValidationError: If the body is not an Events API request.
        """
        payload = _payload(request)
        kind = payload.get("type")
        if kind in {"url_verification", "app_rate_limited"}:
            return []
        if kind != "event_callback":
            raise ValidationError(
                f"body.type: {kind!r:.40} is not an Events API request "
                "(event_callback, url_verification or app_rate_limited)"
            )
        return _callback_events(payload)

    def challenge(self, request: InboundRequest) -> str | None:
        """
        The challenge to answer (as the 200 response's text) if *request* is `url_verification`.

        Verify the request first; `None` for any other request.

        Raises:
            ValidationError: If the body is not an Events API request.
        """
        payload = _payload(request)
        if payload.get("type") != "url_verification":
            return None
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise ValidationError("body.challenge: missing from a url_verification request")
        return challenge

    def __repr__(self) -> str:
        return f"<SlackConnector {self.name} channel={self.channel} {self.mode} {self.base_url}>"


# -- sending -----------------------------------------------------------------------------------


def _message(envelope: Envelope) -> tuple[dict[str, Any], dict[str, str]]:
    """The message fields for *envelope*, and the data left over for metadata."""
    rendition = envelope.rendition
    errors = []
    if not _ADDRESS.fullmatch(rendition.to):
        errors.append(f"to: {rendition.to!r:.60} is not a Slack channel or user id")
    if rendition.template is not None:
        errors.append("template: Slack has no provider templates; send the rendered text")
    extra = dict(rendition.data)
    message: dict[str, Any] = {}
    if rendition.text:
        message["text"] = rendition.text
    blocks = extra.pop("blocks", None)
    if blocks is not None:
        parsed, problem = _blocks(blocks)
        if problem:
            errors.append(f"data.blocks: {problem}")
        message["blocks"] = parsed
    thread = extra.pop("thread_ts", None)
    if thread is not None:
        if not _TS.fullmatch(thread):
            errors.append(f"data.thread_ts: {thread!r:.40} is not a message ts")
        message["thread_ts"] = thread
    if "text" not in message:
        errors.append("text: a Slack message needs text (with blocks, the notification's text)")
    if errors:
        raise ValidationError(errors)
    return message, extra


def _blocks(text: str) -> tuple[Any, str | None]:
    try:
        blocks = json.loads(text)
    except ValueError:
        return None, "not JSON"
    if not isinstance(blocks, list) or not all(isinstance(item, dict) for item in blocks):
        return None, "not a JSON array of block objects"
    if not blocks or len(blocks) > _MAX_BLOCKS:
        return None, f"{len(blocks)} blocks; a message takes 1 to {_MAX_BLOCKS}"
    return blocks, None


def _webhook_result(envelope: Envelope, answer: HttpAnswer) -> SendResult:
    """An incoming webhook's plain-text answer; it gives no message id, so ours stands in."""
    if 200 <= answer.status < 300:
        return Accepted(provider_message_id=envelope.id, status="ok")
    word = answer.text.strip()
    code = word if _WORD.fullmatch(word) else str(answer.status)
    reason = f"incoming webhook: {word[:200] or 'no answer'} (HTTP {answer.status})"
    if answer.status == 429:
        wait = retry_after(answer.headers) or _RATE_WAIT
        return Transient(code=code, reason=reason, retry_after=wait, safe_to_retry=True)
    if answer.status >= 500 or answer.status == 408:
        return Transient(code=code, reason=reason, retry_after=retry_after(answer.headers))
    return Refused(code=code, reason=reason)


def _api_result(answer: HttpAnswer) -> SendResult:
    """A Web API answer, classified by its `error` name more than by its status."""
    payload = answer.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("ok"), bool):
        if answer.status == 200:
            return Unknown(reason="chat.postMessage answered 200 without a Web API body")
        return _by_status(answer, code=str(answer.status), reason=answer.text[:300])
    if payload["ok"]:
        channel, ts = payload.get("channel"), payload.get("ts")
        if isinstance(channel, str) and isinstance(ts, str) and channel and ts:
            return Accepted(provider_message_id=f"{channel}:{ts}", status="ok")
        return Unknown(reason="chat.postMessage answered ok without the message's channel and ts")
    error = payload.get("error")
    code = error if isinstance(error, str) and error else "unknown_error"
    reason = f"chat.postMessage: {code}"
    warning = payload.get("warning")
    if isinstance(warning, str):
        reason += f" (warning: {warning})"
    if code in _RATE_LIMITED or answer.status == 429:
        wait = retry_after(answer.headers) or _RATE_WAIT
        return Transient(code=code, reason=reason, retry_after=wait, safe_to_retry=True)
    if code in _UNSURE or code in _MIGRATING or answer.status >= 500:
        return Transient(code=code, reason=reason, retry_after=retry_after(answer.headers))
    return Refused(code=code, reason=reason)


def _by_status(answer: HttpAnswer, *, code: str, reason: str) -> SendResult:
    wait = retry_after(answer.headers)
    if answer.status == 429:
        return Transient(
            code=code, reason=reason, retry_after=wait or _RATE_WAIT, safe_to_retry=True
        )
    if answer.status >= 500 or answer.status == 408:
        return Transient(code=code, reason=reason, retry_after=wait)
    return Refused(code=code, reason=reason)


# -- webhooks ----------------------------------------------------------------------------------


def _payload(request: InboundRequest) -> dict[str, Any]:
    if len(request.body) > _MAX_BODY:
        raise ValidationError(
            f"body: {len(request.body)} bytes; an Events API request is under {_MAX_BODY}"
        )
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise ValidationError(
            "body: not JSON (slash commands and interactivity, which Slack sends as forms, "
            "are not parsed here)"
        ) from None
    if not isinstance(payload, dict):
        raise ValidationError(f"body: a JSON object expected; got {type(payload).__name__}")
    return payload


def _callback_events(payload: Mapping[str, Any]) -> list[ProviderEvent]:
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise ValidationError("body.event_id: missing from an event_callback")
    event = payload.get("event")
    if not isinstance(event, dict):
        raise ValidationError("body.event: missing from an event_callback")
    if event.get("type") == "message_metadata_posted":
        return _posted(event_id, event, payload)
    if event.get("type") != "message" or event.get("bot_id"):
        return []
    if event.get("subtype") not in _CUSTOMER_MESSAGES:
        return []
    channel, ts, user, text = (_text(event.get(key)) for key in ("channel", "ts", "user", "text"))
    return [
        ProviderEvent(
            kind=EventKind.INBOUND,
            event_id=event_id,
            provider_message_id=f"{channel}:{ts}" if channel and ts else None,
            address=user,
            text=text,
            timestamp=_moment(ts if ts is not None else payload.get("event_time")),
            raw=dict(payload),
        )
    ]


def _posted(
    event_id: str, event: Mapping[str, Any], payload: Mapping[str, Any]
) -> list[ProviderEvent]:
    """Slack's word that a message with our metadata is in its channel: our message delivered."""
    metadata = event.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return []
    body = metadata.get("event_payload")
    delivery_id = _text(body.get("delivery_id")) if isinstance(body, dict) else None
    if delivery_id is None:
        return []
    channel, ts = _text(event.get("channel_id")), _text(event.get("message_ts"))
    return [
        ProviderEvent(
            kind=EventKind.STATUS,
            event_id=event_id,
            status=DeliveryStatus.DELIVERED,
            delivery_id=delivery_id,
            provider_message_id=f"{channel}:{ts}" if channel and ts else None,
            timestamp=_moment(ts if ts is not None else payload.get("event_time")),
            raw=dict(payload),
        )
    ]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _moment(value: object) -> str | None:
    """A Slack time (`"1531420618.000200"` or an integer) in ISO 8601, if it is one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        seconds = float(value)
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


# -- configuration -----------------------------------------------------------------------------


def _token(value: str | Secret) -> Secret:
    token = Secret(value)
    if not _PRINTABLE.fullmatch(token.reveal()):
        raise ValidationError("token: not a Slack token (printable characters, no spaces)")
    return token


def _webhook(url: Secret) -> tuple[str, Secret]:
    """An incoming webhook URL's origin, and its path (the secret part)."""
    parts = urllib.parse.urlsplit(url.reveal())
    if parts.scheme not in {"https", "http"} or not parts.netloc or not parts.path.strip("/"):
        raise ValidationError("webhook_url: not an incoming webhook's http(s) URL")
    if not _PRINTABLE.fullmatch(url.reveal()):
        raise ValidationError("webhook_url: has spaces or control characters")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", Secret(path)


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: timeout {value!r:.20} is not a number of seconds") from None
