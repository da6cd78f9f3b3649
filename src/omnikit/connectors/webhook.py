"""
The generic webhook connector: each message a signed JSON POST to the host's own system.

```python
hooks = WebhookConnector(secret="whsec_...", endpoint="https://crm.shop.example/omnikit")
hooks = omnikit.connectors.connect("webhook://crm.shop.example/omnikit?secret=whsec_...")
```

Requests are signed as the Standard Webhooks specification says, in both directions: the
headers `webhook-id` (our delivery id, which receivers deduplicate by), `webhook-timestamp`
(Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
one per secret, separated by spaces, so that a secret can be rotated without downtime). The
secret is `whsec_` followed by the base64 of 24 to 512 random bytes (`generate_secret()`).

What goes out is one JSON object per message:

```json
{
  "type": "message",
  "timestamp": "2026-12-05T12:00:00Z",
  "data": {
    "delivery_id": "dlv_1", "to": "crm-contact-42", "sender": null,
    "subject": "Your order", "text": "It ships today", "html": null,
    "data": {"order": "1042"}, "media": [], "template": null, "key": null
  }
}
```

What the host's system sends back (delivery receipts, engagement, customers' messages) is
signed the same way and holds one event, or a JSON array of events:

```json
{
  "id": "evt_7",
  "type": "message.delivered",
  "timestamp": "2026-12-05T12:00:03Z",
  "data": {"delivery_id": "dlv_1", "message_id": "crm-829", "to": "crm-contact-42"}
}
```

`type` is `message.received` for a customer's message (`data.from`, `data.text`), or
`message.` and a status: `queued`, `sent`, `delivered`, `bounced`, `failed`, `undelivered`
(receipts) or `opened`, `clicked`, `read`, `complained`, `unsubscribed` (engagement).
`data.delivery_id` is our delivery id (the `webhook-id` of the message it is about),
`data.message_id` the receiver's own id, `data.code` and `data.reason` explain a failure.
The fields may also sit at the top level instead of under `data`. `id` is optional: without
it, an event is known by the request's `webhook-id` (and its place in a batch).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import json
import math
import re
import secrets
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

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
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector
from omnikit.connectors.signing import ReplayGuard, check_fresh, equal, hmac_digest
from omnikit.errors import SignatureError, ValidationError

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookConnector",
    "generate_secret",
    "sign",
]

ID_HEADER = "webhook-id"
"""The header carrying the message's id: our delivery id going out, the sender's coming in."""
TIMESTAMP_HEADER = "webhook-timestamp"
"""The header carrying the Unix time (seconds) of the attempt."""
SIGNATURE_HEADER = "webhook-signature"
"""The header carrying the signatures, `v1,<base64>`, separated by spaces."""

_PREFIX = "whsec_"
_MAX_SIGNATURES = 16
_MAX_FIELD = 512
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
_ENGAGEMENT = ("opened", "clicked", "read", "complained", "unsubscribed")
_RECEIPTS = ("queued", "sent", "delivered", "bounced", "failed", "undelivered")
_TYPES: dict[str, tuple[EventKind, DeliveryStatus | None]] = {
    "message.received": (EventKind.INBOUND, None),
    **{f"message.{word}": (EventKind.STATUS, DeliveryStatus(word)) for word in _RECEIPTS},
    **{f"message.{word}": (EventKind.ENGAGEMENT, DeliveryStatus(word)) for word in _ENGAGEMENT},
}
_URL_OPTIONS = frozenset({"secret", "previous_secrets", "tls", "tolerance", "timeout"})
_TEXT_FIELDS = ("delivery_id", "message_id", "from", "to", "text", "code", "reason")


def generate_secret() -> Secret:
    """
    A new signing secret: `whsec_` and the base64 of 32 random bytes.

    Give `reveal()` of it to the receiving system, once, and keep it as you keep passwords.

    Added in version 0.1.0.
    """
    return Secret(_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


def sign(secret: str | Secret, *, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """
    The Standard Webhooks signature of *body*: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.

    Raises:
        ValidationError: If *secret* is not `whsec_` and base64 of 24 to 512 bytes.

    Added in version 0.1.0.
    """
    return _signature(_key(secret, "secret"), msg_id, str(timestamp), body)


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac_digest(key, f"{msg_id}.{timestamp}.".encode() + body)
    return "v1," + base64.b64encode(digest).decode()


def _key(secret: str | Secret, what: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for (the prefix is optional)."""
    encoded = Secret(secret).reveal().removeprefix(_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"{what}: not a Standard Webhooks secret ('whsec_' then base64; in a URL, "
            "percent-encode its '+', '/' and '=' as %2B, %2F and %3D)"
        ) from None
    if not 24 <= len(key) <= 512:
        raise ValidationError(
            f"{what}: the key is {len(key)} bytes; Standard Webhooks keys are 24 to 512 bytes"
        )
    return key


