"""
Email over the Twilio SendGrid v3 Mail Send API, and SendGrid's signed Event Webhook.

```python
email = connect("sendgrid://apikey:SG.xxxx@?from=shop@example.com&public_key=MFkw...")
email = SendGridConnector("SG.xxxx", sender="Shop <shop@example.com>", public_key="MFkw...")
```

A send is one `POST /v3/mail/send` with the API key as a Bearer token; SendGrid answers
`202 Accepted` and its message id in the `X-Message-Id` header. Our delivery id travels in
the personalization's `custom_args` (as `omnikit_delivery`), which SendGrid merges into every
event it later posts about that recipient, so `parse()` gives it back.

`send_batch()` puts envelopes whose content is identical into one request, one
personalization per recipient, within SendGrid's documented limits (1000 personalizations a
request, each address once).

Verifying the Event Webhook's ECDSA signature needs the `cryptography` package:
`pip install 'omnikit[sendgrid]'`. Sending does not.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    ProviderEvent,
    Rendition,
    SendResult,
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors._email import Mailbox, check_header, mailbox, with_links
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector, _failure
from omnikit.connectors.signing import ReplayGuard, b64decode, check_fresh
from omnikit.errors import ConnectorError, SignatureError, ValidationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

__all__ = [
    "DELIVERY_ARG",
    "MAX_PERSONALIZATIONS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SendGridConnector",
]

DELIVERY_ARG = "omnikit_delivery"
"""The `custom_args` key that carries our delivery id to SendGrid and back in its events."""

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
"""The header with the base64 DER ECDSA signature of a signed Event Webhook request."""

TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
"""The header with the Unix time the signature covers, before the body."""

MAX_PERSONALIZATIONS = 1000
"""SendGrid's limit of personalizations (and of recipients) in one mail send request."""

_PATH = "/v3/mail/send"
_URL_OPTIONS = frozenset({"from", "public_key", "timeout"})

_EVENTS: dict[str, tuple[EventKind, DeliveryStatus | None]] = {
    "processed": (EventKind.STATUS, DeliveryStatus.SENT),
    "deferred": (EventKind.STATUS, DeliveryStatus.SENT),
    "delivered": (EventKind.STATUS, DeliveryStatus.DELIVERED),
    "dropped": (EventKind.STATUS, DeliveryStatus.FAILED),
    "bounce": (EventKind.STATUS, DeliveryStatus.BOUNCED),
    "blocked": (EventKind.STATUS, DeliveryStatus.UNDELIVERED),
    "open": (EventKind.ENGAGEMENT, DeliveryStatus.OPENED),
    "click": (EventKind.ENGAGEMENT, DeliveryStatus.CLICKED),
    "spamreport": (EventKind.ENGAGEMENT, DeliveryStatus.COMPLAINED),
    "unsubscribe": (EventKind.ENGAGEMENT, DeliveryStatus.UNSUBSCRIBED),
    "group_unsubscribe": (EventKind.ENGAGEMENT, DeliveryStatus.UNSUBSCRIBED),
    "group_resubscribe": (EventKind.ENGAGEMENT, None),
}


