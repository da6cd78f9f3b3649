"""
Multi-touch attribution on small tables worked out by hand, and on tables that are wrong.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import omnikit.analytics
from omnikit.analytics import attribution
from omnikit.errors import PluginNotFoundError, ValidationError

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

TABLE = [
    {"path": "a > b > c", "conversions": 2, "value": 30.0, "nulls": 1},
    {"path": "b", "conversions": 1, "value": 10.0},
    {"path": "c > c", "nulls": 5},
]


def credited(result: attribution.Attribution) -> dict[str, tuple[float, float]]:
    return {credit.channel: (credit.conversions, credit.value) for credit in result}


def test_first_and_last_touch_credit_one_end() -> None:
    """
    First touch credits a path's first channel with all of it, last touch its last one; a
    channel on non-converting paths only is listed with nothing.
    """
    assert {"a": (2, 30), "b": (1, 10), "c": (0, 0)} == credited(attribution.first_touch(TABLE))
    assert {"a": (0, 0), "b": (1, 10), "c": (2, 30)} == credited(attribution.last_touch(TABLE))


def test_linear_shares_alike_and_counts_repeats() -> None:
    """
    Linear gives every touch an equal share; a channel touched twice gets two.
    """
    result = attribution.linear([*TABLE, {"path": "d > d > a", "conversions": 3, "value": 6.0}])

    assert {
        "a": pytest.approx((2 / 3 + 1, 10 + 2)),
        "b": pytest.approx((5 / 3, 20)),
        "c": pytest.approx((2 / 3, 10)),
        "d": pytest.approx((2, 4)),
    } == credited(result)
    assert "linear" == result.model
    assert (6, 46) == (result.total_conversions, result.total_value)


def test_position_based_is_u_shaped_and_configurable() -> None:
    """
    40% to the first touch, 40% to the last, 20% shared between; one touch takes all, two
    share in proportion.
    """
    default = attribution.position_based(TABLE)
    skewed = attribution.position_based(
        [{"path": "a > b", "conversions": 8, "value": 8.0}], first=0.3, last=0.5
    )

    assert {
        "a": pytest.approx((0.8, 12)),
        "b": pytest.approx((1.4, 16)),
        "c": pytest.approx((0.8, 12)),
    } == credited(default)
    assert {"a": pytest.approx((3, 3)), "b": pytest.approx((5, 5))} == credited(skewed)


def test_time_decay_halves_a_touch_per_half_life() -> None:
    """
    With a half-life of a week, touches two weeks, one week and no time before the last
    weigh 1, 2 and 4 sevenths.
    """
    times = (T0, T0 + 7 * DAY, T0 + 14 * DAY)
    table = [{"path": ["a", "b", "c"], "conversions": 7, "value": 70.0, "times": times}]

    result = attribution.time_decay(table, half_life=dt.timedelta(days=7))
    shorter = attribution.time_decay(table, half_life=dt.timedelta(days=3.5))

    assert {
        "a": pytest.approx((1, 10)),
        "b": pytest.approx((2, 20)),
        "c": pytest.approx((4, 40)),
    } == credited(result)
    assert pytest.approx(7 / 21) == shorter["a"].conversions


def test_paths_from_touches_split_at_conversions() -> None:
    """
    A customer's touches in time order make a path that ends at each conversion; what
    follows the last conversion is a path that did not convert.
    """
    touches = [
        {
            "customer_id": "c1",
            "occurred_at": T0 + 2 * DAY,
            "channel": "web",
            "converted": True,
            "value": 50.0,
        },
        ("c2", T0, "store", True, 20.0),
        ("c1", T0, "web"),
        ("c1", T0 + DAY, "email", False),
        ("c1", T0 + 3 * DAY, "sms"),
    ]

    table = attribution.PathTable.from_touches(touches)

    assert [
        attribution.ConversionPath(
            channels=("web", "email", "web"),
            conversions=1,
            value=50,
            times=(T0, T0 + DAY, T0 + 2 * DAY),
        ),
        attribution.ConversionPath(channels=("sms",), nulls=1, times=(T0 + 3 * DAY,)),
        attribution.ConversionPath(channels=("store",), conversions=1, value=20, times=(T0,)),
    ] == list(table)
    decayed = attribution.time_decay(table, half_life=DAY)
    assert pytest.approx((2 / 7, 100 / 7)) == credited(decayed)["email"]


def test_markov_on_a_chain_worked_by_hand() -> None:
    """
    Half the journeys go to a, half to b; a goes on to b half the time; b converts two
    times in three. Removing a leaves a third of P(conversion) = 1/2 gone, removing b all.
    """
    table = [
        ("a > b", 1, 10.0, 0),
        ("a", 0, 0.0, 1),
        ("b > b", 1, 30.0, 1),
    ]

    result = attribution.markov(table)

    assert pytest.approx(0.5) == result.conversion_probability
    assert pytest.approx(1 / 3) == result.removal_effect("a").conversions
    assert pytest.approx(1 / 3) == result.removal_effect("a").value
    assert pytest.approx(1) == result.removal_effect("b").conversions
    assert {"a": pytest.approx((0.5, 10)), "b": pytest.approx((1.5, 30))} == credited(result)
    assert {
        ("(start)", "a"): pytest.approx(0.5),
        ("(start)", "b"): pytest.approx(0.5),
        ("a", "b"): pytest.approx(0.5),
        ("a", "(null)"): pytest.approx(0.5),
        ("b", "(conversion)"): pytest.approx(2 / 3),
        ("b", "(null)"): pytest.approx(1 / 3),
    } == {(move.source, move.target): move.probability for move in result.transitions}


def test_markov_value_follows_where_value_converts() -> None:
    """
    The value's removal effects weigh each conversion by its value: a channel whose paths
    bring little value loses less of it when removed than of the conversions.
    """
    table = [
        {"path": "a", "conversions": 1, "value": 1.0, "nulls": 1},
        {"path": "b", "conversions": 1, "value": 99.0, "nulls": 1},
    ]

    result = attribution.markov(table)

    assert pytest.approx(0.5) == result.removal_effect("a").conversions
    assert pytest.approx(0.01) == result.removal_effect("a").value
    assert pytest.approx((1, 1)) == (result["a"].conversions, result["a"].value)


def test_markov_of_higher_order_tells_apart_where_a_channel_came_from() -> None:
    """
    Order 2 keeps `a > c` and `b > c` apart; removing a channel removes its states, and the
    moves between states are named by their channels.
    """
    table = [
        {"path": "a > c", "conversions": 4, "nulls": 0},
        {"path": "b > c", "conversions": 0, "nulls": 4},
    ]

    first = attribution.markov(table)
    second = attribution.markov(table, order=2)

    assert pytest.approx(1) == first.removal_effect("c").conversions
    assert pytest.approx(0.5) == first.removal_effect("a").conversions
    assert pytest.approx(1) == second.removal_effect("a").conversions
    assert pytest.approx(0) == second.removal_effect("b").conversions
    assert pytest.approx((2, 0, 2)) == (
        second["a"].conversions,
        second["b"].conversions,
        second["c"].conversions,
    )
    assert 2 == second.order
    assert ("a", "a > c", 1.0) in {(m.source, m.target, m.probability) for m in second.transitions}


def test_a_dataframe_and_tuples_read_as_the_rows_do() -> None:
    """
    A pandas DataFrame, tuples, mappings and sequences of channels are the same table.
    """
    frame = pd.DataFrame(TABLE).fillna({"conversions": 0, "value": 0.0, "nulls": 0})
    tuples = [(["a", "b", "c"], 2, 30.0, 1), ("b", 1, 10.0, 0), (("c", "c"), 0, 0.0, 5)]

    expected = credited(attribution.markov(TABLE))

    assert expected == credited(attribution.markov(frame))
    assert expected == credited(attribution.markov(tuples))
    assert attribution.PathTable.from_rows(TABLE) == attribution.PathTable.from_rows(frame)


def test_results_export_as_rows_and_dataframes() -> None:
    """
    `to_rows()` gives plain dicts; `to_pandas()` a DataFrame of the same; Markov adds the
    removal effects.
    """
    heuristic = attribution.first_touch(TABLE)
    chain = attribution.markov(TABLE)

    assert {"channel": "a", "conversions": 2.0, "value": 30.0} == heuristic.to_rows()[0]
    assert heuristic.to_rows() == heuristic.to_pandas().to_dict(orient="records")
    assert [
        "channel",
        "conversions",
        "value",
        "removal_effect",
        "removal_effect_value",
    ] == list(chain.to_pandas().columns)
    assert chain.to_rows() == chain.to_pandas().to_dict(orient="records")


def test_without_pandas_the_export_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without pandas, the result is still plain data; `to_pandas()` says which extra to install.
    """
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    result = attribution.linear(TABLE)

    with pytest.raises(PluginNotFoundError) as caught:
        result.to_pandas()

    assert "analytics" == caught.value.extra
    assert "pip install 'omnikit[analytics]'" in str(caught.value)
    assert 3 == len(result.to_rows())