def _http_url(value: str, what: str) -> str:
    parts = urllib.parse.urlsplit(value) if not _URL_UNSAFE.search(value) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"{what}: not an absolute http(s) URL without spaces")
    return value


class WebhookConnector(HttpConnector):
    """
    Posts each message as signed JSON to a URL, and verifies and reads the answers sent back.

    Args:
        secret: The signing secret (`whsec_...`), shared with the receiving system.
        previous_secrets: Secrets being rotated out: messages are signed with these too, and
            requests signed with any of them verify.
        endpoint: Where every message goes: an absolute URL, or a path under *base_url*. The
            rendition's `to` then names the recipient inside the payload. Without an
            endpoint (and without *base_url*), each rendition's `to` is the URL to post to.
        base_url: Where a path *endpoint* is; alone, the URL every message goes to.
        tolerance: How far a request's `webhook-timestamp` may be from now.
        timeout: Seconds to wait for the receiver (the specification recommends 15 to 30).
        client: An `httpx.Client` to send with (see `HttpConnector`).
        async_client: An `httpx.AsyncClient` to send with.
        clock: Gives the time messages are signed at; the system clock by default.
        allow_private_hosts: Without an endpoint, each rendition's `to` is the URL posted
            to, and may come from data a stranger set: only public hosts are posted to
            unless this is `True` (loopback, private and link-local addresses, `localhost`
            and `*.local`/`*.internal` names are refused before sending).

    Raises:
        ValidationError: If a secret, the endpoint or the base URL is unusable.

    Added in version 0.1.0.
    """

    name = "webhook"
    channel = "webhook"
    capabilities = Capabilities(
        rich_content=True, attachments=True, idempotency_keys=True, echoes_correlation_id=True
    )
    max_inbound_bytes: ClassVar[int] = 1 << 20
    """The largest webhook body `parse()` reads."""

    def __init__(
        self,
        *,
        secret: str | Secret,
        previous_secrets: Sequence[str | Secret] = (),
        endpoint: str | None = None,
        base_url: str | None = None,
        tolerance: dt.timedelta = dt.timedelta(minutes=5),
        timeout: float = 15.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        allow_private_hosts: bool = False,
    ) -> None:
        self.allow_private_hosts = allow_private_hosts
        if isinstance(previous_secrets, str | Secret):
            previous_secrets = (previous_secrets,)
        old = [_key(item, f"previous_secrets[{n}]") for n, item in enumerate(previous_secrets)]
        self._keys = (_key(secret, "secret"), *old)
        self.endpoint = _endpoint(endpoint, base_url)
        origin = _origin(self.endpoint) if self.endpoint else "https://webhook.invalid"
        super().__init__(base_url=origin, timeout=timeout, client=client, async_client=async_client)
        if not tolerance > dt.timedelta(0):
            raise ValidationError(f"tolerance: {tolerance!r} is not a positive duration")
        self.tolerance = tolerance
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._replays = ReplayGuard(2 * tolerance)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> WebhookConnector:
        """
        `webhook://crm.shop.example/omnikit?secret=whsec_...`: post every message there.

        `webhook://?secret=whsec_...` posts each message to its rendition's `to`. The secret
        may also be the URL's password (`webhook://:whsec_...@crm.shop.example/omnikit`).
        Options: `previous_secrets` (comma-separated), `tls=false` for plain HTTP,
        `tolerance` and `timeout` in seconds. Keyword *options* are passed on; `base_url`
        among them replaces the URL's scheme and host.

        Raises:
            ValidationError: For a missing secret or an option it does not know.
        """
        parsed = ConnectorURL(url)
        unknown = set(parsed.options) - _URL_OPTIONS
        if unknown:
            raise ValidationError(f"url: unknown options {sorted(unknown)}")
        secret = parsed.secret("secret") or parsed.password
        if secret is None:
            raise ValidationError("url: no secret (give ?secret=whsec_... or the password)")
        settings: dict[str, Any] = {"secret": secret}
        old = parsed.option("previous_secrets")
        if old:
            settings["previous_secrets"] = [Secret(item) for item in old.split(",") if item]
        for name, make in (("tolerance", _duration), ("timeout", _seconds)):
            value = parsed.option(name)
            if value is not None:
                settings[name] = make(name, value)
        if parsed.host is not None:
            tls = _flag(parsed.option("tls", "true") or "true")
            port = f":{parsed.port}" if parsed.port is not None else ""
            path = "/" + urllib.parse.quote(parsed.path)
            if "base_url" in options:
                settings["endpoint"] = path
            else:
                settings["endpoint"] = f"{'https' if tls else 'http'}://{parsed.host}{port}{path}"
        return cls(**{**settings, **options})

    # -- sending ---------------------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The signed POST of *envelope*'s rendition, to the endpoint or to its `to` URL."""
        url = self.endpoint
        if url is None:  # the URL comes with the message: from data a stranger may have set
            url = _http_url(envelope.rendition.to, "to")
            if not self.allow_private_hosts:
                _public(url)
        now = self._clock()
        body = _outbound(envelope, now)
        headers = {
            "Content-Type": "application/json",
            **self.signed_headers(body, msg_id=envelope.id, now=now),
        }
        return HttpCall(method="POST", url=url, headers=headers, content=body)

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:
        """
        What the receiver's *answer* means, as the Standard Webhooks specification reads it.

        2xx is accepted (with the receiver's JSON `id`, else our delivery id); 3xx refused (no
        redirect is followed); 410 refused: the receiver wants no more; 429 transient and safe
        to retry; 5xx and 408 transient; any other 4xx refused.
        """
        if 200 <= answer.status < 300:
            return Accepted(
                provider_message_id=_their_id(answer) or envelope.id, status=str(answer.status)
            )
        if 300 <= answer.status < 400:
            return Refused(
                code=str(answer.status),
                reason="the endpoint redirects; configure the URL it redirects to",
            )
        if answer.status == 410:
            return Refused(code="410", reason="the endpoint is gone: it wants no more messages")
        return self.classify(answer)

    def signed_headers(self, body: bytes, *, msg_id: str, now: dt.datetime) -> dict[str, str]:
        """
        The Standard Webhooks headers for *body*: its id, the time *now*, a signature per secret.

        A host's own Python sender can sign what it posts back this way.
        """
        timestamp = str(int(now.timestamp()))
        signatures = " ".join(_signature(key, msg_id, timestamp, body) for key in self._keys)
        return {ID_HEADER: msg_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signatures}

    # -- webhooks --------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check the Standard Webhooks signature of *request*, its timestamp, and that it is new.

        One `v1` signature made with any of the secrets is enough; signatures of other
        schemes (`v1a`) are skipped. A request verified once is refused the second time.

        Raises:
            SignatureError: Naming the header and the check that failed.
        """
        msg_id = request.headers.get(ID_HEADER)
        if msg_id is None:
            raise SignatureError(f"{ID_HEADER}: missing")
        if not msg_id or len(msg_id) > _MAX_FIELD or _URL_UNSAFE.search(msg_id):
            raise SignatureError(f"{ID_HEADER}: not a message id")
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        check_fresh(timestamp, now=now, tolerance=self.tolerance, header=TIMESTAMP_HEADER)
        given = request.headers.get(SIGNATURE_HEADER)
        if given is None:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        offered = _offered(given)
        content = f"{msg_id}.{timestamp}.".encode() + request.body
        expected = [hmac_digest(key, content) for key in self._keys]
        if not any(equal(mine, theirs) for mine in expected for theirs in offered):
            raise SignatureError(
                f"{SIGNATURE_HEADER}: no v1 signature matches the id, timestamp and body"
            )
        self._replays.check(f"{msg_id}.{timestamp}", now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        The events of a verified request: one JSON event, or an array of them.

        Raises:
            ValidationError: If the body is not JSON of the documented shape.
        """
        if len(request.body) > self.max_inbound_bytes:
            raise ValidationError(
                f"body: {len(request.body)} bytes; webhooks take at most {self.max_inbound_bytes}"
            )
        try:
            loaded = json.loads(request.body)
        except (ValueError, RecursionError):
            raise ValidationError("body: not JSON") from None
        items = loaded if isinstance(loaded, list) else [loaded]
        if not items:
            raise ValidationError("body: an empty list of events")
        msg_id = request.headers.get(ID_HEADER)
        events = []
        for index, item in enumerate(items):
            where = f"events[{index}]" if isinstance(loaded, list) else "body"
            fallback = None
            if msg_id:
                fallback = f"{msg_id}:{index}" if isinstance(loaded, list) else msg_id
            events.append(_event(item, where, fallback))
        return events

    def __repr__(self) -> str:
        where = _origin(self.endpoint) + "/…" if self.endpoint else "each rendition's URL"
        return f"<WebhookConnector {self.name} channel={self.channel} endpoint={where}>"


