"""
WhatsApp over Meta's Cloud API, and the webhooks Meta sends back.

```python
whatsapp = WhatsAppConnector(
    phone_number_id="106540352242922",
    access_token="EAAG...",
    app_secret="...",  # to verify webhooks
    verify_token="...",  # to answer Meta's subscription handshake
    language="en_US",  # templates' default language
)
# the same, as a URL:
whatsapp = connect("whatsapp://:EAAG...@106540352242922?app_secret=...&language=en_US")
```

Each send is one JSON `POST /{version}/{phone_number_id}/messages` with a bearer token: free
text, which WhatsApp takes only within 24 hours of the customer's last message, or an approved
template. Our delivery id rides as `biz_opaque_callback_data`, which Meta echoes in the
message's status webhooks.

Meta signs each webhook with the app secret: `X-Hub-Signature-256` is `sha256=` and the hex
HMAC-SHA256 of the raw body. When the webhook is set up, Meta first calls it with a GET to
check the verify token; `verify_subscription()` answers that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    TemplateRef,
    Transient,
    Unknown,
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors.http import HttpAnswer, HttpCall, HttpConnector, retry_after
from omnikit.connectors.signing import ReplayGuard, equal, hmac_digest
from omnikit.errors import ConnectorError, SignatureError, ValidationError

__all__ = ["SIGNATURE_HEADER", "WhatsAppConnector"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
"""The header in which Meta signs its webhook requests: `sha256=<hex>`."""

MAX_WEBHOOK_BYTES = 4 * 1024 * 1024
"""The largest webhook body `parse()` reads."""

THROTTLE_WAITS = {"4": 60.0, "80007": 60.0, "130429": 1.0, "131056": 6.0}
"""
Seconds to wait after each throttling code, when Meta's answer names no wait: 4 and 80007
(the app's and the business account's call limits), 130429 (the number's throughput, about
80 messages a second), 131056 (one message about every 6 seconds to the same customer).
"""

_WINDOW_CLOSED = "131047"
_UNAVAILABLE = frozenset({"1", "2", "131000", "131016"})
"""Codes for Meta's own trouble (unknown, service down, something went wrong)."""

