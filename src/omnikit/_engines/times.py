"""
When a message may say its event happened: within a window around its receipt.

Pure: the caller passes the time of receipt.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = ["MAX_FUTURE", "MAX_PAST", "from_us", "time_error", "to_us"]

MAX_PAST: Final = dt.timedelta(days=10_958)
"""30 years: order histories that retailers load go back a decade or two, not to 1970."""
MAX_FUTURE: Final = dt.timedelta(days=1)
"""A day: a device's clock set to the wrong zone is hours ahead, never days."""
# Datetimes whose UTC time is in these bounds can be shown at any UTC offset, and a day added.
_EARLIEST: Final = dt.datetime(1, 1, 3, tzinfo=dt.UTC)
_LATEST: Final = dt.datetime(9999, 12, 29, tzinfo=dt.UTC)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US: Final = dt.timedelta(microseconds=1)


def to_us(moment: dt.datetime) -> int:
    """Microseconds since the Unix epoch, for ordering and storage."""
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> dt.datetime:
    """The UTC datetime *us* microseconds after the Unix epoch."""
    return _EPOCH + dt.timedelta(0, 0, us)  # positionally: days, seconds, microseconds


def time_error(
    moment: dt.datetime,
    field: str,
    *,
    now: dt.datetime,
    max_past: dt.timedelta | None,
    max_future: dt.timedelta | None,
) -> str | None:
    """
    Why *moment* is not a time the hub accepts for an event it receives at *now*, or `None`.

    It must be within *max_past* before *now* and *max_future* after (`None`: no bound),
    and in years every store and reader can hold (its UTC time from 0001-01-03 to 9999-12-29).
    """
    gap = moment - now  # a timedelta, which unlike a datetime cannot overflow here
    if max_past is not None and -gap > max_past:
        return (
            f"{field}: {moment.isoformat()} is more than {_span(max_past)} before now "
            f"({now.isoformat()}); set the hub's max_past to accept older events"
        )
    if max_future is not None and gap > max_future:
        return (
            f"{field}: {moment.isoformat()} is more than {_span(max_future)} after now "
            f"({now.isoformat()}); the sender's clock may be wrong (the hub's max_future "
            "sets how far ahead an event may be)"
        )
    if not 1 < moment.year < 9999 and not _EARLIEST <= moment <= _LATEST:  # year: no offset
        return (
            f"{field}: {moment.isoformat()} is outside the times omnikit stores "
            "(0001-01-03 to 9999-12-29 UTC)"
        )
    return None


def _span(span: dt.timedelta) -> str:
    """*span* in words: `30 years`, `1 day`, `2:00:00`."""
    years = round(span.days / 365.25)
    if years >= 1 and abs(span.total_seconds() - years * 365.25 * 86_400) < 86_400:
        return f"{years} year{'s' * (years != 1)}"
    if span.seconds == span.microseconds == 0:
        return f"{span.days} day{'s' * (span.days != 1)}"
    return str(span)
