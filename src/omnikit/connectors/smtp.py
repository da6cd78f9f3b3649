"""
Email over SMTP, with the standard library's `smtplib` and `email`: STARTTLS, implicit TLS, AUTH.

```python
email = connect("smtp://shop:secret@mail.example.com:587?from=shop@example.com")
email = SMTPConnector(
    "mail.example.com", username="shop", password="...", sender="shop@example.com"
)
```

Each send opens one connection, says `EHLO`, upgrades it with `STARTTLS` (or starts in TLS on
port 465, `smtps://`), logs in when given a user name, hands over one message and says `QUIT`.
The message carries our delivery id twice, so that a bounce can be traced back to its
delivery: in an `X-Omnikit-Delivery` header, and inside its `Message-ID`
(`SMTPConnector.delivery_id()` reads it back out of the `Message-ID` a bounce quotes).

What the server answers becomes a result. Where the conversation stopped tells whether a retry
is safe: a refusal or a lost connection before the message body went out means the server does
not have the message; once the body went out, only the server's final reply tells, and without
it the outcome is `Unknown`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import email.utils
import functools
import re
import secrets
import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import Any, ClassVar

import attrs

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    Envelope,
    Refused,
    SendResult,
    Transient,
    Unknown,
)
from omnikit.connectors import ConnectorURL, Secret, check_rendition
from omnikit.connectors._email import Mailbox, check_header, mailbox, with_links
from omnikit.errors import ConnectorError, ValidationError

__all__ = ["DELIVERY_HEADER", "SMTPConnector"]

DELIVERY_HEADER = "X-Omnikit-Delivery"
"""The header that carries our delivery id in every message the SMTP connector sends."""

_POLICY = email.policy.SMTP.clone(cte_type="7bit")  # any relay takes it, 8BITMIME or not
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_URL_OPTIONS = frozenset({"from", "starttls", "timeout"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@attrs.frozen
class _Letter:
    """A message ready to go: its envelope addresses, its Message-ID and its bytes."""

    sender: Mailbox
    recipient: Mailbox
    message_id: str
    payload: bytes


class _Stage:
    """How far a conversation got: before the body went out a failure is safe to retry."""

    __slots__ = ("body_sent",)

    def __init__(self) -> None:
        self.body_sent = False


class SMTPConnector:
    """
    Sends email through an SMTP server (a relay, a provider's SMTP endpoint).

    The connector is synchronous: `asend()` runs `send()` in a worker thread
    (`asyncio.to_thread`), one connection per message. Media go as links appended to the text
    and HTML parts, not as attachments; provider templates are not supported (render the
    message first); a rendition's `data` has no place in an email and is not sent.

    Args:
        host: The server's host name or address.
        port: Its port; 465 for implicit TLS, else 587 with STARTTLS, else 25.
        username: The user to log in as (AUTH); no login if not given.
        password: That user's password.
        sender: The `From` address (`shop@example.com` or `Shop <shop@example.com>`) of
            renditions that name none.
        starttls: Upgrade the connection with STARTTLS, and refuse to send through a server
            that does not offer it. Turn it off only for a relay that speaks no TLS (a local
            MTA); a password is then refused, as it would travel in clear text.
        tls: Speak TLS from the start (`smtps://`, port 465). `None`: when *port* is 465.
        timeout: Seconds to wait for the server, per network operation.
        ssl_context: The TLS settings (trusted certificates); the system's defaults if not
            given.
        local_hostname: The name to greet the server with (`EHLO`); this host's fully
            qualified name if not given.

    Raises:
        ValidationError: For a configuration that cannot work or would leak the password.

    Added in version 0.1.0.
    """

    name: ClassVar[str] = "smtp"
    channel: ClassVar[str] = "email"
    capabilities: ClassVar[Capabilities] = Capabilities(rich_content=True, attachments=True)

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        username: str | None = None,
        password: str | Secret | None = None,
        sender: str | None = None,
        starttls: bool = True,
        tls: bool | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if not host or not isinstance(host, str):
            raise ValidationError("host: the SMTP server's host name is required")
        check_header("host", host)
        implicit = port == 465 if tls is None else tls
        self.host = host
        self.port = port if port is not None else (465 if implicit else 587 if starttls else 25)
        self.tls = implicit
        self.starttls = starttls and not implicit
        self.username = username
        self._password = Secret(password) if password is not None else None
        self.sender = mailbox("sender", sender) if sender is not None else None
        if not timeout > 0:
            raise ValidationError(f"timeout: {timeout!r} is not a positive number of seconds")
        self.timeout = timeout
        if username is not None and not (self.tls or self.starttls):
            raise ValidationError(
                "starttls: a password would travel in clear text; use STARTTLS or smtps://"
            )
        if (username is None) != (self._password is None):
            raise ValidationError("username: a user name and a password go together")
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SMTPConnector:
        """
        A connector from `smtp://user:password@host:587?from=shop@example.com`.

        `smtps://` speaks TLS from the start (port 465 by default). Options: `from` (the
        default sender), `starttls` (`true` by default; `false` for a relay without TLS) and
        `timeout` (seconds). Keyword *options* are passed to the constructor and win over
        the URL's (an `ssl_context`, say).

        Raises:
            ValidationError: For another scheme, no host, or an option it does not know.

        Added in version 0.1.0.
        """
        parsed = ConnectorURL(url)
        if parsed.scheme not in {"smtp", "smtps"}:
            raise ValidationError(f"url: {parsed.scheme!r} is not smtp:// or smtps://")
        if parsed.host is None:
            raise ValidationError("url: the SMTP server's host is missing")
        unknown = sorted(set(parsed.options) - _URL_OPTIONS)
        if unknown:
            raise ValidationError(f"url: unknown option(s) {', '.join(unknown)}")
        settings: dict[str, Any] = {
            "port": parsed.port,
            "username": parsed.user,
            "password": parsed.password,
            "sender": parsed.option("from"),
            "tls": True if parsed.scheme == "smtps" else None,
        }
        if "starttls" in parsed.options:
            settings["starttls"] = _flag("starttls", parsed.options["starttls"])
        if "timeout" in parsed.options:
            settings["timeout"] = _number("timeout", parsed.options["timeout"])
        return cls(parsed.host, **{**settings, **options})

    @property
    def url(self) -> str:
        """The connector's configuration as a URL, without the password."""
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.username}:***@" if self.username is not None else ""
        query = "" if self.tls else f"?starttls={str(self.starttls).lower()}"
        return f"{scheme}://{user}{self.host}:{self.port}{query}"

    @staticmethod
    def delivery_id(message_id: str) -> str | None:
        """
        Our delivery id inside a `Message-ID` this connector made, or `None` if it made none.

        A bounce (a delivery status notification) quotes the `Message-ID` of the message it
        is about; this finds its delivery.

        Added in version 0.1.0.
        """
        left = message_id.strip().removeprefix("<").removesuffix(">").rpartition("@")[0]
        encoded, dot, nonce = left.rpartition(".")
        if not dot or len(nonce) != 16 or not encoded.startswith("omnikit."):
            return None
        found = encoded.removeprefix("omnikit.").replace("+", ".").replace("=", ":")
        return found if _DELIVERY_ID.fullmatch(found) else None

    # -- sending ---------------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> SendResult:
        """
        Hand *envelope* to the server, once; see `omnikit.connectors.Connector.send`.

        Raises:
            ValidationError: Before connecting, for a rendition an email cannot carry: no
                sender, an address or subject with a line break (header injection), a
                template.
            ConnectorError: If the connector is closed.
        """
        letter = self._prepare(envelope)
        stage = _Stage()
        client: smtplib.SMTP | None = None
        try:
            client = self._connect()
            result = self._open_session(client) or self._transact(client, stage, letter)
        except smtplib.SMTPResponseException as exc:
            result = _answer(exc.smtp_code, exc.smtp_error, after_body=stage.body_sent)
        except OSError as exc:  # refused, reset, timed out, TLS failed, disconnected
            if _is_refusal(exc):
                result = Refused(code="smtp", reason=str(exc))
            else:
                if client is not None:
                    client.close()
                return _lost(exc, stage)
        _quit(client)
        return result

    async def asend(self, envelope: Envelope) -> SendResult:
        """As `send()`, run in a worker thread (`asyncio.to_thread`): `smtplib` blocks."""
        return await asyncio.to_thread(self.send, envelope)

    def close(self) -> None:
        """Stop sending; each send has its own connection, so nothing is left open."""
        self._closed = True

    async def aclose(self) -> None:
        """As `close()`."""
        self.close()

    # -- plumbing --------------------------------------------------------------------------------

    def _prepare(self, envelope: Envelope) -> _Letter:
        if self._closed:
            raise ConnectorError(f"connector {self.name!r} is closed")
        rendition = envelope.rendition
        if rendition.channel != self.channel:
            raise ValidationError(
                f"channel: connector {self.name!r} serves {self.channel!r}, "
                f"not {rendition.channel!r}"
            )
        check_rendition(rendition, self.capabilities)
        if rendition.template is not None:
            raise ValidationError(
                "template: SMTP sends the rendered text and HTML; a provider template has "
                "no meaning here"
            )
        recipient = mailbox("to", rendition.to)
        sender = mailbox("sender", rendition.sender) if rendition.sender else self.sender
        if sender is None:
            raise ValidationError(
                "sender: no From address (give the rendition or the connector one)"
            )
        message_id = _message_id(envelope.id, sender.domain)
        message = EmailMessage(policy=_POLICY)
        message["From"] = sender.header()
        message["To"] = recipient.header()
        if rendition.subject:
            message["Subject"] = check_header("subject", rendition.subject)
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id
        message[DELIVERY_HEADER] = envelope.id
        text, markup = with_links(rendition)
        if text or markup is None:
            message.set_content(text)
            if markup is not None:
                message.add_alternative(markup, subtype="html")
        else:
            message.set_content(markup, subtype="html")
        return _Letter(sender, recipient, message_id, message.as_bytes())

    def _connect(self) -> smtplib.SMTP:
        """A connection that the server greeted (`smtplib` closes it if it did not)."""
        hostname = self.local_hostname or _fqdn()
        if self.tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, hostname, timeout=self.timeout, context=self._tls()
            )
        return smtplib.SMTP(self.host, self.port, hostname, timeout=self.timeout)

    def _open_session(self, client: smtplib.SMTP) -> SendResult | None:
        client.ehlo_or_helo_if_needed()
        if self.starttls:
            if not client.has_extn("starttls"):
                return Refused(
                    code="starttls",
                    reason="the server offers no STARTTLS; nothing was sent in clear text",
                )
            client.starttls(context=self._tls())
            client.ehlo()
        if self.username is not None and self._password is not None:
            if not client.has_extn("auth"):
                return Refused(code="auth", reason="the server offers no AUTH; not logged in")
            client.login(self.username, self._password.reveal())
        return None

    @staticmethod
    def _transact(client: smtplib.SMTP, stage: _Stage, letter: _Letter) -> SendResult:
        size = [f"SIZE={len(letter.payload)}"] if client.has_extn("size") else []
        code, reply = client.mail(letter.sender.address, size)
        if code != 250:
            return _answer(code, reply, after_body=False)
        code, reply = client.rcpt(letter.recipient.address)
        if code not in {250, 251}:
            return _answer(code, reply, after_body=False)
        code, reply = client.docmd("DATA")
        if code != 354:
            return _answer(code, reply, after_body=False)
        stage.body_sent = True
        client.send(_dot_stuffed(letter.payload))
        code, reply = client.getreply()
        if code == 250:
            return Accepted(provider_message_id=letter.message_id, status=_text(reply))
        return _answer(code, reply, after_body=True)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def __repr__(self) -> str:
        return f"<SMTPConnector {self.url}>"


