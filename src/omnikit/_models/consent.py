"""What a customer agreed to, and how they like to be contacted."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from typing import Any

import attrs

from omnikit.errors import ValidationError

__all__ = ["Consent", "Preferences", "Purpose", "QuietHours", "aware"]

_WORD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def aware(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate that a datetime field (or `None`) carries a UTC offset."""
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"{attribute.name}: expected a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValidationError(f"{attribute.name}: datetime has no UTC offset")


def _word(field: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if not isinstance(value, str) or not _WORD.match(value):
            raise ValidationError(f"{field}: {value!r} is not a lower-case name")

    return check


class Purpose(enum.StrEnum):
    """
    Common consent purposes; any other lower-case name is allowed too.

    Added in version 0.1.0.
    """

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"
    SERVICE = "service"
    ANALYTICS = "analytics"
    PERSONALIZATION = "personalization"


@attrs.define(frozen=True, kw_only=True)
class Consent:
    """
    A customer's answer about one *purpose* on one *channel* (`None`: every channel).

    Attributes:
        channel: The channel name, or `None` when the answer covers every channel.
        purpose: What the contact is for (`"marketing"`, `"transactional"`, ...).
        granted: `True` for an opt-in, `False` for an opt-out or a withdrawal.
        at: When the customer gave the answer.
        source: Where it was collected (`"web_signup"`, `"pos"`, `"sms_stop"`).
        message_id: The touchpoint that carried it, when there was one.
        expires_at: When the answer lapses, if it does (consent given for a year); from
            then on it is no consent, as if no answer had been given. Stored segment
            membership that depends on it changes only when the customer's segments are
            evaluated again (`Hub.refresh_segments()`, or their next ingested event).

    Added in version 0.1.0.
    """

    channel: str | None = None
    purpose: str = attrs.field(validator=_word("purpose"))
    granted: bool
    at: dt.datetime = attrs.field(validator=aware)
    source: str = ""
    message_id: str | None = None
    expires_at: dt.datetime | None = attrs.field(default=None, validator=aware)

    def covers(self, channel: str, purpose: str) -> bool:
        """Return whether this answer is about *purpose* on *channel*."""
        return self.purpose == purpose and (self.channel is None or self.channel == channel)

    def is_expired(self, now: dt.datetime) -> bool:
        """
        Return whether the answer has lapsed at *now* (never, without *expires_at*).

        Added in version 0.1.0.
        """
        return self.expires_at is not None and now >= self.expires_at

    def is_granted(self, now: dt.datetime) -> bool:
        """
        Return whether this answer is an opt-in still in force at *now*.

        Added in version 0.1.0.
        """
        return self.granted and not self.is_expired(now)


@attrs.define(frozen=True, kw_only=True)
class QuietHours:
    """
    A daily window, in the customer's local time, in which the brand must not reach out.

    A window may cross midnight (`start=22:00, end=08:00`).

    Added in version 0.1.0.
    """

    start: dt.time
    end: dt.time

    def contains(self, moment: dt.time) -> bool:
        """Return whether the local time *moment* falls inside the window."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@attrs.define(frozen=True, kw_only=True)
class Preferences:
    """
    How a customer likes to be contacted.

    Attributes:
        preferred_channels: Channel names, most preferred first.
        language: A BCP 47 language tag (`"pt-PT"`).
        timezone: An IANA time zone name (`"Europe/Lisbon"`).
        quiet_hours: When not to contact them, in their local time.

    Added in version 0.1.0.
    """

    preferred_channels: tuple[str, ...] = ()
    language: str | None = None
    timezone: str | None = None
    quiet_hours: QuietHours | None = None