def test_without_numpy_markov_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The heuristic models need nothing; the Markov model says which extra brings numpy.
    """
    monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.delitem(sys.modules, "omnikit.analytics._markov", raising=False)
    monkeypatch.delattr(omnikit.analytics, "_markov", raising=False)

    with pytest.raises(PluginNotFoundError) as caught:
        attribution.markov(TABLE)

    assert "analytics" == caught.value.extra
    assert 3 == len(attribution.position_based(TABLE))


@pytest.mark.parametrize("model", [attribution.first_touch, attribution.linear, attribution.markov])
def test_an_empty_table_credits_nobody(model: Any) -> None:
    """
    No rows, no channels and nothing to share: an empty result, not an error.
    """
    result = model([])

    assert (0, 0, ()) == (result.total_conversions, result.total_value, result.channels)


def test_paths_that_never_convert_give_nothing_to_anyone() -> None:
    """
    Channels on non-converting paths only are listed with no credit and no removal effect.
    """
    result = attribution.markov([("a > b", 0, 0.0, 3), ("b", 0, 0.0, 2)])

    assert {"a": (0, 0), "b": (0, 0)} == credited(result)
    assert 0 == result.conversion_probability
    assert {0.0} == {e.conversions for e in result.removal_effects}


def test_a_missing_channel_is_not_in_the_result() -> None:
    """
    Looking up a channel the table never had is a `KeyError`, and `in` says so.
    """
    result = attribution.markov(TABLE)

    assert "z" not in result
    with pytest.raises(KeyError):
        result["z"]
    with pytest.raises(KeyError):
        result.removal_effect("z")


HOSTILE_ROWS = [
    (
        {"path": "paid search > web", "conversions": 1},
        "rows[0].path[0]: channel 'paid search' has whitespace in it",
    ),
    (
        {"path": ["a>b"], "conversions": 1},
        "rows[0].path[0]: channel 'a>b' has '>' in it, which separates channels",
    ),
    ({"path": "a >  > b"}, "rows[0].path[1]: a channel name is empty"),
    ({"path": ""}, "rows[0].path: no channels"),
    ({"path": []}, "rows[0].path: no channels"),
    ({"path": ["a", 3]}, "rows[0].path[1]: a channel name is a string, not int"),
    (
        {"path": "(start) > a"},
        "rows[0].path[0]: channel '(start)' is a name the Markov model keeps for its own states",
    ),
    ({"path": "a\x00b"}, "rows[0].path[0]: channel 'a\\x00b' has a control character in it"),
    ({"path": 5}, "rows[0].path: channels joined by '>' or a sequence of them, not int"),
    ({"path": "a", "conversions": -1}, "rows[0].conversions: -1 is not a finite number at least 0"),
    (
        {"path": "a", "conversions": float("nan")},
        "rows[0].conversions: nan is not a finite number at least 0",
    ),
    ({"path": "a", "nulls": True}, "rows[0].nulls: a number, not bool"),
    ({"path": "a", "value": "9.99", "conversions": 1}, "rows[0].value: a number, not str"),
    ({"path": "a", "value": 5.0}, "rows[0].value: a path without conversions has no value"),
    (
        {"path": "a", "conversion": 1},
        "rows[0].conversion: not a field of a path row (fields: path, conversions, value, nulls, times)",
    ),
    ({"conversions": 1}, "rows[0].path: required field is missing"),
    ("a > b", "rows[0]: a row is a mapping or a tuple, not str"),
    (
        ("a",),
        "rows[0]: a tuple row has 2 to 5 fields (path, conversions, value, nulls, times), not 1",
    ),
    ({"path": "a > b", "times": [T0]}, "rows[0].times: 2 touches need 2 times, not 1"),
    (
        {"path": "a", "times": [T0.replace(tzinfo=None)]},
        "rows[0].times[0]: 2026-03-02T09:00:00 has no time zone",
    ),
    (
        {"path": "a > b", "times": [T0, T0 - DAY]},
        "rows[0].times[1]: earlier than the touch before it",
    ),
]


@pytest.mark.parametrize(("row", "message"), HOSTILE_ROWS)
def test_a_bad_row_is_named_with_its_field(row: Any, message: str) -> None:
    """
    Each malformed row is refused before any model runs, naming the row, the field and why.
    """
    with pytest.raises(ValidationError) as caught:
        attribution.linear([row])

    assert (message,) == caught.value.errors


def test_the_row_at_fault_is_counted_from_zero() -> None:
    """
    The error names the row at fault, not the first one.
    """
    with pytest.raises(ValidationError, match=r"^rows\[2\]\.path\[0\]: channel 'a b'"):
        attribution.PathTable.from_rows([("a", 1), ("b", 1), ("a b", 1)])


def test_absurdly_long_paths_are_refused_without_being_read_whole() -> None:
    """
    A path longer than *max_touches* is refused, even one that never ends; a string far
    too long is refused before it is split.
    """
    endless = {"path": itertools.cycle(["a", "b"]), "conversions": 1}
    long_text = {"path": " > ".join(["a"] * 1001), "conversions": 1}
    huge = {"path": "a" * 10**7, "conversions": 1}

    for row in (endless, long_text, huge):
        with pytest.raises(ValidationError, match=r"^rows\[0\]\.path: more than 1000 touches$"):
            attribution.markov([row])
    longer = attribution.PathTable.from_rows([long_text], max_touches=1001)
    assert 1001 == len(longer.rows[0].channels)


def test_a_table_that_is_not_rows_is_refused() -> None:
    """
    A string or a mapping is not a table of rows.
    """
    with pytest.raises(
        ValidationError, match=r"^rows: a DataFrame or an iterable of rows, not str$"
    ):
        attribution.linear("a > b")
    with pytest.raises(ValidationError, match=r"^rows: .* not dict$"):
        attribution.linear({"path": "a"})


def test_totals_too_large_to_add_are_refused() -> None:
    """
    Finite amounts whose sum is not finite are an error, not an infinite credit.
    """
    with pytest.raises(ValidationError, match=r"^nulls: the total is too large to add up$"):
        attribution.linear([("a", 0, 0.0, 1e308), ("b", 0, 0.0, 1e308)])


def test_model_options_are_checked() -> None:
    """
    Half-lives, shares, orders and state bounds out of range are named.
    """
    timed = [{"path": "a", "conversions": 1, "times": [T0]}]
    cases: list[tuple[Callable[[], object], str]] = [
        (
            lambda: attribution.time_decay(timed, half_life=dt.timedelta(0)),
            "half_life: a timedelta above zero, not datetime.timedelta(0)",
        ),
        (
            lambda: attribution.time_decay(timed, half_life=7),  # type: ignore[arg-type]
            "half_life: a timedelta above zero, not 7",
        ),
        (
            lambda: attribution.position_based(TABLE, first=0.75, last=0.5),
            "last: first + last is at most 1, not 1.25",
        ),
        (
            lambda: attribution.position_based(TABLE, first=-0.1),
            "first: a number from 0 to 1, not -0.1",
        ),
        (lambda: attribution.markov(TABLE, order=0), "order: an integer at least 1, not 0"),
        (
            lambda: attribution.markov(TABLE, order=2, max_states=3),
            "order: 2 gives 5 states, more than max_states=3",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValidationError) as caught:
            call()
        assert (message,) == caught.value.errors


def test_time_decay_needs_the_times_of_converting_paths_only() -> None:
    """
    A converting path without times is named; one that never converted needs none.
    """
    table = [
        {"path": "a", "conversions": 1, "times": [T0]},
        {"path": "b", "nulls": 3},
        {"path": "c", "conversions": 1},
    ]

    with pytest.raises(ValidationError) as caught:
        attribution.time_decay(table)

    assert ("rows[2].times: time decay needs the time of every touch",) == caught.value.errors
    assert {"a": (1, 0), "b": (0, 0)} == credited(attribution.time_decay(table[:2]))


TOUCHES_AT_FAULT = [
    (
        {"customer_id": "c", "occurred_at": T0, "channel": "web", "convert": True},
        "touches[0].convert: not a field of a touch (fields: customer_id, occurred_at, channel, converted, value)",
    ),
    ({"customer_id": "c", "channel": "web"}, "touches[0].occurred_at: required field is missing"),
    (
        ("c", T0.replace(tzinfo=None), "web"),
        "touches[0].occurred_at: 2026-03-02T09:00:00 has no time zone",
    ),
    (("c", "2026-03-02", "web"), "touches[0].occurred_at: a datetime, not str"),
    (("c", T0, "call centre"), "touches[0].channel: channel 'call centre' has whitespace in it"),
    (("c", T0, "web", "yes"), "touches[0].converted: true or false, not 'yes'"),
    (("c", T0, "web", False, 9.0), "touches[0].value: only a converting touch brings a value"),
    ((None, T0, "web"), "touches[0].customer_id: a string or an integer, not NoneType"),
    (("c", T0), "touches[0]: a tuple touch has 3 to 5 fields, not 2"),
]


@pytest.mark.parametrize(("touch", "message"), TOUCHES_AT_FAULT)
def test_a_bad_touch_is_named_with_its_field(touch: Any, message: str) -> None:
    """
    Touch rows are checked like path rows, and named `touches[i]`.
    """
    with pytest.raises(ValidationError) as caught:
        attribution.PathTable.from_touches([touch])

    assert (message,) == caught.value.errors


def test_a_customer_with_too_many_touches_is_named() -> None:
    """
    A path of touches longer than *max_touches* names its customer.
    """
    touches = [("c7", T0 + n * DAY, "web") for n in range(4)]

    with pytest.raises(
        ValidationError, match=r"^touches: customer 'c7' has a path of more than 3 touches$"
    ):
        attribution.PathTable.from_touches(touches, max_touches=3)
    assert 1 == len(attribution.PathTable.from_touches(touches, max_touches=4))


def test_paths_built_directly_are_checked_too() -> None:
    """
    A `ConversionPath` made in code splits a string path, keeps a list as a tuple, and
    refuses what a read row would be refused for.
    """
    made = attribution.ConversionPath(channels="email > web", conversions=2)
    listed = attribution.ConversionPath(channels=["email", "web"], conversions=2)

    assert ("email", "web") == made.channels == listed.channels
    assert 2 == attribution.PathTable([made, listed]).total_conversions / 2
    with pytest.raises(ValidationError, match=r"^times\[0\]: .* has no time zone$"):
        attribution.ConversionPath(channels=("a",), times=(T0.replace(tzinfo=None),))
    with pytest.raises(ValidationError, match=r"^path\[1\]: channel 'a b'"):
        attribution.ConversionPath(channels=("web", "a b"))