class SendGridConnector(HttpConnector):
    """
    Sends email through SendGrid's v3 Mail Send API and reads its signed Event Webhook.

    What it sends: the text and HTML parts (text first, as SendGrid requires); media as links
    appended to both, not attachments; a rendition's template as a dynamic `template_id`
    whose `dynamic_template_data` is the rendition's `data` (named values: positional
    template parameters are refused).

    Results: `202` accepted, with `X-Message-Id`; `429` transient and safe to retry (SendGrid
    refuses every request of the refresh period), waiting until `X-RateLimit-Reset`; `5xx`
    transient; `400`, `401`, `403` (including exhausted credits), `413` (over 30 MB) refused,
    with SendGrid's `errors[].field` and `message`.

    Args:
        api_key: The SendGrid API key (with the Mail Send permission).
        sender: The `From` address (`shop@example.com` or `Shop <shop@example.com>`) of
            renditions that name none; SendGrid takes only verified senders.
        public_key: The Event Webhook's verification key, as SendGrid's console shows it
            (base64 of the DER key) or in PEM. Needed by `verify()`, which refuses every
            request without it.
        tolerance: How far a webhook's signed timestamp may be from now.
        base_url: Where the API is: `https://api.sendgrid.com`, or
            `https://api.eu.sendgrid.com` for EU regional subusers.
        timeout: Seconds to wait for SendGrid, per call.
        client: An `httpx.Client` to send with (kept open when the connector closes).
        async_client: The same for `asend()`.

    Raises:
        ValidationError: For an empty key, a sender that is not an address, or a public key
            that is not an ECDSA P-256 key.
        ConnectorError: For a public key without the `cryptography` package installed.

    Added in version 0.1.0.
    """

    name: str = "sendgrid"
    channel: str = "email"
    capabilities: Capabilities = Capabilities(
        rich_content=True,
        attachments=True,
        echoes_correlation_id=True,
        max_batch=MAX_PERSONALIZATIONS,
    )
    default_base_url: ClassVar[str] = "https://api.sendgrid.com"

    def __init__(
        self,
        api_key: str | Secret,
        *,
        sender: str | None = None,
        public_key: str | None = None,
        tolerance: dt.timedelta = dt.timedelta(minutes=5),
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, timeout=timeout, client=client, async_client=async_client
        )
        self._api_key = Secret(api_key)
        if not self._api_key.reveal().strip():
            raise ValidationError("api_key: the SendGrid API key is empty")
        check_header("api_key", self._api_key.reveal())
        self.sender = mailbox("sender", sender) if sender is not None else None
        self._public_key = _load_key(public_key) if public_key is not None else None
        self.tolerance = tolerance
        self._replays = ReplayGuard(tolerance * 2)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SendGridConnector:
        """
        A connector from `sendgrid://apikey:KEY@?from=shop@example.com&public_key=...`.

        The API key goes where a password goes (the user name is ignored; SendGrid's own
        convention is `apikey`), so that it never shows. A host picks the API's region
        (`sendgrid://apikey:KEY@api.eu.sendgrid.com`). Options: `from`, `public_key` (URL-encode
        its `+`, `/` and `=`; a `+` read as a space is put back) and `timeout`. Keyword
        *options* win over the URL's.

        Raises:
            ValidationError: Without a key, or with an option it does not know.

        Added in version 0.1.0.
        """
        parsed = ConnectorURL(url)
        if parsed.password is None:
            raise ValidationError(
                "url: the API key goes in the password place: sendgrid://apikey:KEY@?from=..."
            )
        unknown = sorted(set(parsed.options) - _URL_OPTIONS)
        if unknown:
            raise ValidationError(f"url: unknown option(s) {', '.join(unknown)}")
        settings: dict[str, Any] = {"sender": parsed.option("from")}
        key = parsed.option("public_key")
        if key is not None:
            settings["public_key"] = key.replace(" ", "+")
        if parsed.host is not None:
            port = f":{parsed.port}" if parsed.port is not None else ""
            settings["base_url"] = f"https://{parsed.host}{port}"
        if "timeout" in parsed.options:
            settings["timeout"] = _seconds(parsed.options["timeout"])
        return cls(parsed.password, **{**settings, **options})

    # -- sending ---------------------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The mail send request for one envelope."""
        content = self._content(envelope.rendition)
        return self._call([_personalization(envelope)], content)

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:
        """`202` is accepted with SendGrid's `X-Message-Id`; the rest by `classify()`."""
        if 200 <= answer.status < 300:
            message_id = answer.headers.get("x-message-id") or envelope.id
            return Accepted(provider_message_id=message_id, status="queued")
        return self.classify(answer, reason=_errors(answer))

    def send_batch(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        """
        Send *envelopes* in as few requests as SendGrid's limits allow; one result each.

        Envelopes whose content is the same (sender, subject, parts, template and its data,
        media) go in one request, one personalization per recipient carrying its own
        delivery id, at most `MAX_PERSONALIZATIONS` a request and each address once in a
        request. The results come in the order of *envelopes*; the envelopes of one request
        share its result (and its `X-Message-Id`). Requests go one after another, each once.

        Raises:
            ValidationError: If any envelope is invalid, naming its position
                (`envelopes[3].to: ...`); then nothing is sent.
            ConnectorError: If the connector is closed.

        Added in version 0.1.0.
        """
        results: list[SendResult | None] = [None] * len(envelopes)
        for indices, call in self._plan(envelopes):
            try:
                answer = self._answer(self._sync_client().request(**self._httpx(call)))
                result = self.interpret(envelopes[indices[0]], answer)
            except httpx.TransportError as exc:
                result = _failure(call, exc)
            for index in indices:
                results[index] = result
        return _complete(results)

    async def asend_batch(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        """
        As `send_batch()`, over `httpx.AsyncClient`.

        Added in version 0.1.0.
        """
        results: list[SendResult | None] = [None] * len(envelopes)
        for indices, call in self._plan(envelopes):
            try:
                response = await self._async_client_().request(**self._httpx(call))
                result = self.interpret(envelopes[indices[0]], self._answer(response))
            except httpx.TransportError as exc:
                result = _failure(call, exc)
            for index in indices:
                results[index] = result
        return _complete(results)

    def _plan(self, envelopes: Sequence[Envelope]) -> list[tuple[list[int], HttpCall]]:
        """The requests for *envelopes*: which envelopes each carries, and the call."""
        groups: dict[str, tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]] = {}
        for index, envelope in enumerate(envelopes):
            try:
                self._check(envelope)
                content = self._content(envelope.rendition)
                personalization = _personalization(envelope)
            except ValidationError as exc:
                raise exc.with_prefix(f"envelopes[{index}]") from None
            key = json.dumps(
                [content, personalization.get("dynamic_template_data")], sort_keys=True
            )
            groups.setdefault(key, (content, []))[1].append((index, personalization))
        plan = []
        for content, members in groups.values():
            for chunk in _chunks(members):
                call = self._call([item for _, item in chunk], content)
                plan.append(([index for index, _ in chunk], call))
        return plan

    def _content(self, rendition: Rendition) -> dict[str, Any]:
        """What a request says besides its recipients: sender, subject, parts or template."""
        sender = mailbox("sender", rendition.sender) if rendition.sender else self.sender
        if sender is None:
            raise ValidationError(
                "sender: no From address (give the rendition or the connector one)"
            )
        body: dict[str, Any] = {"from": _address(sender)}
        if rendition.subject:
            body["subject"] = check_header("subject", rendition.subject)
        if rendition.template is not None:
            if rendition.template.parameters:
                raise ValidationError(
                    "template.parameters: SendGrid's dynamic templates take named values; "
                    "give them as the rendition's data"
                )
            body["template_id"] = check_header("template", rendition.template.name)
            return body
        if not rendition.subject:
            raise ValidationError("subject: SendGrid needs a subject unless a template has one")
        text, markup = with_links(rendition)
        parts = [{"type": "text/plain", "value": text}] if text or markup is None else []
        if markup is not None:
            parts.append({"type": "text/html", "value": markup})
        body["content"] = parts
        return body

    def _call(self, personalizations: list[dict[str, Any]], content: dict[str, Any]) -> HttpCall:
        return HttpCall.json(
            "POST",
            _PATH,
            {"personalizations": personalizations, **content},
            headers={"Authorization": f"Bearer {self._api_key.reveal()}"},
        )

    # -- the event webhook -----------------------------------------------------------------------

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check SendGrid's ECDSA P-256 signature over the timestamp and the raw body.

        The timestamp must be within `tolerance` of *now*; a request verified before (the
        same timestamp and body, whatever the encoding of its signature) is refused as a
        replay.

        Raises:
            SignatureError: Naming the header and the check that failed, or saying that the
                connector has no public key.

        Added in version 0.1.0.
        """
        if self._public_key is None:
            raise SignatureError("public_key: this connector has no Event Webhook verification key")
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        stamp = request.headers.get(TIMESTAMP_HEADER)
        check_fresh(stamp, now=now, tolerance=self.tolerance, header=TIMESTAMP_HEADER)
        signed = (stamp or "").encode() + request.body
        if not _valid(self._public_key, b64decode(signature, what=SIGNATURE_HEADER), signed):
            raise SignatureError(f"{SIGNATURE_HEADER}: does not match the timestamp and body")
        self._replays.check(hashlib.sha256(signed).digest(), now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        Every event of a verified Event Webhook request, in order.

        | SendGrid event | kind | status | code |
        |---|---|---|---|
        | `processed` | status | `sent` | |
        | `deferred` | status | `sent` (SendGrid retries) | `deferred` |
        | `delivered` | status | `delivered` | |
        | `dropped` | status | `failed` | `dropped` |
        | `bounce` | status | `bounced` | the SMTP status (`5.1.1`), else `bounce` |
        | `bounce` of type `blocked` | status | `undelivered` | the SMTP status, else `blocked` |
        | `open`, `click` | engagement | `opened`, `clicked` | |
        | `spamreport` | engagement | `complained` | |
        | `unsubscribe`, `group_unsubscribe` | engagement | `unsubscribed` | |
        | `group_resubscribe` | engagement | none | `group_resubscribe` |
        | any other | status | none | the event |

        A code and a reason come with failures and deferrals only (the reason is SendGrid's
        `reason`, or the receiving server's `response`); an event that moves no status is
        named by its code.

        `event_id` is `sg_event_id` (a digest of the message id, event, time and address
        when absent); `delivery_id` is our `custom_args` id; `provider_message_id` is the
        `X-Message-Id` that `sg_message_id` starts with; `timestamp` is SendGrid's, in ISO
        8601; `raw` is the event as SendGrid sent it (a click's `url`, an open's `useragent`).

        Raises:
            ValidationError: If the body is not a JSON array of events.

        Added in version 0.1.0.
        """
        try:
            items = json.loads(request.body)
        except ValueError:
            raise ValidationError(
                "body: not JSON; SendGrid's Event Webhook posts a JSON array of events"
            ) from None
        if not isinstance(items, list):
            raise ValidationError("body: SendGrid's Event Webhook posts a JSON array of events")
        return [_event(index, item) for index, item in enumerate(items)]


def _personalization(envelope: Envelope) -> dict[str, Any]:
    recipient = mailbox("to", envelope.rendition.to)
    if any(mark in recipient.name for mark in ";,"):
        raise ValidationError("to: SendGrid takes no ';' or ',' in a recipient's name")
    item: dict[str, Any] = {
        "to": [_address(recipient)],
        "custom_args": {DELIVERY_ARG: envelope.id},
    }
    if envelope.rendition.template is not None and envelope.rendition.data:
        item["dynamic_template_data"] = dict(envelope.rendition.data)
    return item


def _address(box: Mailbox) -> dict[str, str]:
    return {"email": box.address, "name": box.name} if box.name else {"email": box.address}


def _chunks(
    members: list[tuple[int, dict[str, Any]]],
) -> list[list[tuple[int, dict[str, Any]]]]:
    """*members* in requests of at most 1000, no address twice in one (SendGrid refuses it)."""
    chunks: list[tuple[list[tuple[int, dict[str, Any]]], set[str]]] = []
    for member in members:
        address = member[1]["to"][0]["email"].lower()
        for chunk, seen in chunks:
            if len(chunk) < MAX_PERSONALIZATIONS and address not in seen:
                chunk.append(member)
                seen.add(address)
                break
        else:
            chunks.append(([member], {address}))
    return [chunk for chunk, _ in chunks]


def _complete(results: list[SendResult | None]) -> list[SendResult]:
    done = [result for result in results if result is not None]
    if len(done) != len(results):
        raise ConnectorError("sendgrid: a batch envelope was left without a result")
    return done


def _errors(answer: HttpAnswer) -> str:
    """SendGrid's `errors[]` as `field: message; ...`, or a short account of the answer."""
    body = answer.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        shown = []
        for error in errors:
            if isinstance(error, dict):
                field, message = error.get("field"), error.get("message")
                shown.append(f"{field}: {message}" if field else str(message))
        return "; ".join(shown)
    if answer.status == 413:
        return "payload too large (SendGrid takes less than 30 MB a message)"
    text = " ".join(answer.text.split())
    return f"HTTP {answer.status}" + (f": {text[:200]}" if text else "")


def _event(index: int, item: object) -> ProviderEvent:
    if not isinstance(item, dict) or not isinstance(item.get("event"), str):
        raise ValidationError(f"body.{index}: an event is an object with an 'event' name")
    name: str = item["event"]
    kind_of = "blocked" if name == "bounce" and item.get("type") == "blocked" else name
    kind, status = _EVENTS.get(kind_of, (EventKind.STATUS, None))
    code, reason = _failure_of(kind_of, status, item)
    message_id = _text(item.get("sg_message_id"))
    delivery_id = item.get(DELIVERY_ARG)
    return ProviderEvent(
        kind=kind,
        event_id=_text(item.get("sg_event_id")) or _digest(item),
        status=status,
        delivery_id=delivery_id if isinstance(delivery_id, str) else None,
        provider_message_id=message_id.split(".", 1)[0] if message_id else None,
        address=_text(item.get("email")),
        code=code,
        reason=reason,
        timestamp=_iso(item.get("timestamp")),
        raw=item,
    )


_FAILURES = frozenset({"dropped", "bounce", "blocked", "deferred"})


def _failure_of(
    name: str, status: DeliveryStatus | None, item: dict[str, Any]
) -> tuple[str | None, str | None]:
    """
    An event's code and reason: the SMTP status and text of a failure or deferral.

    Events that went well carry neither (their `response` stays in `raw`); one that moves no
    status (a resubscribe, an event type SendGrid adds later) is named by its code.
    """
    if name in _FAILURES:
        code = _text(item.get("status")) if name in {"bounce", "blocked"} else None
        return code or name, _text(item.get("reason")) or _text(item.get("response"))
    return (name if status is None else None), None


def _text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _iso(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def _digest(item: dict[str, Any]) -> str:
    parts = [str(item.get(key, "")) for key in ("sg_message_id", "event", "timestamp", "email")]
    return "sg-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: option timeout is {value!r}; expected seconds") from None


def _load_key(value: str) -> EllipticCurvePublicKey:
    """SendGrid's verification key, from base64 DER (as its console shows it) or PEM."""
    try:
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415 - an extra
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
            load_der_public_key,
            load_pem_public_key,
        )
    except ImportError:
        raise ConnectorError(
            "public_key: verifying SendGrid's signed Event Webhook needs the cryptography "
            "package: pip install 'omnikit[sendgrid]'"
        ) from None
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
        else:
            key = load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise ValidationError(
            "public_key: not a public key (base64 DER as SendGrid shows it, or PEM)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValidationError("public_key: SendGrid signs with an ECDSA P-256 key; this is not one")
    return key


def _valid(key: EllipticCurvePublicKey, signature: bytes, signed: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - loaded with the key
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    try:
        key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