_PHONE = re.compile(r"\+?[1-9][0-9]{4,14}")
_PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")
_VERSION = re.compile(r"v[0-9]{1,3}\.[0-9]{1,2}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
_CHALLENGE = re.compile(r"[A-Za-z0-9._-]{1,256}")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


class WhatsAppConnector(HttpConnector):
    """
    WhatsApp through Meta's Cloud API; Meta's webhooks verified and parsed.

    Args:
        phone_number_id: The business phone number's id (not the number itself).
        access_token: A system user's access token with `whatsapp_business_messaging`.
        app_secret: The app's secret, which Meta signs webhooks with; `verify()` needs it.
        verify_token: The token you gave Meta for the webhook subscription handshake.
        api_version: The Graph API version in the path.
        language: The language code of templates whose `TemplateRef` names none.
        preview_url: Let WhatsApp show a preview of the first link in free text.
        name: The name deliveries show, unique within a hub.
        replay_window: How long `verify()` remembers a signature to refuse it again.
        base_url: Where the Graph API is (tests point it at a fake).
        timeout: Seconds to wait for Meta.
        client: An `httpx.Client` to send with, owned by the host.
        async_client: An `httpx.AsyncClient` for `asend()`, owned by the host.

    Raises:
        ValidationError: Naming each setting that is missing or malformed.

    Added in version 0.1.0.
    """

    name = "whatsapp"
    channel = "whatsapp"
    capabilities = Capabilities(max_length=4096, echoes_correlation_id=True)
    default_base_url = "https://graph.facebook.com"

    def __init__(
        self,
        *,
        phone_number_id: str,
        access_token: str | Secret,
        app_secret: str | Secret | None = None,
        verify_token: str | Secret | None = None,
        api_version: str = "v21.0",
        language: str | None = None,
        preview_url: bool = False,
        name: str = "whatsapp",
        replay_window: dt.timedelta = dt.timedelta(days=1),
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, timeout=timeout, client=client, async_client=async_client
        )
        self.phone_number_id = str(phone_number_id)
        self._access_token = Secret(access_token)
        self._app_secret = Secret(app_secret) if app_secret is not None else None
        self._verify_token = Secret(verify_token) if verify_token is not None else None
        self.api_version = api_version
        self.language = language
        self.preview_url = bool(preview_url)
        self.name = name
        self._check_settings()
        self._replays = ReplayGuard(replay_window)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> WhatsAppConnector:
        """
        A connector from `whatsapp://:ACCESS_TOKEN@PHONE_NUMBER_ID?option=value`.

        Options: `app_secret`, `verify_token`, `api_version`, `language`, `preview_url`
        (`true`/`false`), `base_url`, `timeout`.

        Raises:
            ValidationError: If the URL lacks the token or the phone number id, or has an
                option not listed here.

        Added in version 0.1.0.
        """
        parsed = ConnectorURL(url)
        if parsed.scheme != "whatsapp":
            raise ValidationError(f"url: {parsed.scheme}:// is not whatsapp://")
        token = parsed.password or (Secret(parsed.user) if parsed.user else None)
        if token is None or not parsed.host:
            raise ValidationError(
                "url: give the access token and phone number id as whatsapp://:TOKEN@PHONE_NUMBER_ID"
            )
        known = {"app_secret", "verify_token", "api_version", "language", "base_url"}
        unknown = sorted(set(parsed.options) - known - {"preview_url", "timeout"})
        if unknown:
            raise ValidationError([f"url: unknown option {name!r}" for name in unknown])
        settings: dict[str, Any] = {key: parsed.options[key] for key in known & set(parsed.options)}
        for key in ("app_secret", "verify_token"):
            if key in settings:
                settings[key] = Secret(settings[key])
        if "preview_url" in parsed.options:
            settings["preview_url"] = _flag("preview_url", parsed.options["preview_url"])
        if "timeout" in parsed.options:
            settings["timeout"] = _number("timeout", parsed.options["timeout"])
        settings.update(phone_number_id=parsed.host, access_token=token)
        return cls(**{**settings, **options})

    # -- sending ---------------------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The JSON `POST /{version}/{phone_number_id}/messages` that hands *envelope* to Meta."""
        rendition = envelope.rendition
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": _recipient(rendition.to),
            "biz_opaque_callback_data": envelope.id,
        }
        if rendition.template is not None:
            body["type"] = "template"
            body["template"] = self._template(rendition.template)
        else:
            body["type"] = "text"
            body["text"] = {"body": rendition.text, "preview_url": self.preview_url}
        return HttpCall.json(
            "POST",
            f"/{self.api_version}/{self.phone_number_id}/messages",
            body,
            headers={"Authorization": f"Bearer {self._access_token.reveal()}"},
        )

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        """
        Meta's answer as a result: the message's `wamid`, or the Graph error by its code.

        Meta signals most errors with HTTP 400 and an `error.code`, so the code decides:
        throttling (4, 80007, 130429, 131056, or a 429) is transient and safe to retry, with
        the wait `THROTTLE_WAITS` gives when Meta names none; Meta's own trouble (a 5xx, codes
        1, 2, 131000, 131016) is transient but not safe; everything else is refused: 131047
        (no customer message in the last 24 hours: only a template goes), 131026 (the number
        cannot receive it), 100 (an invalid parameter), 190 (the access token), ...
        """
        body = answer.json()
        if 200 <= answer.status < 300:
            return _accepted(answer, body)
        code, reason = _graph_error(body)
        shown = code or str(answer.status)
        reason = reason or _snippet(answer.text) or f"HTTP {answer.status}"
        wait = retry_after(answer.headers)
        if shown in THROTTLE_WAITS or answer.status == 429:
            wait = wait if wait is not None else THROTTLE_WAITS.get(shown)
            return Transient(code=shown, reason=reason, retry_after=wait, safe_to_retry=True)
        if shown == _WINDOW_CLOSED:
            return Refused(
                code=shown,
                reason=f"{reason} (the customer has not written in the last 24 hours, so "
                "WhatsApp takes only an approved template: send a TemplateRef)",
            )
        if shown in _UNAVAILABLE or answer.status >= 500 or answer.status == 408:
            return Transient(code=shown, reason=reason, retry_after=wait)
        return Refused(code=shown, reason=reason)

    def _template(self, template: TemplateRef) -> dict[str, Any]:
        errors = []
        if not _TEMPLATE_NAME.fullmatch(template.name):
            errors.append(
                f"template.name: {template.name!r:.40} is not a WhatsApp template name "
                "(lower-case letters, digits and '_')"
            )
        language = template.language or self.language
        if language is None:
            errors.append(
                "template.language: WhatsApp needs the template's language code ('en_US'); "
                "give it on the TemplateRef or as the connector's language"
            )
        elif not _LANGUAGE.fullmatch(language):
            errors.append(f"template.language: {language!r:.20} is not a language code")
        for index, value in enumerate(template.parameters):
            errors.extend(_parameter_errors(index, value))
        if errors:
            raise ValidationError(errors)
        found: dict[str, Any] = {"name": template.name, "language": {"code": language}}
        if template.parameters:
            parameters = [{"type": "text", "text": value} for value in template.parameters]
            found["components"] = [{"type": "body", "parameters": parameters}]
        return found

    def _check_settings(self) -> None:
        errors = []
        if not _PHONE_NUMBER_ID.fullmatch(self.phone_number_id):
            errors.append("phone_number_id: not a phone number id (digits, as Meta shows it)")
        if not self._access_token:
            errors.append("access_token: required")
        if not _VERSION.fullmatch(str(self.api_version)):
            errors.append(f"api_version: {self.api_version!r:.20} is not a version like 'v21.0'")
        if self.language is not None and not _LANGUAGE.fullmatch(self.language):
            errors.append(f"language: {self.language!r:.20} is not a language code like 'en_US'")
        if errors:
            raise ValidationError(errors)

    # -- webhooks --------------------------------------------------------------------------------

    def verify_subscription(self, request: InboundRequest) -> str:
        """
        Answer Meta's subscription handshake: the challenge to send back, with status 200.

        Meta calls the webhook URL with a GET carrying `hub.mode=subscribe`,
        `hub.verify_token` and `hub.challenge`; if the token is ours, the answer's body is the
        challenge, as it came.

        Raises:
            SignatureError: If the mode is not `subscribe` or the token is not ours (answer
                403).
            ValidationError: If the request is not a GET or the challenge is malformed.
            ConnectorError: If the connector has no verify token.

        Added in version 0.1.0.
        """
        if self._verify_token is None:
            raise ConnectorError("verify_token: configure it to answer Meta's handshake")
        if request.method != "GET":
            raise ValidationError(f"method: the handshake is a GET, not {request.method:.10}")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
        mode = query.get("hub.mode", [""])[0]
        token = query.get("hub.verify_token", [""])[0]
        challenge = query.get("hub.challenge", [""])[0]
        if mode != "subscribe":
            raise SignatureError("hub.mode: not 'subscribe'")
        if not token or not equal(token, self._verify_token.reveal()):
            raise SignatureError("hub.verify_token: missing or not ours")
        if not _CHALLENGE.fullmatch(challenge):
            raise ValidationError("hub.challenge: missing or not a plain token")
        return challenge

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check `X-Hub-Signature-256`: the HMAC-SHA256 of the raw body under the app secret.

        Meta's scheme has no timestamp, so no request is stale; one verified before, within
        the replay window, is refused.

        Raises:
            SignatureError: If the signature is missing, malformed or does not match, or the
                request is a replay.
            ConnectorError: If the connector has no app secret.

        Added in version 0.1.0.
        """
        if self._app_secret is None:
            raise ConnectorError("app_secret: Meta signs webhooks with it; configure it to verify")
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        scheme, _, digest = given.partition("=")
        if scheme != "sha256" or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise SignatureError(f"{SIGNATURE_HEADER}: not 'sha256=' and 64 hexadecimal digits")
        expected = hmac_digest(self._app_secret.reveal(), request.body).hex()
        if not equal(digest.lower(), expected):
            raise SignatureError(f"{SIGNATURE_HEADER}: does not match the body")
        self._replays.check(digest.lower(), now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        The events of a verified webhook: message statuses, customers' messages, errors.

        Each status (`sent`, `delivered`, `read`, `failed` with its error) becomes a status
        event (`read` an engagement event) with `event_id` `<wamid>:<status>` and the
        `delivery_id` its `biz_opaque_callback_data` carries; each message a customer sent,
        of any type, an inbound event with `event_id` its `wamid`, its text where it has some
        (a text's body, a button's or a reply's title, a caption, a reaction's emoji) and
        the whole message, type included, in `raw`. Changes to fields other than `messages`
        carry no message events and give none.

        Raises:
            ValidationError: If the body is not a WhatsApp Business Account webhook, naming
                the part that is not.

        Added in version 0.1.0.
        """
        if len(request.body) > MAX_WEBHOOK_BYTES:
            raise ValidationError(
                f"body: {len(request.body)} bytes; more than the {MAX_WEBHOOK_BYTES} read"
            )
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError):
            raise ValidationError("body: not JSON; not a WhatsApp webhook") from None
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise ValidationError("object: not 'whatsapp_business_account'")
        events: list[ProviderEvent] = []
        for index, entry in enumerate(_items(payload, "entry", "")):
            for number, change in enumerate(_items(entry, "changes", f"entry[{index}].")):
                if not isinstance(change, dict) or change.get("field") != "messages":
                    continue
                events.extend(
                    _change_events(change.get("value"), f"entry[{index}].changes[{number}].value")
                )
        return events


