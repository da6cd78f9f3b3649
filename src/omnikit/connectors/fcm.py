"""
Push notifications through Firebase Cloud Messaging, HTTP v1 API.

```python
push = FCMConnector("/etc/shop/firebase-service-account.json")
push.send(
    Envelope(
        id="dlv_1",
        rendition=Rendition(channel="push", to=device_token, subject="Shipped", text="On its way"),
    )
)
```

Each send is `POST /v1/projects/{project_id}/messages:send` with an OAuth 2.0 access token.
The connector gets the token from the service account's `token_uri` by the JWT bearer flow
(RFC 7523): a JWT naming the account and the `firebase.messaging` scope, signed with the
account's RSA key (RS256), is exchanged for a token that lives about an hour. The token is
kept until shortly before it expires, shared by `send()` and `asend()`, and fetched again,
once, when FCM answers 401 to a kept one.

Our delivery id travels in the message's `data`, under `omnikit_delivery_id`, so the app
on the device can name it when it reports an open. FCM itself has no delivery webhooks:
nothing calls back when a notification is delivered or opened, so this connector hears no
webhooks (it is not an `InboundConnector`). The only feedback is the answer to the send:
`UNREGISTERED` means the device token is gone for good.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import threading
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    Envelope,
    Refused,
    SendResult,
    Transient,
    Unknown,
)
from omnikit.connectors import ConnectorURL, Secret
from omnikit.connectors.http import Exchange, HttpAnswer, HttpCall, HttpConnector, retry_after
from omnikit.errors import ValidationError

__all__ = ["DELIVERY_ID_KEY", "SCOPE", "FCMConnector", "ServiceAccount"]

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
"""The OAuth 2.0 scope a token needs to send with FCM."""

DELIVERY_ID_KEY = "omnikit_delivery_id"
"""The `data` key carrying our delivery id to the app."""

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a password
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME = 3600  # Google takes assertions valid for at most an hour
_REFRESH_MARGIN = 300.0  # fetch a new token this many seconds before the old one expires
_QUOTA_WAIT = 60.0  # FCM: back off at least a minute after QUOTA_EXCEEDED
_MAX_PAYLOAD = 4096
_REGISTRATION_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]{1,4096}")
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}")
_REFUSED = frozenset(
    {"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"}
)

Clock = Callable[[], dt.datetime]


@attrs.frozen(kw_only=True)
class ServiceAccount:
    """
    A Google service account, as its JSON key file describes it.

    Attributes:
        client_email: The account's email address: the issuer of the JWTs it signs.
        private_key: Its RSA private key in PEM, as a `Secret` (it never shows).
        project_id: The Firebase project it belongs to, if the file says.
        private_key_id: The id of the key, named in the JWT so Google finds its public half.
        token_uri: Where signed JWTs are exchanged for access tokens.

    Added in version 0.1.0.
    """

    client_email: str
    private_key: Secret = attrs.field(converter=Secret)
    project_id: str | None = None
    private_key_id: str | None = None
    token_uri: str = GOOGLE_TOKEN_URI

    @classmethod
    def from_mapping(cls, info: Mapping[str, Any]) -> ServiceAccount:
        """
        The account a key file's parsed JSON describes.

        Raises:
            ValidationError: Naming each field missing or wrong (never the key's value).
        """
        if not isinstance(info, Mapping):
            raise ValidationError(
                f"service_account: a key file's JSON object; got {type(info).__name__}"
            )
        errors = []
        if info.get("type", "service_account") != "service_account":
            errors.append(
                f"service_account.type: {info.get('type')!r:.40} is not 'service_account'"
            )
        errors.extend(
            f"service_account.{field}: missing"
            for field in ("client_email", "private_key")
            if not isinstance(info.get(field), str) or not info[field]
        )
        errors.extend(
            f"service_account.{field}: not text"
            for field in ("project_id", "private_key_id", "token_uri")
            if field in info and not isinstance(info[field], str)
        )
        token_uri = info.get("token_uri", GOOGLE_TOKEN_URI)
        if isinstance(token_uri, str) and not token_uri.startswith(("https://", "http://")):
            errors.append(f"service_account.token_uri: {token_uri!r:.80} is not an http(s) URL")
        if errors:
            raise ValidationError(errors)
        return cls(
            client_email=info["client_email"],
            private_key=info["private_key"],
            project_id=info.get("project_id"),
            private_key_id=info.get("private_key_id"),
            token_uri=token_uri,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ServiceAccount:
        """
        The account described by the JSON key file at *path*.

        Raises:
            ValidationError: If the file cannot be read, is not JSON, or lacks a field.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ValidationError(
                f"service_account: cannot read {os.fspath(path)!r}: {reason}"
            ) from None
        try:
            info = json.loads(text)
        except ValueError:
            raise ValidationError(
                f"service_account: {os.fspath(path)!r} is not a JSON key file"
            ) from None  # the parser's message could quote the key: leave it out
        return cls.from_mapping(info)


@attrs.frozen
class _Token:
    value: Secret
    usable_until: float


class FCMConnector(HttpConnector):
    """
    Sends push notifications to one device each, through FCM's HTTP v1 API.

    The rendition's `to` is the device's registration token, `subject` the notification's
    title, `text` its body, and `data` goes to the app as is (text values only, as FCM
    requires; keys `from`, `gcm` and `google...` are FCM's own). The payload (title, body,
    data keys and values, our delivery id) must fit in 4096 bytes.

    Args:
        service_account: The service account: the path of its JSON key file, the file's
            parsed JSON, or a `ServiceAccount`.
        project_id: The Firebase project to send in; by default the account's own.
        token_uri: Where to exchange the signed JWT; by default the account's `token_uri`.
        clock: What time it is (the JWT's issue time, the token's expiry); the system clock
            by default.
        base_url: Where FCM is (`https://fcm.googleapis.com` by default).
        timeout: Seconds to wait for an answer, per call.
        client: An `httpx.Client` to send with (the host's to close).
        async_client: An `httpx.AsyncClient` for `asend()`.

    Raises:
        ValidationError: If the account, its key or the project is not usable.

    Added in version 0.1.0.
    """

    name = "fcm"
    channel = "push"
    capabilities = Capabilities(max_bytes=_MAX_PAYLOAD)
    default_base_url = "https://fcm.googleapis.com"

    def __init__(
        self,
        service_account: str | os.PathLike[str] | Mapping[str, Any] | ServiceAccount,
        *,
        project_id: str | None = None,
        token_uri: str | None = None,
        clock: Clock | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url, timeout=timeout, client=client, async_client=async_client
        )
        account = _account(service_account)
        if token_uri is not None:
            if not token_uri.startswith(("https://", "http://")):
                raise ValidationError(f"token_uri: {token_uri!r:.80} is not an http(s) URL")
            account = attrs.evolve(account, token_uri=token_uri)
        project = project_id or account.project_id
        if not project or not _PROJECT.fullmatch(project):
            raise ValidationError(
                f"project_id: {project!r:.80} is not a Firebase project id"
                if project
                else "project_id: missing (the key file names none; pass project_id=)"
            )
        self.project_id = project
        self.service_account = account
        self._key = _private_key(account.private_key)
        self._clock = clock or _utcnow
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FCMConnector:
        """
        `fcm://PROJECT?service_account=/path/to/key.json` (the project is optional).

        Options in the URL: `service_account` (required), `token_uri`, `base_url`, `timeout`.
        """
        parsed = ConnectorURL(url)
        unknown = set(parsed.options) - {"service_account", "token_uri", "base_url", "timeout"}
        if unknown:
            raise ValidationError([f"url: unknown option {key!r}" for key in sorted(unknown)])
        path = parsed.option("service_account")
        if not path:
            raise ValidationError(
                "url: fcm:// needs ?service_account= (the path of the JSON key file)"
            )
        settings: dict[str, Any] = {
            key: parsed.options[key] for key in ("token_uri", "base_url") if key in parsed.options
        }
        if "timeout" in parsed.options:
            settings["timeout"] = _seconds(parsed.options["timeout"])
        return cls(path, project_id=parsed.host, **settings, **options)

    # -- the exchange ----------------------------------------------------------------------------

    def exchange(self, envelope: Envelope) -> Exchange:
        """A token (kept, or fetched), then the send; a 401 to a kept token fetches one anew."""
        body = _message(envelope)  # every check before anything goes out
        token = self._kept_token()
        fresh = token is None
        if token is None:
            fetched = yield from self._fetch_token()
            if not isinstance(fetched, Secret):
                return fetched
            token = fetched
        answer = yield self._send_call(body, token)
        if answer.status == 401 and not fresh and _error(answer)[0] != "THIRD_PARTY_AUTH_ERROR":
            self._forget(token)
            fetched = yield from self._fetch_token()
            if not isinstance(fetched, Secret):
                return fetched
            answer = yield self._send_call(body, fetched)
        return self.interpret(envelope, answer)

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:  # noqa: ARG002
        """FCM's answer: the message's `name` when accepted, else its error code classified."""
        if answer.status == 200:
            payload = answer.json()
            name = payload.get("name") if isinstance(payload, dict) else None
            if isinstance(name, str) and name:
                return Accepted(provider_message_id=name)
            return Unknown(reason="FCM answered 200 without the message's name")
        return self._failure(answer)

    def _send_call(self, body: dict[str, Any], token: Secret) -> HttpCall:
        return HttpCall.json(
            "POST",
            f"/v1/projects/{self.project_id}/messages:send",
            body,
            headers={"Authorization": f"Bearer {token.reveal()}"},
        )

    def _failure(self, answer: HttpAnswer) -> SendResult:
        fcm_code, status, message = _error(answer)
        code = fcm_code or status or str(answer.status)
        reason = message or answer.text[:300] or f"HTTP {answer.status}"
        wait = retry_after(answer.headers)
        if code == "QUOTA_EXCEEDED" or answer.status == 429:
            # A message over quota is not taken; FCM asks for at least a minute.
            wait = max(_QUOTA_WAIT, wait or 0.0)
            return Transient(code=code, reason=reason, retry_after=wait, safe_to_retry=True)
        if code in _REFUSED or answer.status == 401:
            return Refused(code=code, reason=reason)
        if answer.status >= 500 or code in {"UNAVAILABLE", "INTERNAL"}:
            return Transient(code=code, reason=reason, retry_after=wait)
        return self.classify(answer, code=code, reason=reason)

    # -- the token -------------------------------------------------------------------------------

    def _fetch_token(self) -> Generator[HttpCall, HttpAnswer, Secret | SendResult]:
        now = self._clock()
        assertion = _assertion(self.service_account, self._key, int(now.timestamp()))
        answer = yield HttpCall.form(
            "POST",
            self.service_account.token_uri,
            {"grant_type": _JWT_BEARER, "assertion": assertion},
            headers={"Accept": "application/json"},
            delivers=False,
        )
        payload = answer.json()
        if answer.status != 200 or not isinstance(payload, dict):
            return _token_failure(answer, payload)
        value = payload.get("access_token")
        expires_in = payload.get("expires_in", _ASSERTION_LIFETIME)
        if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
            return Transient(
                code="token",
                reason="the token endpoint answered without an access token",
                safe_to_retry=True,
            )
        token = Secret(value)
        margin = min(_REFRESH_MARGIN, max(0.0, float(expires_in)) / 2)
        with self._token_lock:
            self._token = _Token(token, now.timestamp() + float(expires_in) - margin)
        return token

    def _kept_token(self) -> Secret | None:
        with self._token_lock:
            token = self._token
        if token is None or self._clock().timestamp() >= token.usable_until:
            return None
        return token.value

    def _forget(self, value: Secret) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def __repr__(self) -> str:
        return f"<FCMConnector {self.name} channel={self.channel} project={self.project_id} {self.base_url}>"


# -- the message -------------------------------------------------------------------------------


def _message(envelope: Envelope) -> dict[str, Any]:
    """The body of `messages:send` for *envelope*, or a `ValidationError` naming what is wrong."""
    rendition = envelope.rendition
    errors = []
    if not _REGISTRATION_TOKEN.fullmatch(rendition.to):
        errors.append(
            f"to: {rendition.to!r:.60} is not an FCM registration token "
            "(letters, digits, '-', '_', ':' and '.')"
        )
    if rendition.template is not None:
        errors.append("template: FCM has no provider templates; send the rendered text")
    if not rendition.text:
        errors.append("text: a push notification needs a body")
    data = dict(rendition.data)
    errors.extend(
        f"data.{key}: a key FCM keeps for itself ('from', 'gcm', 'google...')"
        for key in data
        if key.lower() in {"from", "gcm"} or key.lower().startswith("google")
    )
    if data.get(DELIVERY_ID_KEY, envelope.id) != envelope.id:
        errors.append(f"data.{DELIVERY_ID_KEY}: carries our delivery id; leave it out")
    data[DELIVERY_ID_KEY] = envelope.id
    notification = {"body": rendition.text}
    if rendition.subject:
        notification["title"] = rendition.subject
    size = sum(len(value.encode()) for value in notification.values()) + sum(
        len(key.encode()) + len(value.encode()) for key, value in data.items()
    )
    if size > _MAX_PAYLOAD:
        errors.append(
            f"data: the payload (title, body, data) is {size} bytes; FCM takes {_MAX_PAYLOAD}"
        )
    if errors:
        raise ValidationError(errors)
    return {"message": {"token": rendition.to, "notification": notification, "data": data}}


def _error(answer: HttpAnswer) -> tuple[str | None, str | None, str | None]:
    """FCM's error code, the Google status and the message of an error answer, where given."""
    payload = answer.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    fcm_code = None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("FcmError"):
            fcm_code = detail.get("errorCode")
    status = error.get("status")
    message = error.get("message")
    return (
        fcm_code if isinstance(fcm_code, str) else None,
        status if isinstance(status, str) else None,
        message if isinstance(message, str) else None,
    )


def _token_failure(answer: HttpAnswer, payload: Any) -> SendResult:
    """A token endpoint's refusal: nothing was delivered, so anything transient is safe."""
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error if isinstance(error, str) and error else f"token:{answer.status}"
    described = payload.get("error_description") if isinstance(payload, dict) else None
    detail = described if isinstance(described, str) else answer.text[:200]
    reason = f"the token endpoint refused the service account: {detail}".rstrip(": ")
    if answer.status in {408, 429} or answer.status >= 500 or answer.status == 200:
        wait = retry_after(answer.headers)
        return Transient(code=code, reason=reason, retry_after=wait, safe_to_retry=True)
    return Refused(code=code, reason=reason)


# -- the JWT -----------------------------------------------------------------------------------


def _assertion(account: ServiceAccount, key: rsa.RSAPrivateKey, now: int) -> str:
    """The RS256-signed JWT asking *account*'s token endpoint for an FCM token."""
    header = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": now,
        "exp": now + _ASSERTION_LIFETIME,
    }
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode('ascii')}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_json(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _private_key(pem: Secret) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.reveal().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError(
            "service_account.private_key: not an unencrypted RSA private key in PEM"
        )
    return key


def _account(value: str | os.PathLike[str] | Mapping[str, Any] | ServiceAccount) -> ServiceAccount:
    if isinstance(value, ServiceAccount):
        return value
    if isinstance(value, str | os.PathLike):
        return ServiceAccount.from_file(value)
    return ServiceAccount.from_mapping(value)


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: timeout {value!r:.20} is not a number of seconds") from None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