def _endpoint(endpoint: str | None, base_url: str | None) -> str | None:
    if base_url is not None:
        base = _http_url(base_url, "base_url").rstrip("/")
        if endpoint is None:
            return base
        if "://" in endpoint:
            raise ValidationError("endpoint: give a path under base_url, or an absolute URL alone")
        return _http_url(f"{base}/{endpoint.lstrip('/')}", "endpoint")
    if endpoint is None:
        return None
    return _http_url(endpoint, "endpoint")


_PRIVATE_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")


def _public(url: str) -> None:
    """
    Refuse a per-message URL that points inside the host's network (server-side forgery).

    An IP address must be a public one, and a name must not be one that only resolves
    inside a network (`localhost`, `*.local`, `*.internal`). A public name that resolves to a
    private address is not caught here: configure an `endpoint`, or filter at the egress.
    """
    host = (urllib.parse.urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(_PRIVATE_NAMES[1:]):
            raise ValidationError(
                f"to: {host!r} names a host inside the network; only public hosts are posted "
                "to (allow_private_hosts=True to allow them)"
            ) from None
        return
    if not address.is_global:
        raise ValidationError(
            f"to: {host} is not a public address; only public hosts are posted to "
            "(allow_private_hosts=True to allow them)"
        )


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}"


def _outbound(envelope: Envelope, now: dt.datetime) -> bytes:
    rendition = envelope.rendition
    template = rendition.template
    payload = {
        "type": "message",
        "timestamp": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "delivery_id": envelope.id,
            "to": rendition.to,
            "sender": rendition.sender,
            "subject": rendition.subject,
            "text": rendition.text,
            "html": rendition.html,
            "data": dict(rendition.data),
            "media": list(rendition.media),
            "template": None
            if template is None
            else {
                "name": template.name,
                "language": template.language,
                "parameters": list(template.parameters),
            },
            "key": envelope.key,
        },
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _their_id(answer: HttpAnswer) -> str | None:
    body = answer.json()
    found = body.get("id") if isinstance(body, dict) else None
    if isinstance(found, bool) or not isinstance(found, str | int):
        return None
    text = str(found)
    return text if 0 < len(text) <= _MAX_FIELD and not _URL_UNSAFE.search(text) else None


