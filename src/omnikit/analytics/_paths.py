"""
Tables of conversion paths, read and checked: what every attribution model works on.

A path table has a row per distinct path: its channels in order, how many customers took it
and converted (*conversions*), the value they brought, and how many took it and did not
(*nulls*). Rows come as mappings, tuples, a pandas or polars DataFrame; the touches of
customers can be turned into one as well. Every row is checked before any model runs, and a
bad one is named: `rows[3].path: channel 'paid search' has whitespace in it`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from omnikit.errors import ValidationError

__all__ = [
    "FIELDS",
    "MAX_TOUCHES",
    "ConversionPath",
    "PathTable",
    "TOUCH_FIELDS",
]

SEPARATOR: Final = ">"
"""What joins the channels of a path written as a string: `"email > web > store"`."""

MAX_TOUCHES: Final = 1000
"""The most touches a path may have, unless a table is read with another *max_touches*."""

MAX_NAME: Final = 100
"""The longest channel name, in characters."""

RESERVED: Final = frozenset({"(start)", "(conversion)", "(null)"})
"""The names of the Markov chain's own states, which no channel may take."""

FIELDS: Final = ("path", "conversions", "value", "nulls", "times")
"""The fields of a path row, in the order of a row given as a tuple."""

TOUCH_FIELDS: Final = ("customer_id", "occurred_at", "channel", "converted", "value")
"""The fields of a touch row, in the order of a row given as a tuple."""


def _channel_problem(name: object) -> str | None:
    """Why *name* cannot be a channel's name, or `None` if it can."""
    if not isinstance(name, str):
        return f"a channel name is a string, not {type(name).__name__}"
    if not name:
        return "a channel name is empty"
    if len(name) > MAX_NAME:
        return f"channel {name[:20]!r}... is longer than {MAX_NAME} characters"
    if any(char.isspace() for char in name):
        return f"channel {name!r} has whitespace in it"
    if SEPARATOR in name:
        return f"channel {name!r} has {SEPARATOR!r} in it, which separates channels"
    if not name.isprintable():
        return f"channel {name!r} has a control character in it"
    if name in RESERVED:
        return f"channel {name!r} is a name the Markov model keeps for its own states"
    return None


def _split(path: str, max_touches: int) -> list[str]:
    if len(path) > max_touches * (MAX_NAME + 3):
        raise ValidationError(f"path: more than {max_touches} touches")
    parts = path.split(SEPARATOR, max_touches)
    if len(parts) > max_touches:
        raise ValidationError(f"path: more than {max_touches} touches")
    return [part.strip() for part in parts]


def channels_of(path: object, *, max_touches: int = MAX_TOUCHES) -> tuple[str, ...]:
    """
    The channels of *path*: a string of names joined by `>`, or a sequence of names.

    Raises:
        ValidationError: If a name is not a channel name, the path is empty or too long.
    """
    if isinstance(path, str):
        names: list[Any] = _split(path, max_touches)
    elif isinstance(path, (bytes, Mapping)) or not isinstance(path, Iterable):
        raise ValidationError(
            f"path: channels joined by {SEPARATOR!r} or a sequence of them, "
            f"not {type(path).__name__}"
        )
    else:
        names = list(itertools.islice(path, max_touches + 1))
        if len(names) > max_touches:
            raise ValidationError(f"path: more than {max_touches} touches")
    if not names or names == [""]:
        raise ValidationError("path: no channels")
    for position, name in enumerate(names):
        problem = _channel_problem(name)
        if problem is not None:
            raise ValidationError(f"path[{position}]: {problem}")
    return tuple(names)


