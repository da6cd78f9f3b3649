"""
Multi-touch attribution: which channels earned the conversions of a table of paths.

Every model takes a path table (a `PathTable`, or the rows it is read from: mappings,
tuples or a DataFrame with `path`, `conversions`, `value`, `nulls` and, for time decay,
`times`) and returns an `Attribution`: the conversions and value credited to each channel,
which add up to the table's totals.

| model | a converting path's credit goes to |
|---|---|
| `first_touch()` | its first touch |
| `last_touch()` | its last touch |
| `linear()` | every touch alike |
| `time_decay()` | every touch, halving with each *half_life* before the last one |
| `position_based()` | 40% the first touch, 40% the last, 20% shared by those between |
| `markov()` | every channel, by its removal effect in the paths' Markov chain, solved exactly |

```python
from omnikit.analytics import attribution

table = [
    {"path": "social > email > web", "conversions": 3, "value": 120.0, "nulls": 10},
    {"path": "email", "conversions": 1, "value": 30.0, "nulls": 4},
]
attribution.markov(table)["email"].conversions  # the conversions email earned
attribution.linear(table).to_pandas()  # channel, conversions, value
```

The heuristic models count every touch of a path, repeats included (a > a > b gives a two
thirds under `linear()`); the Markov chain collapses repeats into one touch, as a chain has
no self-loops. Only `markov()` needs numpy and only `to_pandas()` pandas, both in
`omnikit[analytics]`.

Added in version 0.1.0.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeAlias

import attrs

from omnikit.analytics._paths import MAX_TOUCHES, ConversionPath, PathTable
from omnikit.errors import PluginNotFoundError, ValidationError

__all__ = [
    "MAX_STATES",
    "MAX_TOUCHES",
    "Attribution",
    "ChannelCredit",
    "ConversionPath",
    "MarkovAttribution",
    "PathTable",
    "Paths",
    "RemovalEffect",
    "Transition",
    "first_touch",
    "last_touch",
    "linear",
    "markov",
    "position_based",
    "time_decay",
]

Paths: TypeAlias = PathTable | Iterable[Any]
"""A path table, or what `PathTable.from_rows()` reads one from (rows or a DataFrame)."""

MAX_STATES: Final = 2000
"""The most states `markov()` solves for, unless given another *max_states*."""

_EXTRA: Final = "analytics"


def _extra(module: str) -> PluginNotFoundError:
    return PluginNotFoundError(module, (), group="omnikit.analytics", extra=_EXTRA)


@attrs.define(frozen=True)
class ChannelCredit:
    """
    What a model credited one channel with.

    Attributes:
        channel: The channel's name.
        conversions: The conversions credited to it (a share of each path's, so fractional).
        value: The conversion value credited to it.

    Added in version 0.1.0.
    """

    channel: str
    conversions: float
    value: float


@attrs.define(frozen=True, kw_only=True)
class Attribution:
    """
    The credit of each channel of a path table under one model.

    The channels are every channel of the table, sorted, each once (a channel on
    non-converting paths only gets 0). Look one up with `attribution["email"]`; iterate
    for every `ChannelCredit`. Their conversions add up to *total_conversions*, their value
    to *total_value*.

    Attributes:
        model: The model's name: `first_touch`, `last_touch`, `linear`, `time_decay`,
            `position_based` or `markov`.
        credits: Each channel's credit, by channel name.
        total_conversions: All the conversions of the table.
        total_value: All the conversion value of the table.

    Added in version 0.1.0.
    """

    model: str
    credits: tuple[ChannelCredit, ...]
    total_conversions: float
    total_value: float

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels, sorted."""
        return tuple(credit.channel for credit in self.credits)

    def __getitem__(self, channel: str) -> ChannelCredit:
        for credit in self.credits:
            if credit.channel == channel:
                return credit
        raise KeyError(channel)

    def __contains__(self, channel: object) -> bool:
        return any(credit.channel == channel for credit in self.credits)

    def __iter__(self) -> Iterator[ChannelCredit]:
        return iter(self.credits)

    def __len__(self) -> int:
        return len(self.credits)

    def to_rows(self) -> list[dict[str, Any]]:
        """
        A row per channel, as plain dicts: `channel`, `conversions`, `value`.

        Added in version 0.1.0.
        """
        return [attrs.asdict(credit) for credit in self.credits]

    def to_pandas(self) -> Any:
        """
        A pandas DataFrame with a row per channel, the columns of `to_rows()`.

        Raises:
            PluginNotFoundError: If pandas is not installed (it comes with
                `omnikit[analytics]`).

        Added in version 0.1.0.
        """
        try:
            import pandas as pd  # noqa: PLC0415 - optional, for notebooks
        except ImportError as exc:
            raise _extra("pandas") from exc
        rows = self.to_rows()
        return pd.DataFrame(rows, columns=self._columns())

    def _columns(self) -> list[str]:
        return ["channel", "conversions", "value"]


@attrs.define(frozen=True)
class RemovalEffect:
    """
    How much of the chance to convert, and of the value to expect, goes with a channel.

    Attributes:
        channel: The channel's name.
        conversions: 1 - P(conversion without the channel) / P(conversion), in [0, 1].
        value: The same for the expected conversion value.

    Added in version 0.1.0.
    """

    channel: str
    conversions: float
    value: float


@attrs.define(frozen=True)
class Transition:
    """
    One move of the Markov chain and its probability.

    States are `(start)`, a channel (or, for order k, the last k channels joined by
    `" > "`), `(conversion)` and `(null)`.

    Added in version 0.1.0.
    """

    source: str
    target: str
    probability: float


@attrs.define(frozen=True, kw_only=True)
class MarkovAttribution(Attribution):
    """
    Attribution by removal effect in the paths' Markov chain, with the chain itself.

    Attributes:
        order: How many of the last channels make a state of the chain.
        conversion_probability: P(conversion) from `(start)`: the table's conversions over
            its journeys.
        removal_effects: Each channel's removal effects, by channel name.
        transitions: The chain's moves with a probability above 0.

    Added in version 0.1.0.
    """

    order: int
    conversion_probability: float
    removal_effects: tuple[RemovalEffect, ...]
    transitions: tuple[Transition, ...] = attrs.field(repr=False)

    def removal_effect(self, channel: str) -> RemovalEffect:
        """
        The removal effects of *channel*.

        Raises:
            KeyError: If *channel* is not in the table.

        Added in version 0.1.0.
        """
        for effect in self.removal_effects:
            if effect.channel == channel:
                return effect
        raise KeyError(channel)

    def to_rows(self) -> list[dict[str, Any]]:
        """
        A row per channel, as plain dicts, with the removal effects.

        The keys are `channel`, `conversions`, `value`, `removal_effect` and
        `removal_effect_value`.

        Added in version 0.1.0.
        """
        return [
            {
                **attrs.asdict(credit),
                "removal_effect": effect.conversions,
                "removal_effect_value": effect.value,
            }
            for credit, effect in zip(self.credits, self.removal_effects, strict=True)
        ]

    def _columns(self) -> list[str]:
        return [*super()._columns(), "removal_effect", "removal_effect_value"]


Weights = Callable[[ConversionPath], Sequence[float]]


def _credited(table: PathTable, model: str, weigh: Weights) -> Attribution:
    """Share each converting row's conversions and value between its touches by *weigh*."""
    conversions = dict.fromkeys(table.channels, 0.0)
    values = dict.fromkeys(table.channels, 0.0)
    for index, row in enumerate(table.rows):
        if not row.conversions:
            continue
        try:
            weights = weigh(row)
        except ValidationError as exc:
            raise exc.with_prefix(f"rows[{index}]") from None
        for channel, weight in zip(row.channels, weights, strict=True):
            conversions[channel] += row.conversions * weight
            values[channel] += row.value * weight
    return Attribution(
        model=model,
        credits=tuple(
            ChannelCredit(channel, conversions[channel], values[channel]) for channel in conversions
        ),
        total_conversions=table.total_conversions,
        total_value=table.total_value,
    )


def first_touch(paths: Paths) -> Attribution:
    """
    Credit each converting path's conversions and value to its first touch.

    Args:
        paths: A `PathTable`, or rows or a DataFrame for `PathTable.from_rows()`.

    Raises:
        ValidationError: If a row is malformed, naming it and the field.

    Added in version 0.1.0.
    """
    return _credited(
        PathTable.from_rows(paths),
        "first_touch",
        lambda row: [1.0] + [0.0] * (len(row.channels) - 1),
    )


def last_touch(paths: Paths) -> Attribution:
    """
    Credit each converting path's conversions and value to its last touch.

    Args:
        paths: A `PathTable`, or rows or a DataFrame for `PathTable.from_rows()`.

    Raises:
        ValidationError: If a row is malformed, naming it and the field.

    Added in version 0.1.0.
    """
    return _credited(
        PathTable.from_rows(paths),
        "last_touch",
        lambda row: [0.0] * (len(row.channels) - 1) + [1.0],
    )


def linear(paths: Paths) -> Attribution:
    """
    Share each converting path's conversions and value equally between its touches.

    A channel touched twice on a path gets two shares.

    Args:
        paths: A `PathTable`, or rows or a DataFrame for `PathTable.from_rows()`.

    Raises:
        ValidationError: If a row is malformed, naming it and the field.

    Added in version 0.1.0.
    """
    return _credited(
        PathTable.from_rows(paths),
        "linear",
        lambda row: [1.0 / len(row.channels)] * len(row.channels),
    )


def time_decay(paths: Paths, *, half_life: dt.timedelta = dt.timedelta(days=7)) -> Attribution:
    """
    Share each converting path's credit between its touches, more to the recent ones.

    A touch's weight halves with every *half_life* between it and the path's last touch
    (the one closest to the conversion): with the default of 7 days, a touch a week before
    the last one counts half as much, two weeks before a quarter. The weights of a path are
    scaled to add up to 1, so only the gaps between touches matter, not how long after the
    last touch the conversion came.

    Args:
        paths: A `PathTable` with the times of the touches (`PathTable.from_touches()`
            builds one), or rows with a `times` field, or a DataFrame.
        half_life: How much older a touch is when it counts half as much; above zero.

    Raises:
        ValidationError: If a row is malformed, if a converting path has no times
            (`rows[3].times: ...`), or if *half_life* is not above zero.

    Added in version 0.1.0.
    """
    given: object = half_life  # a caller may pass anything: say what is wrong with it
    if not isinstance(given, dt.timedelta) or given <= dt.timedelta(0):
        raise ValidationError(f"half_life: a timedelta above zero, not {given!r}")

    def weigh(row: ConversionPath) -> list[float]:
        if row.times is None:
            raise ValidationError("times: time decay needs the time of every touch")
        last = row.times[-1]
        weights = [0.5 ** ((last - moment) / half_life) for moment in row.times]
        total = math.fsum(weights)  # at least 1: the last touch weighs 1
        return [weight / total for weight in weights]

    return _credited(PathTable.from_rows(paths), "time_decay", weigh)


def _share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name}: a number from 0 to 1, not {type(value).__name__}")
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise ValidationError(f"{name}: a number from 0 to 1, not {value!r}")
    return share


