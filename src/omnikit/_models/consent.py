"""What a customer agreed to, and how they like to be contacted."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

import attrs

from omnikit.errors import ValidationError

__all__ = [
    "GRANT_WORDS",
    "REFUSAL_WORDS",
    "Consent",
    "Preferences",
    "Purpose",
    "QuietHours",
    "aware",
    "is_purpose",
    "purpose_name",
    "read_answer",
]

_WORD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SEPARATORS = re.compile(r"[\s\-]+")

GRANT_WORDS = frozenset({"true", "yes", "y", "on", "1", "granted"})
"""Strings read as a grant, compared trimmed and in any case."""
REFUSAL_WORDS = frozenset({"false", "no", "n", "off", "0", "denied"})
"""Strings read as a refusal, compared trimmed and in any case."""
_ANSWERS = {**dict.fromkeys(GRANT_WORDS, True), **dict.fromkeys(REFUSAL_WORDS, False)}


def aware(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate that a datetime field (or `None`) carries a UTC offset."""
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"{attribute.name}: expected a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValidationError(f"{attribute.name}: datetime has no UTC offset")


def purpose_name(name: str) -> str:
    """
    Return *name* as omnikit keeps a consent purpose: trimmed, lower-case, `_` for spaces.

    Each run of spaces and hyphens becomes one `_`: `" Data Sharing"` and `"data-sharing"`
    are `"data_sharing"`. Whatever writes or reads a purpose passes it through this, so that
    a purpose named in one spelling is found in any other. Applying it again changes nothing.
    """
    return _SEPARATORS.sub("_", name.strip().lower())


def is_purpose(name: str) -> bool:
    """Whether *name*, normalised, is a purpose: an ASCII letter, then letters, digits, `_`."""
    return _WORD.match(name) is not None


def read_answer(value: object) -> bool | None:
    """
    A consent answer as `True` (a grant) or `False` (a refusal), or `None` if it is neither.

    A grant is JSON `true`, the number 1, or a string of `GRANT_WORDS`; a refusal is `false`,
    0, or a string of `REFUSAL_WORDS`; strings in any case, with any surrounding whitespace.
    Anything else (`"maybe"`, `null`, `2`, `""`) is `None`, and never a grant.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        return _ANSWERS.get(value.strip().lower())
    return None


def _purpose(value: str) -> str:
    given: object = value  # a caller may pass anything: the validator then says what is wrong
    return purpose_name(value) if isinstance(given, str) else value


def _check_purpose(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not is_purpose(value):
        raise ValidationError(f"purpose: {value!r:.60} is not a consent purpose name")


def _check_granted(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(f"granted: expected true or false, got {value!r:.40}")


class Purpose(enum.StrEnum):
    """
    Common consent purposes; any other name of ASCII letters, digits and `_` is allowed too.

    Purposes are compared as `purpose_name` normalises them: `"Marketing"`,
    `" MARKETING "` and `"marketing"` are one purpose.

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
        purpose: What the contact is for (`"marketing"`, `"transactional"`, ...), kept
            trimmed and lower-case, with spaces and hyphens as `_` (`"Data Sharing"` is
            `"data_sharing"`).
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
    purpose: str = attrs.field(converter=_purpose, validator=_check_purpose)
    granted: bool = attrs.field(validator=_check_granted)
    at: dt.datetime = attrs.field(validator=aware)
    source: str = ""
    message_id: str | None = None
    expires_at: dt.datetime | None = attrs.field(default=None, validator=aware)

    def covers(self, channel: str, purpose: str) -> bool:
        """Return whether this answer is about *purpose* (in any spelling) on *channel*."""
        return self.purpose == purpose_name(purpose) and (
            self.channel is None or self.channel == channel
        )

    def overrides(self, other: Consent) -> bool:
        """
        Return whether this answer stands over *other*.

        It does when given later, or when it is a refusal given at the same moment (consent
        is a wall: a tie never opens it).

        Added in version 0.1.0.
        """
        return self.at > other.at or (self.at == other.at and not self.granted)

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
