"""
The contact policy: the wall every send goes through. Pure: `now` and the history are given.

For one customer, one purpose and the channels a send may use, `judge()` answers `send` (on
which channel, to which address), `defer` (until when) or `refuse` (why), checking in order:

1. the channel is one the hub can send on and the customer has an address on it;
2. the address is not suppressed (a hard bounce, a complaint, an erased identifier);
3. consent: marketing (and any purpose but transactional and service) needs an opt-in in
   force on that channel; transactional and service messages need no opt-in but respect an
   explicit refusal;
4. frequency caps, per channel and overall, counted over the customer's recent deliveries;
5. quiet hours, in the customer's own time zone (theirs, else the policy's): a send inside
   them is deferred to the end of the window, never dropped. Transactional messages pass
   quiet hours only if the policy says so.

When the send names no channel, the customer's preferred channels come first, then the
policy's fallback chain (push → SMS → email by default); the first channel that passes every
check wins, and each one passed over is reported with its reason.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Collection, Mapping, Sequence

import attrs

from omnikit._models.consent import QuietHours, purpose_name
from omnikit._models.customers import Customer
from omnikit.errors import ValidationError

__all__ = ["Action", "ContactPolicy", "FrequencyCap", "PastSend", "Verdict", "judge"]

_UNCONSENTED_PURPOSES = frozenset({"transactional", "service"})
"""Purposes that need no opt-in (an order update), only the absence of a refusal."""


class Action(enum.StrEnum):
    """
    What the policy says about a send.

    Added in version 0.1.0.
    """

    SEND = "send"
    DEFER = "defer"
    REFUSE = "refuse"


def _positive_limit(_instance: object, _attribute: object, value: int) -> None:
    if value < 1:
        raise ValidationError(f"limit: {value!r} is not a positive number of messages")


def _positive_period(_instance: object, _attribute: object, value: dt.timedelta) -> None:
    if value <= dt.timedelta(0):
        raise ValidationError(f"per: {value!r} is not a positive period")


@attrs.frozen(kw_only=True)
class FrequencyCap:
    """
    At most *limit* messages of *purpose* per *per*, on *channel* (`None`: all channels together).

    ```python
    FrequencyCap(limit=3, per=dt.timedelta(days=7))  # three marketing messages a week, overall
    FrequencyCap(channel="sms", limit=1, per=dt.timedelta(days=1))
    ```

    Added in version 0.1.0.
    """

    limit: int = attrs.field(validator=_positive_limit)
    per: dt.timedelta = attrs.field(validator=_positive_period)
    channel: str | None = None
    purpose: str = attrs.field(default="marketing", converter=purpose_name)

    def describe(self) -> str:
        """The cap in words, for reasons: `'at most 3 marketing messages per 7 days on sms'`."""
        where = f" on {self.channel}" if self.channel else ""
        return f"at most {self.limit} {self.purpose} messages per {_period(self.per)}{where}"


def _period(period: dt.timedelta) -> str:
    if period % dt.timedelta(days=1) == dt.timedelta(0):
        return f"{period.days} days" if period.days != 1 else "day"
    hours = period.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "hour"


_EVENINGS = QuietHours(start=dt.time(21), end=dt.time(8))

DEFAULT_ADDRESSES: Mapping[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("phone",),
    "whatsapp": ("phone",),
    "push": ("push_token",),
    "in_app": ("user_id",),
    "chat": ("chat_id", "user_id"),  # a chat user id, as a reply on the chat gives it
}
"""Which identity kinds address a customer on each channel, in order of preference."""


@attrs.frozen(kw_only=True)
class ContactPolicy:
    """
    The rules every send obeys.

    Attributes:
        caps: Frequency caps; every cap that matches a send's purpose and channel must hold.
        quiet_hours: When not to contact anyone, in their local time, unless the customer
            set their own (`Preferences.quiet_hours`). `None`: no quiet hours by default.
        timezone: The time zone for customers who have none (`Preferences.timezone`).
        transactional_in_quiet_hours: Transactional and service messages (an order ready,
            a one-time code) go out in quiet hours too.
        fallback: The channels to try, in order, when a send names none and the customer's
            preferred channels cannot be used.
        addresses: Which identity kinds address a customer on each channel.

    Added in version 0.1.0.
    """

    caps: tuple[FrequencyCap, ...] = ()
    quiet_hours: QuietHours | None = attrs.field(factory=lambda: _EVENINGS)
    timezone: str = "UTC"
    transactional_in_quiet_hours: bool = True
    fallback: tuple[str, ...] = ("push", "sms", "email")
    addresses: Mapping[str, tuple[str, ...]] = attrs.field(factory=lambda: dict(DEFAULT_ADDRESSES))

    def __attrs_post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"timezone: {self.timezone!r} is not an IANA time zone") from None

    def address_of(self, customer: Customer, channel: str) -> str | None:
        """The customer's address on *channel*: their first identifier of a kind that serves."""
        for kind in self.addresses.get(channel, ()):
            values = customer.identifiers(kind)
            if values:
                return values[0]
        return None


@attrs.frozen(kw_only=True)
class PastSend:
    """A message sent (or on its way) to the customer: what caps count."""

    channel: str
    purpose: str
    at: dt.datetime