def _amount(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{field}: a number, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValidationError(f"{field}: {value!r} is not a finite number at least 0")
    return number


def _moment(field: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"{field}: a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValidationError(f"{field}: {value.isoformat()} has no time zone")
    return value


def _times(value: object, touches: int) -> tuple[dt.datetime, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(f"times: a sequence of datetimes, not {type(value).__name__}")
    times = list(itertools.islice(value, touches + 1))
    if len(times) != touches:
        raise ValidationError(f"times: {touches} touches need {touches} times, not {len(times)}")
    return tuple(_moment(f"times[{index}]", item) for index, item in enumerate(times))


def _check_times(times: tuple[dt.datetime, ...], touches: int) -> None:
    if len(times) != touches:
        raise ValidationError(f"times: {touches} touches need {touches} times, not {len(times)}")
    for index, moment in enumerate(times):
        _moment(f"times[{index}]", moment)
        if index and moment < times[index - 1]:
            raise ValidationError(f"times[{index}]: earlier than the touch before it")


def _names(channels: Iterable[str]) -> tuple[str, ...]:
    return channels_of(channels) if isinstance(channels, str) else tuple(channels)


@attrs.define(frozen=True, kw_only=True)
class ConversionPath:
    """
    One row of a path table: a sequence of channels and what came of it.

    Attributes:
        channels: The channels touched, in order (repeats included); a string is split
            at each `>`.
        conversions: How many journeys along this path ended in a conversion.
        value: The value those conversions brought, all together.
        nulls: How many journeys along this path ended without one.
        times: When each touch happened, if known (time decay needs it).

    Added in version 0.1.0.
    """

    channels: tuple[str, ...] = attrs.field(converter=_names)
    conversions: float = 0.0
    value: float = 0.0
    nulls: float = 0.0
    times: tuple[dt.datetime, ...] | None = None

    def __attrs_post_init__(self) -> None:
        if not self.channels:
            raise ValidationError("path: no channels")
        for position, name in enumerate(self.channels):
            problem = _channel_problem(name)
            if problem is not None:
                raise ValidationError(f"path[{position}]: {problem}")
        if self.value and not self.conversions:
            raise ValidationError("value: a path without conversions has no value")
        if self.times is not None:
            _check_times(self.times, len(self.channels))

    @property
    def journeys(self) -> float:
        """Every journey along this path: *conversions* and *nulls* together."""
        return self.conversions + self.nulls


def _row_fields(row: object) -> dict[str, Any]:
    if isinstance(row, Mapping):
        unknown = sorted(str(key) for key in row if key not in FIELDS)
        if unknown:
            raise ValidationError(
                f"{unknown[0]}: not a field of a path row (fields: {', '.join(FIELDS)})"
            )
        if "path" not in row:
            raise ValidationError("path: required field is missing")
        return dict(row)
    if isinstance(row, Sequence) and not isinstance(row, (str, bytes)):
        if not 2 <= len(row) <= len(FIELDS):
            raise ValidationError(
                f"a tuple row has 2 to {len(FIELDS)} fields ({', '.join(FIELDS)}), not {len(row)}"
            )
        return dict(zip(FIELDS, row, strict=False))
    raise ValidationError(f"a row is a mapping or a tuple, not {type(row).__name__}")


def _path_row(row: object, max_touches: int) -> ConversionPath:
    fields = _row_fields(row)
    channels = channels_of(fields["path"], max_touches=max_touches)
    return ConversionPath(
        channels=channels,
        conversions=_amount("conversions", fields.get("conversions", 0)),
        value=_amount("value", fields.get("value", 0)),
        nulls=_amount("nulls", fields.get("nulls", 0)),
        times=_times(fields.get("times"), len(channels)),
    )


def records(table: object) -> Iterable[object]:
    """The rows of *table*: a pandas or polars DataFrame, or any iterable of rows."""
    if hasattr(table, "iter_rows") and hasattr(table, "columns"):  # polars
        return table.iter_rows(named=True)  # type: ignore[no-any-return]
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        return table.to_dict(orient="records")  # type: ignore[no-any-return]
    if isinstance(table, (str, bytes, Mapping)) or not isinstance(table, Iterable):
        raise ValidationError(
            f"rows: a DataFrame or an iterable of rows, not {type(table).__name__}"
        )
    return table


def _total(name: str, amounts: Iterable[float]) -> float:
    try:
        total = math.fsum(amounts)
    except OverflowError:
        total = math.inf
    if not math.isfinite(total):
        raise ValidationError(f"{name}: the total is too large to add up")
    return total


def _paths(rows: Iterable[ConversionPath]) -> tuple[ConversionPath, ...]:
    return tuple(rows)


@attrs.define(frozen=True)
class PathTable:
    """
    A checked table of conversion paths: the input of every attribution model.

    Read one with `PathTable.from_rows()` (a path per row) or `PathTable.from_touches()`
    (a touch per row); the models accept the raw rows too and read them the same way.

    Attributes:
        rows: The paths, in the order given.

    Added in version 0.1.0.
    """

    rows: tuple[ConversionPath, ...] = attrs.field(converter=_paths)
    total_conversions: float = attrs.field(init=False)
    total_value: float = attrs.field(init=False)
    total_nulls: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        totals = (
            ("conversions", _total("conversions", (row.conversions for row in self.rows))),
            ("value", _total("value", (row.value for row in self.rows))),
            ("nulls", _total("nulls", (row.nulls for row in self.rows))),
        )
        for name, total in totals:
            object.__setattr__(self, f"total_{name}", total)

    @classmethod
    def from_rows(cls, rows: object, *, max_touches: int = MAX_TOUCHES) -> PathTable:
        """
        Read a table with a row per path.

        Each row is a mapping with the fields `path` (channels joined by `" > "`, or a
        sequence of channel names), `conversions`, `value` and `nulls` (numbers, 0 when
        missing), and optionally `times` (an aware datetime per touch, in order); or a tuple
        of those fields in that order. A pandas or polars DataFrame with those
        columns works too.

        Args:
            rows: The rows, or a DataFrame.
            max_touches: The most touches a path may have; a longer one is an error.

        Raises:
            ValidationError: Naming the row and the field at fault, as `rows[3].path: ...`.

        Added in version 0.1.0.
        """
        if isinstance(rows, PathTable):
            return rows
        read = []
        for index, row in enumerate(records(rows)):
            try:
                read.append(_path_row(row, max_touches))
            except ValidationError as exc:
                raise exc.with_prefix(f"rows[{index}]") from None
        return cls(tuple(read))

    @classmethod
    def from_touches(cls, touches: object, *, max_touches: int = MAX_TOUCHES) -> PathTable:
        """
        Build the paths of customers from their touches, a row per touch.

        Each row is a mapping with `customer_id`, `occurred_at` (an aware datetime),
        `channel`, `converted` (a boolean, false when missing) and `value` (what a converting
        touch brought, 0 when missing), or a tuple of those in that order, or a DataFrame.
        A customer's touches are taken in time order (ties in the order given); a converting
        touch ends a path, which converted once, and the touches after a customer's last
        conversion make a path that did not. Every path keeps the times of its touches, so
        time decay can weigh them.

        Args:
            touches: The touches, or a DataFrame.
            max_touches: The most touches a path may have; a longer one is an error.

        Raises:
            ValidationError: Naming the row and field at fault (`touches[7].occurred_at: ...`),
                or the customer whose path is too long.

        Added in version 0.1.0.
        """
        journeys: dict[object, list[tuple[dt.datetime, str, bool, float]]] = {}
        for index, row in enumerate(records(touches)):
            try:
                customer, touch = _touch_row(row)
            except ValidationError as exc:
                raise exc.with_prefix(f"touches[{index}]") from None
            journeys.setdefault(customer, []).append(touch)
        paths: list[ConversionPath] = []
        for customer, touches_of in journeys.items():
            touches_of.sort(key=lambda touch: touch[0])
            paths.extend(_paths_of(customer, touches_of, max_touches))
        return cls(tuple(paths))

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel of the table, sorted."""
        return tuple(sorted({name for row in self.rows for name in row.channels}))

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ConversionPath]:
        return iter(self.rows)


def _touch_row(row: object) -> tuple[object, tuple[dt.datetime, str, bool, float]]:
    if isinstance(row, Mapping):
        unknown = sorted(str(key) for key in row if key not in TOUCH_FIELDS)
        if unknown:
            raise ValidationError(
                f"{unknown[0]}: not a field of a touch (fields: {', '.join(TOUCH_FIELDS)})"
            )
        fields = dict(row)
    elif isinstance(row, Sequence) and not isinstance(row, (str, bytes)):
        if not 3 <= len(row) <= len(TOUCH_FIELDS):
            raise ValidationError(f"a tuple touch has 3 to 5 fields, not {len(row)}")
        fields = dict(zip(TOUCH_FIELDS, row, strict=False))
    else:
        raise ValidationError(f"a touch is a mapping or a tuple, not {type(row).__name__}")
    for name in TOUCH_FIELDS[:3]:
        if name not in fields:
            raise ValidationError(f"{name}: required field is missing")
    customer = fields["customer_id"]
    if not isinstance(customer, (str, int)) or isinstance(customer, bool):
        raise ValidationError(f"customer_id: a string or an integer, not {type(customer).__name__}")
    problem = _channel_problem(fields["channel"])
    if problem is not None:
        raise ValidationError(f"channel: {problem}")
    converted = fields.get("converted", False)
    if converted not in (True, False):  # 0 and 1 are False and True
        raise ValidationError(f"converted: true or false, not {converted!r}")
    value = _amount("value", fields.get("value", 0))
    if value and not converted:
        raise ValidationError("value: only a converting touch brings a value")
    when = _moment("occurred_at", fields["occurred_at"])
    return customer, (when, fields["channel"], bool(converted), value)


def _paths_of(
    customer: object, touches: list[tuple[dt.datetime, str, bool, float]], max_touches: int
) -> Iterator[ConversionPath]:
    start = 0
    for end, (_, _, converted, value) in enumerate(touches, start=1):
        if end - start > max_touches:
            raise ValidationError(
                f"touches: customer {customer!r} has a path of more than {max_touches} touches"
            )
        if converted:
            yield _built(touches[start:end], conversions=1.0, value=value)
            start = end
    if start < len(touches):
        yield _built(touches[start:], conversions=0.0, value=0.0)


def _built(
    touches: list[tuple[dt.datetime, str, bool, float]],
    *,
    conversions: float,
    value: float,
) -> ConversionPath:
    return ConversionPath(
        channels=tuple(touch[1] for touch in touches),
        conversions=conversions,
        value=value,
        nulls=1.0 - conversions,
        times=tuple(touch[0] for touch in touches),
    )
