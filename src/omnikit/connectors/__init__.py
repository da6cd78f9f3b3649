"""
Channel connectors: how a message reaches a provider, and how the provider's news comes back.

```python
email = omnikit.connectors.connect("memory://email")  # or "smtp://...", "sendgrid://..."
result = email.send(envelope)  # Accepted, Refused, Transient or Unknown: never a boolean
```

A connector serves one channel through one provider. It sends one `Envelope` per call and
answers with exactly one `SendResult`; it does not retry, wait or decide whom to contact: the
hub's outbox and contact policy do. Connectors with a webhook also `verify()` a request as it
reached the host (raw bytes, public URL) and `parse()` it into `ProviderEvent`s.

Plugin authors publish connectors as their own packages, declared in the `omnikit.connectors`
entry-point group, and check them with `omnikit.testing.ConnectorContract`:

```toml
[project.entry-points."omnikit.connectors"]
acme-sms = "acme_omnikit:AcmeSMS"
```

HTTP connectors build on `omnikit.connectors.http.HttpConnector`, which writes each provider
exchange once and drives it over `httpx.Client` (`send`) and `httpx.AsyncClient` (`asend`).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any, ClassVar, Protocol, runtime_checkable

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    ProviderEvent,
    Refused,
    Rendition,
    SendResult,
    TemplateRef,
    Transient,
    Unknown,
)
from omnikit._plugins import CONNECTORS
from omnikit.errors import PluginError, ValidationError

__all__ = [
    "Accepted",
    "AsyncConnector",
    "Capabilities",
    "Connector",
    "ConnectorURL",
    "DeliveryStatus",
    "Envelope",
    "EventKind",
    "InboundConnector",
    "InboundRequest",
    "ProviderEvent",
    "Refused",
    "Rendition",
    "Secret",
    "SendResult",
    "TemplateRef",
    "Transient",
    "Unknown",
    "check_rendition",
    "connect",
    "names",
    "register",
    "unregister",
]


@runtime_checkable
class Connector(Protocol):
    """
    A connector that sends: one envelope per call, one result per envelope.

    Attributes:
        name: The name it is registered under (`"twilio"`), shown in deliveries.
        channel: The channel it serves (`"sms"`).
        capabilities: What it can carry; checked before anything goes out.

    Added in version 0.1.0.
    """

    name: str
    channel: str
    capabilities: Capabilities

    def send(self, envelope: Envelope) -> SendResult:
        """
        Hand *envelope* to the provider, once: no retries, no waiting.

        Raises:
            ValidationError: If the rendition breaks the channel's limits (nothing is sent).
            ConnectorError: If the connector is closed.
        """
        ...

    def close(self) -> None:
        """Release connections. Closing twice is harmless; sending after closing raises."""
        ...


@runtime_checkable
class AsyncConnector(Protocol):
    """
    The awaited twin of `Connector`, for `AsyncHub` and async dispatch.

    Added in version 0.1.0.
    """

    name: str
    channel: str
    capabilities: Capabilities

    async def asend(self, envelope: Envelope) -> SendResult:
        """As `Connector.send`, awaited."""
        ...

    async def aclose(self) -> None:
        """As `Connector.close`, awaited."""
        ...


@runtime_checkable
class InboundConnector(Protocol):
    """
    A connector that hears back: receipts, replies and engagement, from the provider's webhook.

    Added in version 0.1.0.
    """

    name: str

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """
        Check that *request* is what the provider sent: signed with our secret, recent, new.

        Comparisons take constant time; the bytes checked are the raw body as received.

        Raises:
            SignatureError: If the signature is missing or wrong, the request is stale, or it
                repeats one already verified.
        """
        ...

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """
        The events a verified *request* carries (a webhook may batch several).

        Raises:
            ValidationError: If the body is not the provider's documented shape.
        """
        ...


class Secret:
    """
    A credential that never shows: its repr and str are `'***'`; `reveal()` gives the value.

    ```python
    token = Secret("abc123")
    f"{token}"  # '***'
    token.reveal()  # 'abc123'
    ```

    Added in version 0.1.0.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise ValidationError(f"secret: text expected; got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: pass it only to the provider."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled: pass the connector's configuration instead")


class ConnectorURL:
    """
    A connector URL taken apart: `scheme://user:password@host/path?option=value`.

    Connectors read their configuration from it in `from_url()`. `str()` of it hides the
    password and any option named like a secret (`token`, `key`, `secret`, `password`).

    Attributes:
        scheme: The connector's name (`"twilio"`), lower-case.
        user: The part before `:` in the user information, unquoted, if any.
        password: The part after it, if any, as a `Secret`.
        host: The host (or a name such as the channel of `memory://email`), if any.
        port: The port, if given.
        path: The path, without its first `/`.
        options: The query string's options (each given once).

    Added in version 0.1.0.
    """

    _SECRET_WORDS: ClassVar = ("token", "key", "secret", "password", "credential")

    def __init__(self, url: str) -> None:
        scheme, sep, _ = url.partition("://")
        if not sep or not scheme:
            raise ValidationError(
                f"url: not a connector URL: {_hide_all(url)!r} (expected e.g. 'smtp://host:587')"
            )
        parts = urllib.parse.urlsplit(url)
        self.scheme = scheme.lower()
        self.user = urllib.parse.unquote(parts.username) if parts.username else None
        self.password = Secret(urllib.parse.unquote(parts.password)) if parts.password else None
        self.host = parts.hostname or None
        try:
            self.port = parts.port
        except ValueError as exc:
            raise ValidationError(f"url: the port is not a number ({exc})") from None
        self.path = urllib.parse.unquote(parts.path.lstrip("/"))
        self.options: dict[str, str] = {}
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if key in self.options:
                raise ValidationError(f"url: option {key!r} is given twice")
            self.options[key] = value

    def option(self, name: str, default: str | None = None) -> str | None:
        """The option *name*, or *default*."""
        return self.options.get(name, default)

    def secret(self, name: str) -> Secret | None:
        """The option *name* as a `Secret`, if given."""
        value = self.options.get(name)
        return None if value is None else Secret(value)

    def __str__(self) -> str:
        netloc = ""
        if self.user is not None:
            netloc = urllib.parse.quote(self.user, safe="")
            netloc += ":***@" if self.password is not None else "@"
        netloc += self.host or ""
        if self.port is not None:
            netloc += f":{self.port}"
        shown = {
            key: "***" if any(word in key.lower() for word in self._SECRET_WORDS) else value
            for key, value in self.options.items()
        }
        query = f"?{urllib.parse.urlencode(shown, safe='*')}" if shown else ""
        path = f"/{urllib.parse.quote(self.path)}" if self.path else ""
        return f"{self.scheme}://{netloc}{path}{query}"

    def __repr__(self) -> str:
        return f"ConnectorURL({str(self)!r})"


def _hide_all(url: str) -> str:
    """A URL with its user information and query dropped, for an error about the URL itself."""
    return url.split("?", 1)[0].rsplit("@", 1)[-1]


def check_rendition(rendition: Rendition, capabilities: Capabilities) -> None:
    """
    Check *rendition* against what a connector can carry, before anything goes out.

    Raises:
        ValidationError: Naming each limit broken: text too long, payload too large, media a
            channel cannot carry, free text where only templates go.

    Added in version 0.1.0.
    """
    errors = []
    if not rendition.to:
        errors.append("to: the recipient's address is empty")
    limit = capabilities.max_length
    if limit is not None and len(rendition.text) > limit:
        errors.append(f"text: {len(rendition.text)} characters; the channel takes {limit}")
    size = capabilities.max_bytes
    if size is not None:
        used = len(rendition.text.encode()) + sum(
            len(key.encode()) + len(value.encode()) for key, value in rendition.data.items()
        )
        if used > size:
            errors.append(f"data: the payload is {used} bytes; the channel takes {size}")
    if rendition.media and not capabilities.attachments:
        errors.append("media: the channel carries no media or attachments")
    if capabilities.templates_required and rendition.template is None:
        errors.append("template: the channel sends only approved templates")
    if (
        rendition.template is None
        and not rendition.text
        and rendition.html is None
        and not rendition.media
    ):
        errors.append("text: the message is empty")
    if errors:
        raise ValidationError(errors)


def connect(target: str, **options: Any) -> Connector:
    """
    A connector by URL or by name.

    ```python
    sms = connect("twilio://ACxxx:token@/+15550100?status_callback=https://shop.example/hooks")
    email = connect("smtp", host="mail.example.com", port=587, username="shop", password="...")
    ```

    A URL picks the connector by its scheme and hands the URL to its `from_url()`; a name
    builds it from *options*. The names are those registered with `register()`, omnikit's own
    (`memory`, `console`, `webhook`, `smtp`, `sendgrid`, `twilio`, `whatsapp`, `fcm`, `slack`)
    and those installed packages declare in the `omnikit.connectors` entry-point group.

    Raises:
        ConnectorNotFoundError: For a name nothing answers to (it lists those that do).
        ValidationError: For a URL or options the connector cannot use.
        PluginError: If what the name gives is not a `Connector`.

    Added in version 0.1.0.
    """
    if "://" in target:
        url = ConnectorURL(target)
        factory = CONNECTORS.load(url.scheme)
        from_url = getattr(factory, "from_url", None)
        if from_url is None:
            raise ValidationError(f"url: connector {url.scheme!r} takes no URL; pass options")
        connector = from_url(target, **options)
        name = url.scheme
    else:
        factory = CONNECTORS.load(target)
        connector = factory(**options)
        name = target.lower()
    if not isinstance(connector, Connector | AsyncConnector):
        raise PluginError(
            f"connector {name!r} made a {type(connector).__name__}, which is not an "
            "omnikit.connectors.Connector (it needs name, channel, capabilities, send, close)",
            group=CONNECTORS.group,
            name=name,
        )
    return connector  # type: ignore[return-value]  # an async-only connector serves AsyncHub


def register(name: str, target: object) -> None:
    """
    Make `connect()` build connectors named *name* with *target*, before built-ins and packages.

    *target* is a connector class (with `from_url(url)` for URLs), any callable returning a
    connector, or where one is as `"module:attribute"`.

    Raises:
        ValidationError: If *name* is not a plugin name or *target* not a plugin.

    Added in version 0.1.0.
    """
    CONNECTORS.register(name, target)


def unregister(name: str) -> None:
    """
    Undo `register()` for *name*.

    Added in version 0.1.0.
    """
    CONNECTORS.unregister(name)


def names() -> list[str]:
    """
    Every connector name `connect()` knows: registered, built in, or installed.

    Added in version 0.1.0.
    """
    return CONNECTORS.names()