@attrs.frozen(kw_only=True)
class Verdict:
    """
    The policy's answer for one send.

    Attributes:
        action: Send, defer or refuse.
        channel: The channel to send on (for send and defer).
        address: The customer's address on it.
        until: For a deferral, when the send may go.
        reason: Why it was deferred or refused; for a send, empty.
        passed_over: The channels tried before, each with why it was not used.

    Added in version 0.1.0.
    """

    action: Action
    channel: str | None = None
    address: str | None = None
    until: dt.datetime | None = None
    reason: str = ""
    passed_over: tuple[tuple[str, str], ...] = ()


def judge(
    policy: ContactPolicy,
    customer: Customer,
    *,
    purpose: str,
    now: dt.datetime,
    channel: str | None,
    sendable: Collection[str],
    history: Sequence[PastSend] = (),
    suppressed: Collection[tuple[str, str]] = (),
    address: str | None = None,
) -> Verdict:
    """
    What the policy says about sending *customer* a message of *purpose* at *now*.

    Args:
        policy: The contact policy.
        customer: The customer, with consents and preferences as they stand.
        purpose: What the message is for (`"marketing"`, `"transactional"`, ...).
        now: The moment of the send (time-zone aware).
        channel: The channel asked for, or `None` to pick by preference and fallback.
        sendable: The channels the hub has a connector for.
        history: The customer's recent sends (at least as far back as the longest cap).
        suppressed: `(channel, address)` pairs that must not be contacted.
        address: The address to use, overriding the customer's identifiers (only with
            *channel*).

    Added in version 0.1.0.
    """
    ask = _Ask(
        policy=policy,
        customer=customer,
        purpose=purpose_name(purpose),
        now=now,
        sendable=sendable,
        history=history,
        suppressed=suppressed,
    )
    passed_over: list[tuple[str, str]] = []
    for candidate in _candidates(policy, customer, channel):
        to = address if (address is not None and candidate == channel) else None
        to = to or policy.address_of(customer, candidate)
        reason = _blocked(ask, candidate, to)
        if reason is not None:
            passed_over.append((candidate, reason))
            continue
        until = _quiet_until(policy, customer, ask.purpose, now)
        if until is not None:
            return Verdict(
                action=Action.DEFER,
                channel=candidate,
                address=to,
                until=until,
                reason=f"quiet hours in the customer's time zone until {until.isoformat()}",
                passed_over=tuple(passed_over),
            )
        return Verdict(
            action=Action.SEND, channel=candidate, address=to, passed_over=tuple(passed_over)
        )
    reason = "; ".join(f"{name}: {why}" for name, why in passed_over) or "no channel to try"
    return Verdict(action=Action.REFUSE, reason=reason, passed_over=tuple(passed_over))


@attrs.frozen(kw_only=True)
class _Ask:
    """One send's question, as every channel's checks read it."""

    policy: ContactPolicy
    customer: Customer
    purpose: str
    now: dt.datetime
    sendable: Collection[str]
    history: Sequence[PastSend]
    suppressed: Collection[tuple[str, str]]


def _candidates(policy: ContactPolicy, customer: Customer, channel: str | None) -> list[str]:
    if channel is not None:
        return [channel]
    ordered: list[str] = []
    for name in (*customer.preferences.preferred_channels, *policy.fallback):
        if name not in ordered:
            ordered.append(name)
    return ordered


def _blocked(ask: _Ask, channel: str, to: str | None) -> str | None:
    """Why *channel* cannot carry this send, or `None` if it can (quiet hours aside)."""
    if channel not in ask.sendable:
        return "no connector for this channel"
    if not to:
        return "the customer has no address on this channel"
    if (channel, to) in ask.suppressed:
        return "the address is suppressed (bounced, complained or erased)"
    consent = _consent(ask.customer, channel, ask.purpose, ask.now)
    if consent is not None:
        return consent
    for cap in ask.policy.caps:
        if cap.purpose == ask.purpose and cap.channel in {None, channel}:
            since = ask.now - cap.per
            used = sum(
                1
                for sent in ask.history
                if sent.purpose == ask.purpose
                and sent.at > since
                and (cap.channel is None or sent.channel == cap.channel)
            )
            if used >= cap.limit:
                return f"frequency cap reached: {cap.describe()}"
    return None


def _consent(customer: Customer, channel: str, purpose: str, now: dt.datetime) -> str | None:
    if purpose in _UNCONSENTED_PURPOSES:
        refused = _latest_refusal(customer, channel, purpose, now)
        return f"the customer refused {purpose} messages on {channel}" if refused else None
    if customer.has_consent(channel, purpose, now=now):
        return None
    return f"no {purpose} consent in force on {channel}"


def _latest_refusal(customer: Customer, channel: str, purpose: str, now: dt.datetime) -> bool:
    latest = None
    for consent in customer.consents:
        if (
            consent.covers(channel, purpose)
            and consent.at <= now
            and (latest is None or consent.overrides(latest))
        ):
            latest = consent
    return latest is not None and not latest.granted and not latest.is_expired(now)


def _quiet_until(
    policy: ContactPolicy, customer: Customer, purpose: str, now: dt.datetime
) -> dt.datetime | None:
    """The end of the quiet hours *now* falls in, in UTC; `None` outside them."""
    if purpose in _UNCONSENTED_PURPOSES and policy.transactional_in_quiet_hours:
        return None
    quiet = customer.preferences.quiet_hours or policy.quiet_hours
    if quiet is None:
        return None
    zone = _zone(customer.preferences.timezone) or zoneinfo.ZoneInfo(policy.timezone)
    local = now.astimezone(zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = dt.datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), quiet.end, tzinfo=zone)
    return end.astimezone(dt.UTC)


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
