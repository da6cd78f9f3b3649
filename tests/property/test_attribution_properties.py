"""
Attribution's promises, on any table: credit adds up, names don't matter, Markov is exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnikit.analytics import attribution

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

CHANNELS = ("app", "email", "sms", "store", "web")

MODELS: dict[str, Callable[[attribution.PathTable], attribution.Attribution]] = {
    "first_touch": attribution.first_touch,
    "last_touch": attribution.last_touch,
    "linear": attribution.linear,
    "time_decay": attribution.time_decay,
    "position_based": attribution.position_based,
    "position_based_30_50": lambda table: attribution.position_based(table, first=0.3, last=0.5),
    "markov": attribution.markov,
    "markov_order_2": lambda table: attribution.markov(table, order=2),
}


@st.composite
def path_rows(draw: st.DrawFn, channels: tuple[str, ...] = CHANNELS) -> dict[str, Any]:
    """A path of 1 to 6 touches with their times, some conversions, value and nulls."""
    path = draw(st.lists(st.sampled_from(channels), min_size=1, max_size=6))
    gaps = draw(st.lists(st.integers(0, 24 * 30), min_size=len(path), max_size=len(path)))
    times, moment = [], T0
    for gap in gaps:
        moment += dt.timedelta(hours=gap)
        times.append(moment)
    conversions = draw(st.integers(0, 40))
    value = draw(st.floats(0, 500, allow_nan=False)) * conversions
    nulls = draw(st.integers(0, 40))
    return {
        "path": path,
        "conversions": conversions,
        "value": value,
        "nulls": nulls,
        "times": times,
    }


tables = st.lists(path_rows(), max_size=12).map(attribution.PathTable.from_rows)


def _sums(result: attribution.Attribution) -> tuple[float, float]:
    return (
        sum(credit.conversions for credit in result),
        sum(credit.value for credit in result),
    )


@pytest.mark.parametrize("model", sorted(MODELS))
@given(table=tables)
def test_credit_adds_up_to_the_totals(model: str, table: attribution.PathTable) -> None:
    """
    Under every model the channels' conversions add up to the table's, and their value too.
    """
    result = MODELS[model](table)

    assert pytest.approx((table.total_conversions, table.total_value), rel=1e-9, abs=1e-6) == _sums(
        result
    )
    assert all(credit.conversions >= 0 and credit.value >= 0 for credit in result)


@pytest.mark.parametrize("model", sorted(MODELS))
@given(table=tables)
def test_only_the_table_s_channels_are_credited(model: str, table: attribution.PathTable) -> None:
    """
    A channel the table never has is not in the result; every one it has is, once.
    """
    result = MODELS[model](table)

    assert table.channels == result.channels
    assert "tv" not in result


@pytest.mark.parametrize("model", sorted(set(MODELS) - {"markov", "markov_order_2"}))
@given(table=tables)
def test_heuristics_credit_no_channel_off_the_converting_paths(
    model: str, table: attribution.PathTable
) -> None:
    """
    A channel touched on non-converting paths only earns nothing from a heuristic model.
    """
    converting = {name for row in table if row.conversions for name in row.channels}

    result = MODELS[model](table)

    assert all(not result[name].conversions for name in set(table.channels) - converting)


@pytest.mark.parametrize("model", sorted(MODELS))
@given(table=tables, order=st.permutations(CHANNELS))
def test_renaming_channels_renames_the_credit(
    model: str, table: attribution.PathTable, order: list[str]
) -> None:
    """
    Permuting the channels' names permutes the result, and changes nothing else.
    """
    rename = dict(zip(CHANNELS, order, strict=True))
    renamed = attribution.PathTable.from_rows(
        {
            "path": [rename[name] for name in row.channels],
            "conversions": row.conversions,
            "value": row.value,
            "nulls": row.nulls,
            "times": row.times,
        }
        for row in table
    )

    before, after = MODELS[model](table), MODELS[model](renamed)

    for credit in before:
        moved = after[rename[credit.channel]]
        assert pytest.approx((credit.conversions, credit.value), rel=1e-9, abs=1e-9) == (
            moved.conversions,
            moved.value,
        )


@pytest.mark.parametrize("model", sorted(MODELS))
@given(table=tables, data=st.data())
def test_the_order_of_the_rows_does_not_matter(
    model: str, table: attribution.PathTable, data: st.DataObject
) -> None:
    """
    The same paths in another order are credited the same.
    """
    shuffled = attribution.PathTable(tuple(data.draw(st.permutations(table.rows))))

    before, after = MODELS[model](table), MODELS[model](shuffled)

    assert before.channels == after.channels
    for credit in before:
        assert pytest.approx((credit.conversions, credit.value), rel=1e-9, abs=1e-9) == (
            after[credit.channel].conversions,
            after[credit.channel].value,
        )


@given(rows=st.lists(path_rows(channels=("web",)), min_size=1, max_size=8))
def test_markov_with_one_channel_gives_it_everything(rows: list[dict[str, Any]]) -> None:
    """
    With a single channel, all conversions and value are its, and so is the whole chance
    to convert.
    """
    table = attribution.PathTable.from_rows(rows)

    result = attribution.markov(table)

    assert ("web",) == result.channels
    assert pytest.approx(table.total_conversions) == result["web"].conversions
    assert pytest.approx(table.total_value) == result["web"].value
    assert (1.0 if table.total_conversions else 0.0) == pytest.approx(
        result.removal_effect("web").conversions
    )


@pytest.mark.parametrize("order", [1, 2, 3])
@given(table=tables)
def test_removal_effects_are_shares_and_the_chain_fits_the_table(
    order: int, table: attribution.PathTable
) -> None:
    """
    Removal effects are in [0, 1], and P(conversion) from the start is the table's
    conversions over its journeys, as the counted chain must give.
    """
    result = attribution.markov(table, order=order)
    journeys = table.total_conversions + table.total_nulls

    assert all(0 <= e.conversions <= 1 and 0 <= e.value <= 1 for e in result.removal_effects)
    expected = table.total_conversions / journeys if journeys else 0.0
    assert pytest.approx(expected, abs=1e-9) == result.conversion_probability


def _states(row: attribution.ConversionPath, order: int) -> list[tuple[str, ...]]:
    path = [name for i, name in enumerate(row.channels) if i == 0 or name != row.channels[i - 1]]
    return [tuple(path[max(0, i - order + 1) : i + 1]) for i in range(len(path))]


def _chance(table: attribution.PathTable, order: int, removed: str | None) -> tuple[float, float]:
    """
    P(conversion) and the expected value of the chain, solving for the states left when
    *removed* leads to `(null)`: a plain linear solve per removal, the textbook way.
    """
    counts: dict[tuple[Any, Any], float] = {}
    for row in table:
        walk = ["(start)", *_states(row, order)]
        for here, there in itertools.pairwise(walk):
            counts[here, there] = counts.get((here, there), 0.0) + row.conversions + row.nulls
        counts[walk[-1], "(conversion)"] = (
            counts.get((walk[-1], "(conversion)"), 0.0) + row.conversions
        )
        counts[walk[-1], "(value)"] = counts.get((walk[-1], "(value)"), 0.0) + row.value
        counts[walk[-1], "(null)"] = counts.get((walk[-1], "(null)"), 0.0) + row.nulls
    states = sorted({here for here, _ in counts} - {"(start)"}, key=str)
    kept = ["(start)", *(s for s in states if removed is None or removed not in s)]
    index = {state: i for i, state in enumerate(kept)}
    out = {s: sum(n for (h, t), n in counts.items() if h == s and t != "(value)") for s in kept}
    if not out["(start)"]:
        return 0.0, 0.0
    moves = np.zeros((len(kept), len(kept)))
    rewards = np.zeros((len(kept), 2))
    for (here, there), n in counts.items():
        if here not in index or not out[here]:
            continue
        if there in index:
            moves[index[here], index[there]] += n / out[here]
        elif there == "(conversion)":
            rewards[index[here], 0] += n / out[here]
        elif there == "(value)":
            rewards[index[here], 1] += n / out[here]
    solved = np.linalg.solve(np.eye(len(kept)) - moves, rewards)
    return float(solved[0, 0]), float(solved[0, 1])


@pytest.mark.parametrize("order", [1, 2])
@given(table=tables)
def test_markov_removal_effects_are_those_of_a_solve_per_channel(
    order: int, table: attribution.PathTable
) -> None:
    """
    The removal effects from one inverse are those of removing each channel and solving the
    chain that is left, for conversions and for value.
    """
    result = attribution.markov(table, order=order)
    whole = _chance(table, order, None)

    for channel in table.channels:
        left = _chance(table, order, channel)
        expected = [
            1 - part / full if full else 0.0 for part, full in zip(left, whole, strict=True)
        ]
        effect = result.removal_effect(channel)
        assert pytest.approx(expected, abs=1e-9) == [effect.conversions, effect.value]


@given(table=tables, data=st.data())
def test_a_row_split_in_two_changes_nothing(
    table: attribution.PathTable, data: st.DataObject
) -> None:
    """
    A path's journeys given in two rows are credited as in one, under every model.
    """
    if not len(table):
        return
    index = data.draw(st.integers(0, len(table) - 1))
    row = table.rows[index]
    half = attribution.ConversionPath(
        channels=row.channels,
        conversions=row.conversions / 2,
        value=row.value / 2,
        nulls=row.nulls / 2,
        times=row.times,
    )
    split = attribution.PathTable((*table.rows[:index], half, half, *table.rows[index + 1 :]))

    for model in MODELS.values():
        before, after = model(table), model(split)
        for credit in before:
            assert (
                pytest.approx(credit.conversions, rel=1e-9, abs=1e-9)
                == after[credit.channel].conversions
            )


@given(
    touches=st.lists(
        st.tuples(
            st.sampled_from(["c1", "c2", "c3"]),
            st.integers(0, 1000).map(lambda hours: T0 + dt.timedelta(hours=hours)),
            st.sampled_from(CHANNELS),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_touches_make_one_converting_path_per_conversion(
    touches: list[tuple[str, dt.datetime, str, bool]],
) -> None:
    """
    Every touch lands on one path, each conversion ends one, each customer leaves at most
    one path without, and the times of a path never go back.
    """
    table = attribution.PathTable.from_touches(touches)

    assert len(touches) == sum(len(row.channels) for row in table)
    assert sum(converted for *_, converted in touches) == table.total_conversions
    assert table.total_nulls <= len({customer for customer, *_ in touches})
    assert all(row.times == tuple(sorted(row.times or ())) for row in table)