# -- sending helpers -----------------------------------------------------------------------------


def _recipient(address: str) -> str:
    if _CONTROL.search(address):
        raise ValidationError("to: contains a line break or another control character")
    bare = address.removeprefix("whatsapp:")
    if not _PHONE.fullmatch(bare):
        raise ValidationError(f"to: {address!r:.40} is not a phone number (+ and digits)")
    return bare if bare.startswith("+") else f"+{bare}"


def _parameter_errors(index: int, value: str) -> list[str]:
    field = f"template.parameters[{index}]"
    if not value.strip():
        return [f"{field}: empty; WhatsApp refuses an empty template parameter (HTTP 400)"]
    if "\n" in value or "\t" in value or "     " in value:
        why = "WhatsApp refuses new lines, tabs and more than four spaces in a row in one"
        return [f"{field}: {why}"]
    return []


def _accepted(answer: HttpAnswer, body: object) -> SendResult:
    messages = body.get("messages") if isinstance(body, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    if not isinstance(wamid, str) or not wamid:
        return Unknown(reason=f"Meta answered {answer.status} without a message id")
    status = first.get("message_status") if isinstance(first, dict) else None
    return Accepted(provider_message_id=wamid, status=str(status or "accepted"))


def _graph_error(body: object) -> tuple[str | None, str | None]:
    """A Graph error's code and its explanation (message, then `error_data.details`)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code = error.get("code")
    shown = str(code) if isinstance(code, int | str) and str(code) else None
    message = str(error.get("message") or error.get("error_user_msg") or "")
    data = error.get("error_data")
    details = str(data.get("details") or "") if isinstance(data, dict) else ""
    if details and details not in message:
        message = f"{message}: {details}" if message else details
    return shown, message or None


def _flag(field: str, value: str) -> bool:
    if value.lower() in {"true", "1", "yes"}:
        return True
    if value.lower() in {"false", "0", "no"}:
        return False
    raise ValidationError(f"url: option {field}={value!r:.20} is not true or false")


def _number(field: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: option {field}={value!r:.20} is not a number") from None


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- webhook helpers -----------------------------------------------------------------------------


def _items(container: object, key: str, path: str) -> list[Any]:
    if not isinstance(container, dict):
        raise ValidationError(f"{path.rstrip('.') or 'body'}: not an object")
    items = container.get(key, [])
    if not isinstance(items, list):
        raise ValidationError(f"{path}{key}: not a list")
    return items


def _change_events(value: object, path: str) -> list[ProviderEvent]:
    if not isinstance(value, dict):
        raise ValidationError(f"{path}: not an object")
    events = [
        _status_event(item, f"{path}.statuses[{index}]")
        for index, item in enumerate(_items(value, "statuses", f"{path}."))
    ]
    events.extend(
        _message_event(item, f"{path}.messages[{index}]")
        for index, item in enumerate(_items(value, "messages", f"{path}."))
    )
    metadata = value.get("metadata")
    number = str(metadata.get("phone_number_id", "")) if isinstance(metadata, dict) else ""
    events.extend(
        _error_event(item, number, f"{path}.errors[{index}]")
        for index, item in enumerate(_items(value, "errors", f"{path}."))
    )
    return events


def _text(item: Mapping[str, Any], key: str, path: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{path}.{key}: missing or not text")
    return value


def _timestamp(item: Mapping[str, Any], path: str) -> str | None:
    value = item.get("timestamp")
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValidationError(f"{path}.timestamp: {value!r:.20} is not a Unix time") from None


def _address(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return f"+{value}" if value.isdigit() else value


def _first_error(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    errors = item.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return None, None
    code = first.get("code")
    message = str(first.get("message") or first.get("title") or "")
    data = first.get("error_data")
    details = str(data.get("details") or "") if isinstance(data, dict) else ""
    if details and details not in message:
        message = f"{message}: {details}" if message else details
    return (str(code) if code is not None else None), message or None


def _status_event(item: object, path: str) -> ProviderEvent:
    if not isinstance(item, dict):
        raise ValidationError(f"{path}: not an object")
    wamid, status = _text(item, "id", path), _text(item, "status", path)
    code, reason = _first_error(item)
    mapped = _STATUSES.get(status)
    if mapped is None:
        reason = f"WhatsApp status {status!r:.40} has no omnikit equivalent"
    echoed = item.get("biz_opaque_callback_data")
    return ProviderEvent(
        kind=EventKind.ENGAGEMENT if mapped is DeliveryStatus.READ else EventKind.STATUS,
        event_id=f"{wamid}:{status}",
        status=mapped,
        delivery_id=echoed if isinstance(echoed, str) and _DELIVERY_ID.fullmatch(echoed) else None,
        provider_message_id=wamid,
        address=_address(item.get("recipient_id")),
        code=code,
        reason=reason,
        timestamp=_timestamp(item, path),
        raw=item,
    )


def _message_text(item: Mapping[str, Any]) -> str | None:
    kind = item.get("type")
    content = item.get(kind) if isinstance(kind, str) else None
    if not isinstance(content, dict):
        return None
    if kind == "interactive":
        for reply in ("button_reply", "list_reply"):
            chosen = content.get(reply)
            if isinstance(chosen, dict) and isinstance(chosen.get("title"), str):
                return str(chosen["title"])
        return None
    for key in ("body", "text", "caption", "emoji"):
        if isinstance(content.get(key), str):
            return str(content[key])
    return None


def _message_event(item: object, path: str) -> ProviderEvent:
    if not isinstance(item, dict):
        raise ValidationError(f"{path}: not an object")
    wamid = _text(item, "id", path)
    _text(item, "type", path)
    code, reason = _first_error(item)
    return ProviderEvent(
        kind=EventKind.INBOUND,
        event_id=wamid,
        provider_message_id=wamid,
        address=_address(item.get("from")),
        text=_message_text(item),
        code=code,
        reason=reason,
        timestamp=_timestamp(item, path),
        raw=item,
    )


def _error_event(item: object, number: str, path: str) -> ProviderEvent:
    if not isinstance(item, dict):
        raise ValidationError(f"{path}: not an object")
    code, reason = _first_error({"errors": [item]})
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{number}\n{canonical}".encode()).hexdigest()[:40]
    return ProviderEvent(
        kind=EventKind.STATUS,
        event_id=f"error:{digest}",
        code=code,
        reason=reason,
        raw=item,
    )