def _offered(header: str) -> list[bytes]:
    """The decoded `v1` signatures of a `webhook-signature` header (other schemes skipped)."""
    entries = header.split()
    if len(entries) > _MAX_SIGNATURES:
        raise SignatureError(f"{SIGNATURE_HEADER}: more than {_MAX_SIGNATURES} signatures")
    offered = []
    for entry in entries:
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            offered.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return offered


def _event(item: object, where: str, fallback: str | None) -> ProviderEvent:
    if not isinstance(item, dict):
        raise ValidationError(f"{where}: an event is a JSON object")
    name = item.get("type")
    kind_status = _TYPES.get(name) if isinstance(name, str) else None
    if kind_status is None:
        raise ValidationError(
            f"{where}.type: {str(item.get('type'))!r:.60} is not one of {sorted(_TYPES)}"
        )
    kind, status = kind_status
    data = item.get("data", item)
    if not isinstance(data, dict):
        raise ValidationError(f"{where}.data: a JSON object")
    fields = {name: _text(data.get(name), f"{where}.data.{name}") for name in _TEXT_FIELDS}
    timestamp = _text(item.get("timestamp"), f"{where}.timestamp")
    event_id = _text(item.get("id"), f"{where}.id") or fallback or _digest(item)
    return ProviderEvent(
        kind=kind,
        event_id=event_id,
        status=status,
        delivery_id=fields["delivery_id"],
        provider_message_id=fields["message_id"],
        address=fields["from"] or fields["to"],
        text=fields["text"],
        code=fields["code"],
        reason=fields["reason"],
        timestamp=timestamp,
        raw=item,
    )


def _text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(f"{where}: text expected; got {type(value).__name__}")
    if not where.endswith(".text") and len(value) > _MAX_FIELD:
        raise ValidationError(f"{where}: longer than {_MAX_FIELD} characters")
    return value or None


def _digest(item: dict[str, Any]) -> str:
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "wh-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValidationError(f"url: tls={value!r:.20} is not true or false")


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise ValidationError(f"url: {name}={value!r:.20} is not a number of seconds")
    return seconds


def _duration(name: str, value: str) -> dt.timedelta:
    return dt.timedelta(seconds=_seconds(name, value))
