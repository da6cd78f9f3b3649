"""
SMS, MMS and WhatsApp over Twilio's Messages API, and the webhooks Twilio sends back.

```python
sms = TwilioConnector(
    account_sid="AC...",
    auth_token="...",
    sender="+15550100",
    status_callback="https://shop.example/hooks/twilio",
)
# the same, as a URL:
sms = connect("twilio://AC...:TOKEN@/+15550100?status_callback=https://shop.example/hooks/twilio")
whatsapp = connect("twilio+whatsapp://AC...:TOKEN@/+15550100")
```

Each send is one form-encoded `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`. Twilio
echoes nothing of ours back except the status callback URL, so our delivery id rides in that
URL's query string (`omnikit_delivery=...`), and `parse()` reads it from the URL Twilio called.

Twilio signs every webhook with the account's auth token: `X-Twilio-Signature` is the base64
HMAC-SHA1 of the full URL followed by the form parameters, sorted by name; a JSON body is
signed through its SHA-256, which the URL then carries as `bodySHA256`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
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
    TemplateRef,
    Transient,
    Unknown,
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector, retry_after
from omnikit.connectors.signing import ReplayGuard, equal, hmac_digest
from omnikit.errors import ConnectorError, SignatureError, ValidationError

__all__ = ["DELIVERY_PARAMETER", "SIGNATURE_HEADER", "TwilioConnector", "signature"]

SIGNATURE_HEADER = "X-Twilio-Signature"
"""The header in which Twilio signs its webhook requests."""

DELIVERY_PARAMETER = "omnikit_delivery"
"""The status callback URL's query parameter that carries our delivery id to Twilio and back."""

MAX_WEBHOOK_BYTES = 1024 * 1024
"""The largest webhook body `parse()` reads; Twilio's are a few kilobytes."""

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_MEDIA = 10
_WHATSAPP = "whatsapp:"

_RATE_LIMITED = frozenset({"20429"})
"""Codes Twilio documents as never processed: a retry cannot duplicate the message."""

_KNOWN_CODES = {
    "20003": "authentication failed: check the account SID and the auth token or API key",
    "21211": "the 'To' number is not a valid phone number",
    "21408": "sending to this region is not enabled on the account",
    "21606": "the 'From' number is not one of the account's message-capable numbers",
    "21610": "the recipient replied STOP: they are unsubscribed from this sender",
    "21614": "the 'To' number is not a mobile number",
    "21617": "the body is longer than 1600 characters",
    "63016": "outside WhatsApp's 24-hour window: send an approved template (ContentSid)",
}
"""What some of Twilio's codes mean, for an error answer that carries no message of its own."""

_STATUSES = {
    # Twilio has the message: what omnikit calls sent (a provider accepted it).
    "accepted": DeliveryStatus.SENT,
    "scheduled": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "partially_delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "read": DeliveryStatus.READ,
}
"""Twilio's statuses of an outbound message, as omnikit's."""

_NOTES = {
    "partially_delivered": "partially delivered: Twilio delivered part of the message",
    "canceled": "canceled: the scheduled message was canceled before it went out",
}

_INBOUND = frozenset({"receiving", "received"})
"""The statuses of a message a customer sent us."""


def signature(
    auth_token: str | Secret,
    url: str,
    params: Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]] = (),
) -> str:
    """
    The `X-Twilio-Signature` Twilio sends with a request to *url* carrying form *params*.

    The base64 HMAC-SHA1, under *auth_token*, of *url* followed by each parameter's name and
    value, sorted by name and then by value (a value repeated under one name counts once). A
    GET request, or a JSON body (whose SHA-256 the URL carries as `bodySHA256`), has no params.

    ```python
    signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", {"Digits": "1234"})
    ```

    Added in version 0.1.0.
    """
    token = auth_token.reveal() if isinstance(auth_token, Secret) else auth_token
    values: dict[str, set[str]] = {}
    pairs = params.items() if isinstance(params, Mapping) else params
    for name, value in pairs:
        given = [value] if isinstance(value, str) else list(value)
        values.setdefault(name, set()).update(given)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    return base64.b64encode(hmac_digest(token, signed, "sha1")).decode()