def _message_id(delivery_id: str, domain: str) -> str:
    """A `Message-ID` that carries *delivery_id* (`.` and `:` written `+` and `=`)."""
    encoded = delivery_id.replace(".", "+").replace(":", "=")
    return f"<omnikit.{encoded}.{secrets.token_hex(8)}@{domain}>"


def _dot_stuffed(payload: bytes) -> bytes:
    """*payload* as the DATA command sends it: leading dots doubled, ended by a lone dot."""
    data = re.sub(rb"(?m)^\.", b"..", payload)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _answer(code: int, reply: bytes | str, *, after_body: bool) -> SendResult:
    """
    A server's refusal as a result: 4xx transient, 5xx refused.

    A 4xx reply is safe to retry at any stage, the end of the body included: RFC 5321 makes
    it a refusal to take responsibility for the message (a greylisting server answers so).
    Only a connection lost after the body leaves the outcome unknown (`_lost`).
    """
    del after_body  # a reply, at any stage, is an answer
    text = _text(reply)
    if 500 <= code < 600:
        return Refused(code=str(code), reason=text)
    return Transient(code=str(code), reason=text, safe_to_retry=True)


def _lost(exc: OSError, stage: _Stage) -> SendResult:
    """A connection lost (or never made) as a result: unknown once the body went out."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if stage.body_sent:
        return Unknown(reason=reason)
    code = "tls" if isinstance(exc, ssl.SSLError) else "connection"
    return Transient(code=code, reason=reason, safe_to_retry=True)


def _is_refusal(exc: OSError) -> bool:
    """An `smtplib` complaint that is no network failure (no AUTH mechanism in common)."""
    return isinstance(exc, smtplib.SMTPException) and not isinstance(
        exc, smtplib.SMTPServerDisconnected
    )


def _quit(client: smtplib.SMTP | None) -> None:
    if client is None or client.sock is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:299] + "…"


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationError(f"url: option {name} is {value!r}; expected true or false")


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"url: option {name} is {value!r}; expected seconds") from None


@functools.cache
def _fqdn() -> str:
    return socket.getfqdn()