def position_based(paths: Paths, *, first: float = 0.4, last: float = 0.4) -> Attribution:
    """
    Share each converting path's credit U-shaped: most to the first and last touches.

    The first touch gets *first*, the last touch *last*, and the touches between them share
    the rest equally (40/20/40 by default). A path of one touch gives it everything; a path
    of two shares in proportion *first* to *last* (half each by default).

    Args:
        paths: A `PathTable`, or rows or a DataFrame for `PathTable.from_rows()`.
        first: The first touch's share, from 0 to 1.
        last: The last touch's share, from 0 to 1; *first* + *last* is at most 1.

    Raises:
        ValidationError: If a row is malformed, or the shares are out of range.

    Added in version 0.1.0.
    """
    head, tail = _share("first", first), _share("last", last)
    if head + tail > 1.0 + 1e-12:
        raise ValidationError(f"last: first + last is at most 1, not {head + tail!r}")
    middle = max(0.0, 1.0 - head - tail)

    def weigh(row: ConversionPath) -> list[float]:
        touches = len(row.channels)
        if touches == 1:
            return [1.0]
        if touches == 2:
            ends = head + tail
            return [0.5, 0.5] if not ends else [head / ends, tail / ends]
        return [head, *[middle / (touches - 2)] * (touches - 2), tail]

    return _credited(PathTable.from_rows(paths), "position_based", weigh)