class TwilioConnector(HttpConnector):
    """
    SMS and MMS, or WhatsApp, through Twilio's Messages API; Twilio's webhooks verified and parsed.

    Args:
        account_sid: The account's SID (`AC...`); the API path names it.
        auth_token: The account's auth token: it authenticates sends (unless an API key is
            given) and is the key Twilio signs webhooks with, so `verify()` needs it.
        api_key: An API key's SID (`SK...`), to authenticate sends with instead.
        api_secret: That API key's secret.
        sender: The `From` of each message: an E.164 number, a short code or an alphanumeric
            sender id (a rendition's own `sender` takes precedence).
        messaging_service_sid: A Messaging Service (`MG...`) to send through when no sender
            is given; Twilio then picks the number.
        status_callback: The public URL Twilio posts status changes to. Each send adds our
            delivery id to its query string, so receipts find their message.
        whatsapp: Serve the `"whatsapp"` channel: addresses get Twilio's `whatsapp:` prefix.
        name: The name deliveries show, unique within a hub: `"twilio"`, or
            `"twilio+whatsapp"` for WhatsApp, by default.
        replay_window: How long `verify()` remembers a signature to refuse it again.
        base_url: Where Twilio's API is (tests point it at a fake).
        timeout: Seconds to wait for Twilio.
        client: An `httpx.Client` to send with, owned by the host.
        async_client: An `httpx.AsyncClient` for `asend()`, owned by the host.

    Raises:
        ValidationError: Naming each setting that is missing or malformed.

    Added in version 0.1.0.
    """

    name = "twilio"
    default_base_url = "https://api.twilio.com"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str | Secret | None = None,
        api_key: str | None = None,
        api_secret: str | Secret | None = None,
        sender: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        whatsapp: bool = False,
        name: str | None = None,
        replay_window: dt.timedelta = dt.timedelta(days=1),
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, timeout=timeout, client=client, async_client=async_client
        )
        self.whatsapp = bool(whatsapp)
        self.channel = "whatsapp" if self.whatsapp else "sms"
        self.name = name or ("twilio+whatsapp" if self.whatsapp else "twilio")
        self.account_sid = account_sid
        self._auth_token = Secret(auth_token) if auth_token is not None else None
        self.api_key = api_key
        self._api_secret = Secret(api_secret) if api_secret is not None else None
        self.sender = sender
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self._check_settings()
        self.capabilities = Capabilities(
            max_length=1600, attachments=True, echoes_correlation_id=status_callback is not None
        )
        self._replays = ReplayGuard(replay_window)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> TwilioConnector:
        """
        A connector from `twilio://ACCOUNT_SID:AUTH_TOKEN@/SENDER?option=value`.

        `twilio+whatsapp://` serves WhatsApp. With an API key, the user is the key's SID, the
        password its secret, and `account_sid` (and `auth_token`, to verify webhooks) are
        options. Other options: `messaging_service_sid`, `status_callback` (URL-encoded),
        `base_url`, `timeout`. A sender's `+` goes in the path as it is.

        Raises:
            ValidationError: If the URL lacks credentials or has an option not listed here.

        Added in version 0.1.0.
        """
        parsed = ConnectorURL(url)
        if parsed.scheme not in {"twilio", "twilio+whatsapp"}:
            raise ValidationError(f"url: {parsed.scheme}:// is not twilio:// or twilio+whatsapp://")
        if not parsed.user or parsed.password is None:
            raise ValidationError(
                "url: give the account SID and auth token as twilio://AC...:TOKEN@/+15550100"
            )
        known = {"account_sid", "auth_token", "messaging_service_sid", "status_callback"}
        unknown = sorted(set(parsed.options) - known - {"base_url", "timeout"})
        if unknown:
            raise ValidationError([f"url: unknown option {name!r}" for name in unknown])
        settings: dict[str, Any] = {key: parsed.options[key] for key in known & set(parsed.options)}
        if parsed.user.startswith("SK"):
            if "account_sid" not in settings:
                raise ValidationError(
                    "url: with an API key, give the account as ?account_sid=AC..."
                )
            settings.update(api_key=parsed.user, api_secret=parsed.password)
        else:
            settings.update(account_sid=parsed.user, auth_token=parsed.password)
        if "auth_token" in settings:
            settings["auth_token"] = Secret(settings["auth_token"])
        settings["sender"] = parsed.path or parsed.host or None
        settings["whatsapp"] = parsed.scheme == "twilio+whatsapp"
        if "base_url" in parsed.options:
            settings["base_url"] = parsed.options["base_url"]
        if "timeout" in parsed.options:
            settings["timeout"] = _number("timeout", parsed.options["timeout"])
        return cls(**{**settings, **options})

    # -- sending ---------------------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The form-encoded `POST .../Messages.json` that hands *envelope* to Twilio."""
        user, secret = (
            (self.api_key, self._api_secret)
            if self.api_key is not None and self._api_secret is not None
            else (self.account_sid, self._auth_token)
        )
        basic = base64.b64encode(f"{user}:{secret.reveal() if secret else ''}".encode()).decode()
        return HttpCall.form(
            "POST",
            f"/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            self._fields(envelope),
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        """
        Twilio's answer as a result: its message SID, or its error code and message.

        429 or code 20429 is transient and safe to retry (Twilio documents such requests as
        never processed); a 5xx is transient but not safe (Twilio may have the message); any
        other error (21211 invalid number, 21610 unsubscribed, 20003 authentication, ...) is
        refused, with Twilio's code and message.
        """
        body = answer.json()
        if 200 <= answer.status < 300:
            sid = body.get("sid") if isinstance(body, dict) else None
            if isinstance(sid, str) and sid:
                return Accepted(provider_message_id=sid, status=str(body.get("status") or "queued"))
            return Unknown(reason=f"Twilio answered {answer.status} without a message SID")
        code, message = _error(body)
        shown = code or str(answer.status)
        reason = message or _KNOWN_CODES.get(shown) or _snippet(answer.text) or "no explanation"
        wait = retry_after(answer.headers)
        if answer.status == 429 or shown in _RATE_LIMITED:
            return Transient(code=shown, reason=reason, retry_after=wait, safe_to_retry=True)
        if answer.status >= 500 or answer.status == 408:
            return Transient(code=shown, reason=reason, retry_after=wait)
        return Refused(code=shown, reason=reason)

    def _fields(self, envelope: Envelope) -> list[tuple[str, str | int | float | bool | None]]:
        rendition = envelope.rendition
        fields: list[tuple[str, str | int | float | bool | None]] = [
            ("To", self._address("to", rendition.to))
        ]
        sender = rendition.sender or self.sender
        if sender is not None:
            fields.append(("From", self._address("sender", sender, sending=True)))
        elif self.messaging_service_sid is not None:
            fields.append(("MessagingServiceSid", self.messaging_service_sid))
        if rendition.template is not None:
            fields.extend(_content(rendition.template))
        elif rendition.text:
            fields.append(("Body", rendition.text))
        fields.extend(("MediaUrl", url) for url in _media(rendition.media))
        if self.status_callback is not None:
            fields.append(("StatusCallback", self._callback(envelope.id)))
        return fields

    def _address(self, field: str, value: str, *, sending: bool = False) -> str:
        if _CONTROL.search(value):
            raise ValidationError(f"{field}: contains a line break or another control character")
        bare = value.removeprefix(_WHATSAPP) if self.whatsapp else value
        if _E164.fullmatch(bare):
            return _WHATSAPP + bare if self.whatsapp else bare
        if sending and not self.whatsapp and _SHORT_CODE.fullmatch(bare):
            return bare
        if sending and not self.whatsapp and _ALPHANUMERIC.fullmatch(bare):
            return bare
        expected = (
            "an E.164 number, a short code or an alphanumeric sender id"
            if sending and not self.whatsapp
            else "an E.164 phone number (+ and up to 15 digits)"
        )
        raise ValidationError(f"{field}: {value!r:.40} is not {expected}")

    def _callback(self, delivery_id: str) -> str:
        parts = urllib.parse.urlsplit(self.status_callback or "")
        ours = urllib.parse.urlencode({DELIVERY_PARAMETER: delivery_id})
        query = f"{parts.query}&{ours}" if parts.query else ours
        return urllib.parse.urlunsplit(parts._replace(query=query))

    def _check_settings(self) -> None:
        errors = []
        if not _ACCOUNT_SID.fullmatch(str(self.account_sid)):
            errors.append("account_sid: not an account SID ('AC' and 32 hexadecimal digits)")
        if self.api_key is not None or self._api_secret is not None:
            if self.api_key is None or not _KEY_SID.fullmatch(self.api_key):
                errors.append("api_key: not an API key SID ('SK' and 32 hexadecimal digits)")
            if not self._api_secret:
                errors.append("api_secret: required with api_key")
        elif not self._auth_token:
            errors.append("auth_token: required (or api_key and api_secret)")
        if self.sender is None and self.messaging_service_sid is None:
            errors.append("sender: required (or messaging_service_sid)")
        if self.sender is not None:
            try:
                self._address("sender", self.sender, sending=True)
            except ValidationError as exc:
                errors.extend(exc.errors)
        service = self.messaging_service_sid
        if service is not None and not _SERVICE_SID.fullmatch(service):
            errors.append("messaging_service_sid: not a Messaging Service SID ('MG' and 32 hex)")
        if self.status_callback is not None:
            errors.extend(_callback_errors(self.status_callback))
        if errors:
            raise ValidationError(errors)

    # -- webhooks --------------------------------------------------------------------------------

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check `X-Twilio-Signature` over *request*'s public URL and its parameters.

        The URL is checked as given, with its default port added, and with its port removed,
        since Twilio signs one or the other. A form body's parameters are signed; a JSON body
        is signed through the `bodySHA256` the URL must carry, checked against the raw bytes.
        A signature verified before, within the replay window, is refused.

        Raises:
            SignatureError: If the signature is missing or does not match, `bodySHA256` does
                not match the body (or a JSON body comes without it), or it is a replay.
            ConnectorError: If the connector has no auth token to check with.

        Added in version 0.1.0.
        """
        if not self._auth_token:
            raise ConnectorError(
                "auth_token: Twilio signs webhooks with the account's auth token; "
                "configure it to verify them"
            )
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        params = _signed_params(request)
        matched = False
        for url in _url_variants(request.url):
            matched |= equal(given, signature(self._auth_token, url, params))
        if not matched:
            raise SignatureError(
                f"{SIGNATURE_HEADER}: does not match the URL and parameters "
                "(is the URL the public one Twilio called, with its query string?)"
            )
        self._replays.check(given, now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        The event a verified webhook carries: a status callback, or a customer's message.

        A status callback (`MessageStatus`) becomes a status event (`read` an engagement
        event) whose `delivery_id` is the one the callback URL carries; an incoming message
        (`received`, `receiving`) an inbound event with its `Body` and sender, and its media
        (`NumMedia`, `MediaUrl0`, ...) in `raw`. Twilio sends no event id, so `event_id` is a
        digest of the message SID, the status and the carrier's timestamp if there is one (a
        customer's message has one id, whether Twilio calls it `receiving` or `received`).

        Raises:
            ValidationError: If the body is not a Twilio messaging webhook.

        Added in version 0.1.0.
        """
        if len(request.body) > MAX_WEBHOOK_BYTES:
            raise ValidationError(
                f"body: {len(request.body)} bytes; a Twilio webhook is at most {MAX_WEBHOOK_BYTES}"
            )
        params = _received_params(request)
        first = {name: values[0] for name, values in params.items()}
        sid = first.get("MessageSid") or first.get("SmsSid")
        status = (first.get("MessageStatus") or first.get("SmsStatus") or "").lower()
        if not sid:
            raise ValidationError("body: MessageSid is missing; not a Twilio messaging webhook")
        if not status:
            raise ValidationError("body: MessageStatus is missing; not a Twilio messaging webhook")
        media = first.get("NumMedia")
        if media is not None and not media.isdigit():
            raise ValidationError(f"NumMedia: {media!r:.20} is not a number")
        raw = {name: values[0] if len(values) == 1 else values for name, values in params.items()}
        return [_event(first, sid, status, _delivery_id(request.url), raw)]


# -- sending helpers -----------------------------------------------------------------------------


def _content(template: TemplateRef) -> list[tuple[str, str]]:
    if not _CONTENT_SID.fullmatch(template.name):
        raise ValidationError(
            f"template.name: {template.name!r:.40} is not a Twilio Content SID ('HX' and 32 hex)"
        )
    fields = [("ContentSid", template.name)]
    if template.parameters:
        variables = {str(index): value for index, value in enumerate(template.parameters, 1)}
        fields.append(("ContentVariables", json.dumps(variables, ensure_ascii=False)))
    return fields


def _media(urls: Sequence[str]) -> list[str]:
    if len(urls) > _MAX_MEDIA:
        raise ValidationError(f"media: {len(urls)} URLs; Twilio takes at most {_MAX_MEDIA}")
    for index, url in enumerate(urls):
        if _CONTROL.search(url) or not url.startswith(("https://", "http://")):
            raise ValidationError(f"media[{index}]: {url!r:.60} is not an http(s) URL")
    return list(urls)


def _callback_errors(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    if _CONTROL.search(url) or " " in url or parts.scheme not in {"http", "https"}:
        return [f"status_callback: {url!r:.60} is not an http(s) URL"]
    if not parts.hostname or "_" in parts.hostname:
        return ["status_callback: needs a host name, without underscores (Twilio refuses them)"]
    if DELIVERY_PARAMETER in urllib.parse.parse_qs(parts.query):
        return [f"status_callback: {DELIVERY_PARAMETER!r} is ours; each send adds it"]
    return []


def _error(body: object) -> tuple[str | None, str | None]:
    """Twilio's error code and message, from its legacy or its RFC 9457 error body."""
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = body.get("message") or body.get("detail") or body.get("title")
    shown = str(code) if isinstance(code, int | str) and str(code) else None
    return shown, str(message) if message else None


def _number(field: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: option {field}={value!r:.20} is not a number") from None


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- webhook helpers -----------------------------------------------------------------------------


def _url_variants(url: str) -> list[str]:
    """*url* with its default port added and with its port removed, as Twilio signs either."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    found = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::([0-9]*))?", hostport)
    if found is None or parts.scheme not in {"http", "https"}:
        return [url]
    host, port = found.group(1), found.group(2)
    default = "443" if parts.scheme == "https" else "80"
    without = urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))
    with_port = urllib.parse.urlunsplit(
        parts._replace(netloc=f"{userinfo}{at}{host}:{port or default}")
    )
    return list(dict.fromkeys([url, with_port, without]))


def _is_form(request: InboundRequest) -> bool:
    kind = request.headers.get("Content-Type", "application/x-www-form-urlencoded")
    return kind.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def _signed_params(request: InboundRequest) -> list[tuple[str, str]]:
    """The parameters Twilio signed: the form's, or none (GET, or a body signed by its hash)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    hashes = query.get("bodySHA256")
    if hashes is not None:
        digest = hashlib.sha256(request.body).hexdigest()
        if len(hashes) != 1 or not equal(hashes[0].lower(), digest):
            raise SignatureError(
                f"{SIGNATURE_HEADER}: bodySHA256 in the URL does not match the body"
            )
        return []
    if request.method == "GET" or not request.body:
        return []
    if not _is_form(request):
        raise SignatureError(
            f"{SIGNATURE_HEADER}: a body that is not a form is signed through bodySHA256 "
            "in the URL, which is missing"
        )
    try:
        return urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise SignatureError(f"{SIGNATURE_HEADER}: the form body is not UTF-8") from None


def _received_params(request: InboundRequest) -> dict[str, list[str]]:
    """The webhook's parameters: from the query of a GET, a JSON object, or a form body."""
    if request.method == "GET":
        text = urllib.parse.urlsplit(request.url).query
        return urllib.parse.parse_qs(text, keep_blank_values=True)
    try:
        text = request.body.decode()
    except UnicodeDecodeError:
        raise ValidationError("body: not UTF-8; not a Twilio webhook") from None
    if _is_form(request):
        return urllib.parse.parse_qs(text, keep_blank_values=True)
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError("body: neither a form nor JSON; not a Twilio webhook") from None
    if not isinstance(payload, dict):
        raise ValidationError("body: the JSON is not an object; not a Twilio webhook")
    return {
        str(name): [value if isinstance(value, str) else json.dumps(value)]
        for name, value in payload.items()
    }


def _delivery_id(url: str) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(DELIVERY_PARAMETER)
    if values and _DELIVERY_ID.fullmatch(values[0]):
        return values[0]
    return None


def _bare(address: str | None) -> str | None:
    """An address without Twilio's channel prefix: the customer's phone number."""
    return address.removeprefix(_WHATSAPP) if address else None


def _carrier_time(value: str | None) -> str | None:
    """`RawDlrDoneDate` (`YYMMDDhhmm`, the carrier's) as ISO 8601, if it is one."""
    if not value or not re.fullmatch(r"[0-9]{10}", value):
        return None
    try:
        moment = dt.datetime.strptime(value, "%y%m%d%H%M")  # noqa: DTZ007 - the carrier's zone, unstated
    except ValueError:
        return None
    return moment.isoformat()


def _event(
    first: Mapping[str, str],
    sid: str,
    status: str,
    delivery_id: str | None,
    raw: Mapping[str, object],
) -> ProviderEvent:
    stamp = first.get("RawDlrDoneDate") or ""
    said = "inbound" if status in _INBOUND else status  # a customer's message counts once
    event_id = hashlib.sha256(f"{sid}\n{said}\n{stamp}".encode()).hexdigest()[:40]
    common: dict[str, Any] = {
        "event_id": f"twilio:{event_id}",
        "provider_message_id": sid,
        "timestamp": _carrier_time(stamp),
        "raw": raw,
    }
    if status in _INBOUND:
        return ProviderEvent(
            kind=EventKind.INBOUND,
            address=_bare(first.get("From")),
            text=first.get("Body"),
            **common,
        )
    mapped = _STATUSES.get(status)
    reason = first.get("ErrorMessage") or _NOTES.get(status)
    if mapped is None:
        reason = f"Twilio status {status!r:.40} has no omnikit equivalent"
    return ProviderEvent(
        kind=EventKind.ENGAGEMENT if mapped is DeliveryStatus.READ else EventKind.STATUS,
        status=mapped,
        delivery_id=delivery_id,
        address=_bare(first.get("To")),
        code=first.get("ErrorCode") or None,
        reason=reason,
        **common,
    )
