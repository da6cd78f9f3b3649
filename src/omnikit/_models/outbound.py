"""
What the brand sends and what comes back: renditions, envelopes, send results, provider events.

These are the rows that cross the connector port. A connector is handed an `Envelope` (one
`Rendition` of a message, addressed to one recipient, with our delivery id) and answers with
one `SendResult`: `Accepted`, `Refused`, `Transient` or `Unknown`, never a boolean. What a
provider later tells us about it (a receipt, a reply, a click) arrives as an `InboundRequest`
that the connector verifies and parses into `ProviderEvent`s.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterator, Mapping
from typing import TypeAlias

import attrs

from omnikit._models.consent import aware
from omnikit.errors import ValidationError

__all__ = [
    "Accepted",
    "Capabilities",
    "Delivery",
    "DeliveryStatus",
    "Envelope",
    "EventKind",
    "Guarantee",
    "InboundRequest",
    "ProviderEvent",
    "Refused",
    "Rendition",
    "SendResult",
    "TemplateRef",
    "Transient",
    "Unknown",
]

_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class DeliveryStatus(enum.StrEnum):
    """
    Where a message is on its way to the customer.

    `queued`, `deferred` (held by the contact policy until an allowed time) and `sending` are
    ours; `sent` means a provider accepted it; `delivered`, `bounced`, `failed` and
    `undelivered` come from receipts; `opened`, `clicked`, `read`, `complained` and
    `unsubscribed` from engagement. `refused` (by policy or provider), `unknown` (the request
    went out and no answer came) and `dead` (retries used up) end a send without a receipt.

    Added in version 0.1.0.
    """

    QUEUED = "queued"
    DEFERRED = "deferred"
    SENDING = "sending"
    UNKNOWN = "unknown"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    READ = "read"
    BOUNCED = "bounced"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    REFUSED = "refused"
    DEAD = "dead"


class EventKind(enum.StrEnum):
    """
    What a provider's event is about.

    A message's `status`, an `inbound` message from a customer, or an `engagement` (open,
    click, unsubscribe, complaint).

    Added in version 0.1.0.
    """

    STATUS = "status"
    INBOUND = "inbound"
    ENGAGEMENT = "engagement"


@attrs.frozen(kw_only=True)
class Capabilities:
    """
    What a connector can carry, checked before anything goes out.

    Attributes:
        max_length: The longest text body it takes, in characters (`None`: no limit).
        max_bytes: The largest payload it takes, in bytes (push providers count bytes).
        rich_content: It renders HTML or rich blocks, not only plain text.
        attachments: It carries media or attachments.
        templates_required: It sends only pre-approved templates (outside a service window).
        idempotency_keys: The provider deduplicates requests by a key we send.
        echoes_correlation_id: The provider's receipts carry our delivery id back.
        max_batch: The most envelopes one provider request takes.

    Added in version 0.1.0.
    """

    max_length: int | None = None
    max_bytes: int | None = None
    rich_content: bool = False
    attachments: bool = False
    templates_required: bool = False
    idempotency_keys: bool = False
    echoes_correlation_id: bool = False
    max_batch: int = 1


@attrs.frozen(kw_only=True)
class TemplateRef:
    """
    A template registered with the provider (a WhatsApp template, a SendGrid dynamic template).

    Attributes:
        name: The provider's name or id of the template.
        language: Its language code (`"en_US"`), where the provider needs one.
        parameters: The values of its placeholders, in order, as text.

    Added in version 0.1.0.
    """

    name: str
    language: str | None = None
    parameters: tuple[str, ...] = ()


def _frozen_strings(value: Mapping[object, object] | None) -> Mapping[str, str]:
    items: dict[object, object] = dict(value or {})
    for key, item in items.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValidationError(
                f"data.{key}: push and webhook data values are text; got {type(item).__name__}"
            )
    return _ReadOnly(items)  # type: ignore[arg-type]  # every key and value checked above


class _ReadOnly(Mapping[str, str]):
    """A mapping nobody changes after it is made: renditions are shared between attempts."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


