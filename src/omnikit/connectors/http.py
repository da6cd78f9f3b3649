"""
The base of connectors that speak to a provider over HTTP, written once for sync and async.

A subclass describes the exchange with its provider as a flow: a generator that yields the
`HttpCall`s to make, receives each `HttpAnswer`, and returns the `SendResult`. Most providers
need one call, so `request()` and `interpret()` are enough; a provider that needs a token
first (Firebase's OAuth exchange) overrides `exchange()` and yields two.

```python
class AcmeSMS(HttpConnector):
    name = "acme-sms"
    channel = "sms"
    default_base_url = "https://api.acme.example"

    def request(self, envelope):
        return HttpCall.json("POST", "/v1/messages", {"to": envelope.rendition.to, ...})

    def interpret(self, envelope, answer):
        if answer.status == 201:
            return Accepted(provider_message_id=answer.json()["id"])
        return self.classify(answer)
```

`send()` drives the flow over a pooled `httpx.Client`, `asend()` over a pooled
`httpx.AsyncClient`. Transport failures become results, never exceptions: a connection that
could not be made is `Transient` and safe to retry (the provider never saw the message); a
request that went out and got no answer is `Unknown`, because the provider may have it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import threading
from collections.abc import Generator, Mapping
from typing import Any, ClassVar

import attrs
import httpx

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    Envelope,
    Refused,
    SendResult,
    Transient,
    Unknown,
)
from omnikit.connectors import check_rendition
from omnikit.errors import ConnectorError, ValidationError

__all__ = ["Exchange", "HttpAnswer", "HttpCall", "HttpConnector", "retry_after"]


@attrs.frozen(kw_only=True)
class HttpCall:
    """
    One request a connector asks its driver to make.

    Attributes:
        method: The HTTP method.
        url: An absolute URL, or a path joined to the connector's base URL.
        headers: Request headers.
        content: The body bytes.
        delivers: This is the call that hands the message over (not a token exchange): a
            failure after it went out leaves the outcome unknown.

    Added in version 0.1.0.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=lambda h: f"<{len(h)} headers>")
    content: bytes = attrs.field(default=b"", repr=lambda b: f"<{len(b)} bytes>")
    delivers: bool = True

    @classmethod
    def json(
        cls,
        method: str,
        url: str,
        body: object,
        *,
        headers: Mapping[str, str] | None = None,
        delivers: bool = True,
    ) -> HttpCall:
        """A call with a JSON body (compact, UTF-8) and its content type."""
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(method=method, url=url, headers=merged, content=content, delivers=delivers)

    @classmethod
    def form(
        cls,
        method: str,
        url: str,
        fields: Mapping[str, str] | list[tuple[str, str | int | float | bool | None]],
        *,
        headers: Mapping[str, str] | None = None,
        delivers: bool = True,
    ) -> HttpCall:
        """A call with a form-encoded body and its content type."""
        content = httpx.QueryParams(fields).__str__().encode()
        merged = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return cls(method=method, url=url, headers=merged, content=content, delivers=delivers)


@attrs.frozen(kw_only=True)
class HttpAnswer:
    """
    The provider's response to one `HttpCall`.

    Attributes:
        status: The HTTP status code.
        headers: The response headers (lower-case names).
        content: The body bytes.

    Added in version 0.1.0.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body as JSON, or `None` if it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode(errors="replace")


Exchange = Generator[HttpCall, HttpAnswer, SendResult]
"""A provider exchange: yields calls, receives their answers, returns the send's result."""


