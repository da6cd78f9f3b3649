"""
The in-memory connector: an outbox you can read, for tests, notebooks and the demo.

```python
email = MemoryConnector("email")
hub = omnikit.Hub(connectors=[email])
hub.send(customer, message)
email.sent  # the envelopes the "provider" accepted, in order
```

It can play a provider's bad days (`script()` queues the results of the next sends) and its
webhooks: `receipt()` and `reply()` make signed `InboundRequest`s that its `verify()` and
`parse()` accept, as a real provider's would be.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import secrets
import threading
from typing import Any

from omnikit._models.outbound import (
    Accepted,
    Capabilities,
    Delivery,
    DeliveryStatus,
    Envelope,
    EventKind,
    InboundRequest,
    ProviderEvent,
    SendResult,
)
from omnikit.connectors import ConnectorURL, Secret, check_rendition
from omnikit.connectors.signing import ReplayGuard, equal, hmac_digest
from omnikit.errors import ConnectorError, SignatureError, ValidationError

__all__ = ["SIGNATURE_HEADER", "MemoryConnector"]

SIGNATURE_HEADER = "X-Omnikit-Signature"
"""The header carrying the hex HMAC-SHA256 of the body under the connector's secret."""


class MemoryConnector:
    """
    A connector that keeps what it is sent, in this process.

    Args:
        channel: The channel it serves.
        name: The name deliveries show; `memory-<channel>` by default, so that a hub can
            have one for each channel.
        capabilities: What it pretends to carry (no limits by default).
        secret: The secret its webhooks are signed with; a random one if not given.

    Attributes:
        sent: The envelopes accepted, in order.
        attempts: Every envelope handed to it, accepted or not, in order.

    Added in version 0.1.0.
    """

    def __init__(
        self,
        channel: str = "email",
        *,
        name: str | None = None,
        capabilities: Capabilities | None = None,
        secret: str | Secret | None = None,
    ) -> None:
        self.name = name or f"memory-{channel}"
        self.channel = channel
        self.capabilities = capabilities or Capabilities(rich_content=True, attachments=True)
        self._secret = Secret(secret or secrets.token_hex(16))
        self.sent: list[Envelope] = []
        self.attempts: list[Envelope] = []
        self._script: collections.deque[SendResult] = collections.deque()
        self._count = 0
        self._closed = False
        self._lock = threading.Lock()
        self._replays = ReplayGuard(dt.timedelta(days=1))

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryConnector:
        """`memory://email`: the host names the channel."""
        parsed = ConnectorURL(url)
        return cls(parsed.host or "email", secret=parsed.secret("secret"), **options)

    def script(self, *results: SendResult) -> None:
        """Make the next sends answer *results*, in order; then they are accepted again."""
        with self._lock:
            self._script.extend(results)

    # -- sending ---------------------------------------------------------------------------------

    def send(self, envelope: Envelope) -> SendResult:
        """Keep *envelope* (or answer what `script()` queued)."""
        if self._closed:
            raise ConnectorError(f"connector {self.name!r} is closed")
        if envelope.rendition.channel != self.channel:
            raise ValidationError(
                f"channel: connector {self.name!r} serves {self.channel!r}, "
                f"not {envelope.rendition.channel!r}"
            )
        check_rendition(envelope.rendition, self.capabilities)
        with self._lock:
            self.attempts.append(envelope)
            if self._script:
                return self._script.popleft()
            self._count += 1
            self.sent.append(envelope)
            return Accepted(provider_message_id=f"mem-{self._count}", status="queued")

    async def asend(self, envelope: Envelope) -> SendResult:
        """As `send()`."""
        return self.send(envelope)

    def close(self) -> None:
        """Stop taking envelopes; what was sent stays readable."""
        self._closed = True

    async def aclose(self) -> None:
        """As `close()`."""
        self.close()

    # -- webhooks --------------------------------------------------------------------------------

    def receipt(
        self,
        envelope: Envelope | Delivery | str,
        status: DeliveryStatus | str,
        *,
        event_id: str | None = None,
        code: str | None = None,
        reason: str | None = None,
    ) -> InboundRequest:
        """A signed webhook request telling *status* of a message (an envelope, delivery or id)."""
        delivery_id = envelope if isinstance(envelope, str) else envelope.id
        event = {
            "kind": (
                EventKind.STATUS
                if DeliveryStatus(status) not in _ENGAGEMENT
                else EventKind.ENGAGEMENT
            ).value,
            "event_id": event_id or secrets.token_hex(8),
            "status": DeliveryStatus(status).value,
            "delivery_id": delivery_id,
            "code": code,
            "reason": reason,
        }
        return self._signed({"events": [event]})

    def reply(self, address: str, text: str, *, event_id: str | None = None) -> InboundRequest:
        """A signed webhook request carrying a customer's message from *address*."""
        event = {
            "kind": EventKind.INBOUND.value,
            "event_id": event_id or secrets.token_hex(8),
            "address": address,
            "text": text,
        }
        return self._signed({"events": [event]})

    def _signed(self, payload: dict[str, Any]) -> InboundRequest:
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac_digest(self._secret.reveal(), body).hex()
        return InboundRequest(
            method="POST",
            url=f"https://hooks.invalid/{self.name}/{self.channel}",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            body=body,
        )

    def verify(self, request: InboundRequest, *, now: dt.datetime) -> None:
        """Check the body's HMAC-SHA256 under this connector's secret, and that it is new."""
        given = request.headers.get(SIGNATURE_HEADER)
        if given is None:
            raise SignatureError(f"{SIGNATURE_HEADER}: missing")
        expected = hmac_digest(self._secret.reveal(), request.body).hex()
        if not equal(given, expected):
            raise SignatureError(f"{SIGNATURE_HEADER}: does not match the body")
        self._replays.check(given, now=now)

    def parse(self, request: InboundRequest) -> list[ProviderEvent]:
        """The events of a request made by `receipt()` or `reply()`."""
        try:
            events = json.loads(request.body)["events"]
            return [_event(item) for item in events]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"body: not a memory connector webhook ({exc})") from None

    def __repr__(self) -> str:
        return f"<MemoryConnector {self.name} channel={self.channel} sent={len(self.sent)}>"


_ENGAGEMENT = frozenset(
    {
        DeliveryStatus.OPENED,
        DeliveryStatus.CLICKED,
        DeliveryStatus.READ,
        DeliveryStatus.COMPLAINED,
        DeliveryStatus.UNSUBSCRIBED,
    }
)


def _event(item: dict[str, Any]) -> ProviderEvent:
    status = item.get("status")
    return ProviderEvent(
        kind=EventKind(item["kind"]),
        event_id=str(item["event_id"]),
        status=DeliveryStatus(status) if status else None,
        delivery_id=item.get("delivery_id"),
        address=item.get("address"),
        text=item.get("text"),
        code=item.get("code"),
        reason=item.get("reason"),
        raw=item,
    )