def _check_count(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValidationError(f"{name}: an integer at least {least}, not {value!r}")
    return value


def markov(paths: Paths, *, order: int = 1, max_states: int = MAX_STATES) -> MarkovAttribution:
    """
    Credit channels by their removal effect in the paths' Markov chain, solved exactly.

    The chain goes from `(start)` through the channels to `(conversion)` or `(null)`, with
    each move's probability counted from the table (repeated consecutive channels collapse
    into one touch: a chain has no self-loops). A channel's removal effect is
    1 - P(conversion with the channel removed) / P(conversion), where removing it sends
    every move into it to `(null)`; the conversions credited to it are the table's
    conversions times its removal effect over the sum of them all. Conversion value is
    credited the same way, the chain rewarding each conversion with its value. The
    probabilities come from the chain's fundamental matrix (one matrix inverse and a
    small solve per channel), not from simulated journeys, so the result is exact and the
    same on every run.

    With *order* k, a state is the last k channels of a path (its first states are
    shorter), and removing a channel removes every state it is part of.

    Args:
        paths: A `PathTable`, or rows or a DataFrame for `PathTable.from_rows()`.
        order: How many of the last channels make a state; 1 is the usual model.
        max_states: The most channel states to solve for: the work grows with its cube.

    Raises:
        ValidationError: If a row is malformed, or the chain has more than *max_states*
            states.
        PluginNotFoundError: If numpy is not installed (it comes with `omnikit[analytics]`).

    Added in version 0.1.0.
    """
    _check_count("order", order, 1)
    _check_count("max_states", max_states, 1)
    table = PathTable.from_rows(paths)
    try:
        from omnikit.analytics import _markov  # noqa: PLC0415 - numpy is optional
    except ImportError as exc:
        raise _extra("numpy") from exc
    chain = _markov.Chain.of(table, order=order, max_states=max_states)
    solution = _markov.solve(chain, table.channels)
    effects = [RemovalEffect(name, *solution.effects[name]) for name in table.channels]
    return MarkovAttribution(
        model="markov",
        credits=_by_effect(table, effects),
        total_conversions=table.total_conversions,
        total_value=table.total_value,
        order=order,
        conversion_probability=solution.probability,
        removal_effects=tuple(effects),
        transitions=tuple(Transition(*move) for move in chain.transitions()),
    )


def _by_effect(table: PathTable, effects: Sequence[RemovalEffect]) -> tuple[ChannelCredit, ...]:
    """Share the table's conversions and value in proportion to the removal effects."""
    conversions = math.fsum(effect.conversions for effect in effects)
    values = math.fsum(effect.value for effect in effects)
    return tuple(
        ChannelCredit(
            effect.channel,
            table.total_conversions * effect.conversions / conversions if conversions else 0.0,
            table.total_value * effect.value / values if values else 0.0,
        )
        for effect in effects
    )