@attrs.frozen(kw_only=True)
class Rendition:
    """
    A message as one channel carries it, addressed to one recipient.

    Attributes:
        channel: The channel it goes out on (`"email"`, `"sms"`, `"push"`, ...).
        to: The recipient's address on that channel: an email address, an E.164 phone
            number, a device token, a chat channel, a URL.
        text: The plain-text body (an SMS, a push body, an email's text part).
        subject: An email's subject or a push notification's title.
        html: An email's HTML part.
        data: Key-value data for the app or the receiving system (text values only, as FCM
            requires).
        template: A provider template to send instead of free text.
        media: URLs of images or attachments.
        sender: Who it is from, where the channel lets each message say (`from`).

    Added in version 0.1.0.
    """

    channel: str
    to: str
    text: str = ""
    subject: str | None = None
    html: str | None = None
    data: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_strings)
    template: TemplateRef | None = None
    media: tuple[str, ...] = ()
    sender: str | None = None


def _check_delivery_id(_instance: object, _attribute: object, value: str) -> None:
    if not _DELIVERY_ID.fullmatch(str(value)):
        raise ValidationError(
            f"id: {value!r:.60} is not a delivery id (1 to 128 letters, digits, '_', '.', ':' or '-')"
        )


@attrs.frozen(kw_only=True)
class Envelope:
    """
    One attempt to hand a rendition to a provider.

    Attributes:
        id: Our delivery id. Connectors pass it to the provider wherever the provider echoes it
            back in receipts (a custom argument, a callback URL, a data field, a header), so
            that a receipt finds its message.
        rendition: What to send, to whom.
        key: The idempotency key, for providers that deduplicate by one.
        attempt: 1 for the first attempt, then 2, 3, ... for retries.

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=_check_delivery_id)
    rendition: Rendition
    key: str | None = None
    attempt: int = 1


@attrs.frozen(kw_only=True)
class Accepted:
    """
    The provider accepted the message (which is not yet delivery: receipts tell that).

    Attributes:
        provider_message_id: The provider's id of the message (Twilio's SID, a `wamid`, ...).
        status: The provider's own word for the state it accepted the message in.

    Added in version 0.1.0.
    """

    provider_message_id: str
    status: str = "accepted"


@attrs.frozen(kw_only=True)
class Refused:
    """
    The provider refused the message for good: sending it again fails again.

    Attributes:
        code: The provider's error code (`"21211"`, `"invalid_auth"`), or the HTTP status.
        reason: The provider's explanation, as it gave it.

    Added in version 0.1.0.
    """

    code: str
    reason: str


@attrs.frozen(kw_only=True)
class Transient:
    """
    The provider did not take the message this time; a later attempt may succeed.

    Attributes:
        code: The provider's error code, or the HTTP status.
        reason: What went wrong.
        retry_after: The seconds the provider asked us to wait, if it said.
        safe_to_retry: The provider guarantees the request was not processed (a 429, a
            connection refused before the request was sent), so a retry cannot duplicate it.

    Added in version 0.1.0.
    """

    code: str
    reason: str
    retry_after: float | None = None
    safe_to_retry: bool = False


@attrs.frozen(kw_only=True)
class Unknown:
    """
    The request went out and no answer came: the provider may or may not have the message.

    Attributes:
        reason: What happened (a read timeout, a reset connection).

    Added in version 0.1.0.
    """

    reason: str


SendResult: TypeAlias = Accepted | Refused | Transient | Unknown
"""What one send attempt gives: exactly one of the four outcomes."""


class _Headers(Mapping[str, str]):
    """Request headers, looked up regardless of case, as HTTP has them."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = {str(key).lower(): str(value) for key, value in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._items)})"  # names only: values may carry signatures


def _upper(value: str) -> str:
    return str(value).upper()