def retry_after(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """
    The wait a provider asked for, in seconds.

    `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (seconds, or a Unix
    time when larger than a day's seconds).

    Added in version 0.1.0.
    """
    lower = {key.lower(): value for key, value in headers.items()}
    moment = now or dt.datetime.now(dt.UTC)
    value = lower.get("retry-after")
    if value is not None:
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - moment).total_seconds())
    reset = _seconds(lower.get("x-ratelimit-reset", ""))
    if reset is None:
        return None
    if reset > 86_400:  # a Unix time, as GitHub-style limits give it
        return max(0.0, reset - moment.timestamp())
    return reset


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class HttpConnector:
    """
    The base of HTTP connectors: subclass it and write `request()` and `interpret()`.

    Args:
        base_url: Where the provider's API is; every HTTP connector takes it, so tests and
            regional endpoints can point it elsewhere. Defaults to `default_base_url`.
        timeout: Seconds to wait for the provider, per call.
        client: An `httpx.Client` to send with, shared and closed by the host; one is made
            (and closed by `close()`) if not given.
        async_client: The same for `asend()`.

    Added in version 0.1.0.
    """

    name: str = "http"
    """The name deliveries show; a class default that an instance may replace."""
    channel: str = "webhook"
    """The channel it serves; a connector that serves one of several sets it per instance."""
    capabilities: Capabilities = Capabilities()
    """What it carries; like `channel`, a class default that an instance may replace."""
    default_base_url: ClassVar[str] = ""
    permanent_statuses: ClassVar[frozenset[int]] = frozenset(
        {400, 401, 403, 404, 405, 410, 413, 422}
    )
    """Statuses that `classify()` calls refusals: sending the same again fails again."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        base = base_url if base_url is not None else self.default_base_url
        if not base.startswith(("http://", "https://")):
            raise ValidationError(f"base_url: {base!r} is not an http(s) URL")
        if not timeout > 0:
            raise ValidationError(f"timeout: {timeout!r} is not a positive number of seconds")
        self.base_url = base.rstrip("/")
        self.timeout = timeout
        self._client = client
        self._async_client = async_client
        self._owns_client = client is None
        self._owns_async_client = async_client is None
        self._closed = False
        self._lock = threading.Lock()

    # -- what a subclass writes ------------------------------------------------------------------

    def request(self, envelope: Envelope) -> HttpCall:
        """The one call that hands *envelope* to the provider."""
        raise NotImplementedError(f"{type(self).__name__} must define request() or exchange()")

    def interpret(self, envelope: Envelope, answer: HttpAnswer) -> SendResult:
        """What the provider's *answer* means; by default, `classify(answer)` of any 2xx."""
        if 200 <= answer.status < 300:
            return Accepted(provider_message_id=envelope.id, status=str(answer.status))
        return self.classify(answer)

    def exchange(self, envelope: Envelope) -> Exchange:
        """The whole exchange for *envelope*: by default `request()`, then `interpret()`."""
        answer = yield self.request(envelope)
        return self.interpret(envelope, answer)

    def classify(
        self, answer: HttpAnswer, *, code: str | None = None, reason: str = ""
    ) -> SendResult:
        """
        A failed answer as a result, by its status.

        429 is transient and safe to retry (never processed), 5xx and 408 transient, any other
        4xx refused.
        """
        shown = code or str(answer.status)
        why = reason or _snippet(answer.text)
        wait = retry_after(answer.headers)
        if answer.status == 429:
            return Transient(code=shown, reason=why, retry_after=wait, safe_to_retry=True)
        if answer.status >= 500 or answer.status == 408:
            return Transient(code=shown, reason=why, retry_after=wait)
        return Refused(code=shown, reason=why)

    # -- the drivers -----------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> SendResult:
        """Hand *envelope* to the provider once; see `omnikit.connectors.Connector.send`."""
        self._check(envelope)
        flow = self.exchange(envelope)
        answer: HttpAnswer | None = None
        while True:
            try:
                call = flow.send(answer) if answer is not None else next(flow)
            except StopIteration as done:
                return _result(done.value)
            try:
                answer = self._answer(self._sync_client().request(**self._httpx(call)))
            except httpx.TransportError as exc:
                flow.close()
                return _failure(call, exc)

    async def asend(self, envelope: Envelope) -> SendResult:
        """As `send()`, over `httpx.AsyncClient`."""
        self._check(envelope)
        flow = self.exchange(envelope)
        answer: HttpAnswer | None = None
        while True:
            try:
                call = flow.send(answer) if answer is not None else next(flow)
            except StopIteration as done:
                return _result(done.value)
            try:
                response = await self._async_client_().request(**self._httpx(call))
                answer = self._answer(response)
            except httpx.TransportError as exc:
                flow.close()
                return _failure(call, exc)

    def close(self) -> None:
        """Close the clients this connector made (not those the host gave it)."""
        self._closed = True
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the clients this connector made, the async one awaited."""
        self.close()
        if self._owns_async_client and self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    # -- plumbing --------------------------------------------------------------------------------

    def _check(self, envelope: Envelope) -> None:
        if self._closed:
            raise ConnectorError(f"connector {self.name!r} is closed")
        if envelope.rendition.channel != self.channel:
            raise ValidationError(
                f"channel: connector {self.name!r} serves {self.channel!r}, "
                f"not {envelope.rendition.channel!r}"
            )
        check_rendition(envelope.rendition, self.capabilities)

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client

    def _async_client_(self) -> httpx.AsyncClient:
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._async_client

    def _httpx(self, call: HttpCall) -> dict[str, Any]:
        url = call.url if "://" in call.url else f"{self.base_url}/{call.url.lstrip('/')}"
        return {
            "method": call.method,
            "url": url,
            "headers": dict(call.headers),
            "content": call.content,
        }

    @staticmethod
    def _answer(response: httpx.Response) -> HttpAnswer:
        headers = {key.lower(): value for key, value in response.headers.items()}
        return HttpAnswer(status=response.status_code, headers=headers, content=response.content)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} channel={self.channel} {self.base_url}>"


def _result(value: object) -> SendResult:
    if isinstance(value, Accepted | Refused | Transient | Unknown):
        return value
    raise ConnectorError(
        f"a connector's exchange returned a {type(value).__name__}, not a send result"
    )


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _failure(call: HttpCall, exc: httpx.TransportError) -> SendResult:
    """A transport failure as a result: unsent is safe to retry; sent and unanswered, unknown."""
    reason = f"{type(exc).__name__}: {_snippet(str(exc))}" if str(exc) else type(exc).__name__
    if isinstance(exc, _NOT_SENT) or not call.delivers:
        return Transient(code="transport", reason=reason, safe_to_retry=True)
    return Unknown(reason=reason)


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
