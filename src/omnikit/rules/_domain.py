"""
Domain operations: what a retailer's rules ask about besides the data in front of them.

Recency (`days_since`), counts and sums of a customer's events in a time window, segment
membership, distances (`within_km`), and the local time in the customer's time zone. Each is
an operation `fn(env, *args)`: it gets the evaluated arguments, like a JsonLogic custom
operation, plus the `Env` of the decision (the time, the customer's history, the places).

They take little time whatever they are given: numbers and dates are read only from short
values (an array or a long string is not one), and each call (`CALL_COST` units), the
touchpoints they read from the history and the names they look up are charged to the work
of the evaluation that calls them (see `Limits`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
import functools
import math
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from omnikit._models.touchpoints import Direction, Touchpoint
from omnikit.errors import RuleError, ValidationError
from omnikit.rules._lang import js
from omnikit.rules._lang.meter import current_meter

__all__ = ["DOMAIN_OPERATIONS", "Env", "History", "Operation", "Place"]

Operation = Callable[..., Any]
"""A domain operation: `fn(env, *arguments) -> value`."""

_EARTH_KM: Final = 6371.0088
_DAY_S: Final = 86_400.0


def _coordinate(field: str, bound: float) -> Any:
    def check(_instance: object, _attribute: object, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -bound <= value <= bound
        ):
            raise ValidationError(
                f"{field}: expected a number from {-bound:g} to {bound:g}, got {value!r}"
            )

    return check


@attrs.define(frozen=True, kw_only=True)
class Place:
    """
    A place rules can measure distances to: a store, a pickup point.

    Added in version 0.1.0.
    """

    id: str
    latitude: float = attrs.field(validator=_coordinate("latitude", 90.0))
    longitude: float = attrs.field(validator=_coordinate("longitude", 180.0))
    name: str = ""


def _occurred(tp: Touchpoint) -> dt.datetime:
    return tp.occurred_at


class History:
    """
    A customer's touchpoints, indexed by name and time.

    `count_events` and `sum_events` read the customer's own (inbound) events; caps read the
    decisions the hub recorded (outbound `Decision Made` touchpoints). Touchpoints that
    reached the customer on a claim alone (`Touchpoint.claims_only`) are left out.

    Added in version 0.1.0.
    """

    __slots__ = ("_all", "_by_name", "_times")

    def __init__(self, touchpoints: Iterable[Touchpoint] = ()) -> None:
        # A touchpoint that reached the customer on a claim alone is not theirs to judge by.
        events = sorted((tp for tp in touchpoints if not tp.claims_only), key=_occurred)
        self._times: list[float] = [tp.occurred_at.timestamp() for tp in events]
        self._by_name: dict[str, list[tuple[float, Touchpoint]]] = {}
        for stamp, tp in zip(self._times, events, strict=True):
            self._by_name.setdefault(tp.name, []).append((stamp, tp))
        self._all = list(zip(self._times, events, strict=True))

    def events(
        self,
        name: str | None,
        since: float | None,
        until: float | None = None,
        *,
        inbound_only: bool = False,
    ) -> list[Touchpoint]:
        """
        The touchpoints named *name* (any, if `None`) with POSIX time in [*since*, *until*].

        With *inbound_only*, only what the customer did: not what the brand sent or recorded.
        Called from a rule's evaluation, each touchpoint found is charged to its work.
        """
        pool = self._all if name is None else self._by_name.get(name, [])
        start = 0 if since is None else bisect.bisect_left(pool, since, key=lambda item: item[0])
        end = (
            len(pool)
            if until is None
            else bisect.bisect_right(pool, until, key=lambda item: item[0])
        )
        js.spend(current_meter(), 1 + max(end - start, 0))
        found = [tp for _, tp in pool[start:end]]
        if inbound_only:
            return [tp for tp in found if tp.direction is Direction.INBOUND]
        return found

    def __len__(self) -> int:
        return len(self._times)


_EMPTY_HISTORY: Final = History()


@attrs.define(frozen=True, kw_only=True)
class Env:
    """
    What a decision knows besides its data.

    The time, the customer's history and segments, their time zone, the places rules can
    measure distances to, and the customer's experiment assignments: by experiment id, the
    key their arm is drawn from (the customer id they had when first assigned, which a hub
    records so that merges and unmerges keep their arm); other experiments draw from the
    decision's customer id.

    Added in version 0.1.0.
    """

    now: dt.datetime
    timezone: str | None = None
    history: History = _EMPTY_HISTORY
    segments: frozenset[str] = frozenset()
    places: Mapping[str, Place] = attrs.field(factory=dict)
    assignments: Mapping[str, str] = attrs.field(factory=dict)

    def local_now(self) -> dt.datetime:
        """The time now in the customer's time zone (UTC when unknown or invalid)."""
        if self.timezone:
            try:
                return self.now.astimezone(zoneinfo.ZoneInfo(self.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
        return self.now.astimezone(dt.UTC)


_SHORT: Final = 64
"""The longest string read as a date or a number: no date or sensible number is longer."""


def _number(value: Any) -> float:
    """A number from a short value, as JavaScript's ToNumber reads it; NaN from anything else."""
    if isinstance(value, (list, dict)) or (isinstance(value, str) and len(value) > _SHORT):
        return math.nan
    return js.to_number(value)


def _moment(value: Any) -> dt.datetime | None:
    """A JS-ish date: an ISO string, or a number of milliseconds since the epoch."""
    if isinstance(value, str) and len(value) > _SHORT:
        return None
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _since(env: Env, value: Any, unit_s: float) -> float | None:
    moment = _moment(value)
    if moment is None:
        return None
    return (env.now - moment).total_seconds() / unit_s


def days_since(env: Env, value: Any = None, *_: Any) -> float | None:
    """Days from *value* to now (fractional); null when *value* is not a date."""
    return _since(env, value, _DAY_S)


def hours_since(env: Env, value: Any = None, *_: Any) -> float | None:
    """Hours from *value* to now (fractional); null when *value* is not a date."""
    return _since(env, value, 3600.0)


def _window(env: Env, days: Any) -> float | None:
    if days is None:
        return None
    number = _number(days)
    if number != number:  # noqa: PLR0124 - NaN: no window
        return None
    return env.now.timestamp() - float(number) * _DAY_S


def _matching(env: Env, name: Any, days: Any, channel: Any = None) -> list[Touchpoint]:
    names = name if isinstance(name, list) else [name]
    since = _window(env, days)
    found: list[Touchpoint] = []
    until = env.now.timestamp()  # nothing after the moment of decision
    for item in names:
        found.extend(
            env.history.events(
                item if isinstance(item, str) else None, since, until, inbound_only=True
            )
        )
        if not isinstance(item, str):
            break
    if isinstance(channel, str):
        found = [tp for tp in found if tp.channel == channel]
    return found


def count_events(env: Env, name: Any = None, days: Any = None, channel: Any = None, *_: Any) -> int:
    """How many of the customer's events named *name* (or any) fell in the last *days*."""
    return len(_matching(env, name, days, channel))


def sum_events(env: Env, name: Any = None, field: Any = None, days: Any = None, *_: Any) -> float:
    """The sum of the numeric property *field* over the matching events."""
    if not isinstance(field, str):
        return 0
    total = 0.0
    for tp in _matching(env, name, days):
        number = _number(tp.properties.get(field))
        if number == number:  # noqa: PLR0124 - skip NaN (missing or not a number)
            total += number
    return int(total) if total.is_integer() and abs(total) < 2**53 else total


def in_segment(env: Env, segment: Any = None, *_: Any) -> bool:
    """Whether the customer is in the segment with id *segment*."""
    return isinstance(segment, str) and segment in env.segments


def _point(env: Env, value: Any, operation: str) -> tuple[float, float] | None:
    if isinstance(value, str):
        place = env.places.get(value)
        if place is None:
            raise _unknown_place(env, value, operation)
        return (place.latitude, place.longitude)
    if isinstance(value, list) and len(value) == 2:
        lat, lon = value
    elif isinstance(value, dict):
        lat, lon = value.get("latitude"), value.get("longitude")
    else:
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in (lat, lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (float(lat), float(lon))


def _unknown_place(env: Env, name: str, operation: str) -> RuleError:
    shown = name if len(name) <= _SHORT else name[: _SHORT - 1] + "…"
    known = sorted(env.places)
    close = difflib.get_close_matches(name, known, n=3) if len(name) <= _SHORT else []
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") if known else "none"
    return RuleError(
        f"{operation}: no place {shown!r} is known{hint}; known places: {listed}. Register "
        f"it: Hub(places=[Place(id={shown!r}, latitude=..., longitude=...)]), or Env(places=...)"
    )


def distance_km(env: Env, a: Any = None, b: Any = None, *_: Any) -> float | None:
    """
    The great-circle (haversine) distance between two places, or null.

    A place is `[latitude, longitude]`, an object with `latitude` and `longitude`, or the id
    of a known place (`Env.places`); an id that names no known place raises `RuleError`.
    """
    return _distance(env, a, b, "distance_km")


def _distance(env: Env, a: Any, b: Any, operation: str) -> float | None:
    p, q = _point(env, a, operation), _point(env, b, operation)
    if p is None or q is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*p, *q))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def within_km(env: Env, a: Any = None, b: Any = None, km: Any = None, *_: Any) -> bool:
    """
    Whether two places are at most *km* apart; false when either is not a place.

    An id that names no known place raises `RuleError`, as in `distance_km`.
    """
    distance = _distance(env, a, b, "within_km")
    limit = _number(km)
    return distance is not None and limit == limit and distance <= limit  # noqa: PLR0124


def local_hour(env: Env, *_: Any) -> int:
    """The hour now (0-23) in the customer's time zone."""
    return env.local_now().hour


def local_time(env: Env, *_: Any) -> str:
    """The time now in the customer's time zone, as `"HH:MM"`."""
    return env.local_now().strftime("%H:%M")


def local_weekday(env: Env, *_: Any) -> int:
    """The day of the week now in the customer's time zone: 1 (Monday) to 7 (Sunday)."""
    return env.local_now().isoweekday()


CALL_COST: Final = 4
"""The work a call of one of omnikit's operations costs, besides what it reads."""


def _charged(function: Operation) -> Operation:
    """*function*, charging `CALL_COST` to the evaluation that calls it."""

    @functools.wraps(function)
    def operation(env: Env, *arguments: Any) -> Any:
        js.spend(current_meter(), CALL_COST)
        return function(env, *arguments)

    return operation


DOMAIN_OPERATIONS: Final[Mapping[str, Operation]] = {
    name: _charged(function)
    for name, function in dict[str, Operation](
        {
            "days_since": days_since,
            "hours_since": hours_since,
            "count_events": count_events,
            "sum_events": sum_events,
            "in_segment": in_segment,
            "distance_km": distance_km,
            "within_km": within_km,
            "local_hour": local_hour,
            "local_time": local_time,
            "local_weekday": local_weekday,
        }
    ).items()
}
"""The operations omnikit adds to JsonLogic, by name."""