def _headers(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return value if isinstance(value, _Headers) else _Headers(value or {})


def _body(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if not isinstance(value, bytes):
        raise ValidationError(
            f"body: the raw request body as bytes; got {type(value).__name__} "
            "(signatures are over the exact bytes received, never a re-serialised body)"
        )
    return value


@attrs.frozen(kw_only=True)
class InboundRequest:
    """
    A webhook request exactly as it reached the host: what a connector verifies and parses.

    Attributes:
        method: The HTTP method (`"POST"`).
        url: The full public URL the provider called, with its query string, as the provider
            saw it (behind a proxy, the public one: Twilio signs it).
        headers: The request headers (looked up regardless of case).
        body: The raw body bytes, never a re-serialised form.

    Added in version 0.1.0.
    """

    method: str = attrs.field(converter=_upper)
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    body: bytes = attrs.field(default=b"", converter=_body, repr=lambda b: f"<{len(b)} bytes>")


@attrs.frozen(kw_only=True)
class ProviderEvent:
    """
    One thing a provider told us: a status change, an inbound message or an engagement.

    Attributes:
        kind: What the event is about.
        event_id: The provider's id of the event, unique per provider; webhooks are delivered
            at least once, so this is what duplicates are recognised by.
        status: The new status of the message, for status and engagement events.
        delivery_id: Our delivery id, when the provider echoed it back.
        provider_message_id: The provider's id of the message the event is about.
        address: The customer's address it came from or went to (a phone number, an email).
        text: An inbound message's text.
        code: The provider's code for a failure, if any.
        reason: The provider's explanation of a failure, if any.
        timestamp: When the provider says it happened (ISO 8601), if it says.
        raw: The event as the provider sent it (JSON values).

    Added in version 0.1.0.
    """

    kind: EventKind
    event_id: str
    status: DeliveryStatus | None = None
    delivery_id: str | None = None
    provider_message_id: str | None = None
    address: str | None = None
    text: str | None = None
    code: str | None = None
    reason: str | None = None
    timestamp: str | None = None
    raw: Mapping[str, object] = attrs.field(factory=dict, repr=False, eq=False)


class Guarantee(enum.StrEnum):
    """
    What happens to a message whose send went out and got no answer.

    `at_most_once` (the default, right for marketing): it is held as `unknown` until a
    receipt or the host settles it; never sent again. `at_least_once` (a one-time code, an
    order confirmation the customer must get): it is sent again, and may arrive twice.

    Added in version 0.1.0.
    """

    AT_MOST_ONCE = "at_most_once"
    AT_LEAST_ONCE = "at_least_once"


@attrs.frozen(kw_only=True)
class Delivery:
    """
    One message on its way to one customer: the outbox's row, and what `Hub.send()` returns.

    Attributes:
        id: Our delivery id; it travels to the provider where the provider echoes it.
        customer_id: The customer it is for.
        channel: The channel it goes (or would have gone) out on.
        status: Where it is (see `DeliveryStatus`).
        purpose: What it is for (`"marketing"`, `"transactional"`, ...).
        connector: The connector that sends it (the next to try, until sent).
        address: The customer's address on the channel.
        key: The idempotency key it was sent with: the same key never sends twice.
        reason: Why it was deferred, refused, held or dead-lettered.
        code: The provider's code for a refusal or failure, if any.
        provider_message_id: The provider's id, once a provider accepted it.
        attempts: Send attempts so far.
        guarantee: What happens when an attempt's outcome is unknown.
        rendition: What is sent, as the channel carries it (`None` if refused before).
        created_at: When the send was asked for.
        updated_at: When the row last changed.
        due_at: When it may next be attempted (queued, deferred or retrying).
        lease_until: While an attempt holds it, until when (a crashed sender's lease lapses).
        version: Bumped on every change, so two writers cannot both settle it.
        name: A label for reports (the message or campaign name).

    Added in version 0.1.0.
    """

    id: str = attrs.field(validator=_check_delivery_id)
    customer_id: str
    channel: str
    status: DeliveryStatus = attrs.field(converter=DeliveryStatus)
    purpose: str = "marketing"
    connector: str | None = None
    address: str | None = None
    key: str | None = None
    reason: str | None = None
    code: str | None = None
    provider_message_id: str | None = None
    attempts: int = 0
    guarantee: Guarantee = attrs.field(default=Guarantee.AT_MOST_ONCE, converter=Guarantee)
    rendition: Rendition | None = None
    created_at: dt.datetime = attrs.field(validator=aware)
    updated_at: dt.datetime = attrs.field(validator=aware)
    due_at: dt.datetime | None = attrs.field(default=None, validator=aware)
    lease_until: dt.datetime | None = attrs.field(default=None, validator=aware)
    version: int = 0
    name: str | None = None

    def envelope(self) -> Envelope:
        """The envelope of this delivery's next attempt."""
        if self.rendition is None:
            raise ValidationError(f"rendition: delivery {self.id} has nothing to send")
        return Envelope(id=self.id, rendition=self.rendition, key=self.key, attempt=self.attempts)
