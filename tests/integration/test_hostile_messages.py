"""
One bad message never blocks the others: what no store keeps is rejected, alone, by name.

Each store refused a whole chunk for one lone surrogate (SQLite, PostgreSQL), NUL character or
NaN (PostgreSQL), on every retry; other inputs escaped as exceptions from outside
`omnikit.errors`, or were stored and then broke reading the store.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import omnikit
from _faults import FaultyStore
from omnikit.errors import StoreError, StoreRefusedError, StoreUnavailableError, ValidationError
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def track(message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"a-{message_id}",
        "messageId": message_id,
        "timestamp": "2026-11-01T10:00:00Z",
        **fields,
    }


def errors_of(result: omnikit.IngestResult) -> dict[int, tuple[str, ...]]:
    return {r.index: r.error.errors for r in result.rejected}


def assert_readable(hub: omnikit.Hub) -> None:
    for customer in list(hub.customers()):
        json.dumps(hub.export(customer), allow_nan=False).encode()
        hub.touchpoints(customer)
        hub.orders(customer)


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


# -- strings -----------------------------------------------------------------------------------


def test_strings_no_store_keeps_are_rejected_alone(hub: omnikit.Hub) -> None:
    """
    A lone surrogate or a NUL, in a value, a key or an identifier, rejects its message by
    path; the messages beside it are stored, on every store.
    """
    batch = [
        track("g1"),
        track("s1", properties={"note": "caf\ud800"}),
        track("s2", properties={"tags": {"\udfff": 1}}),
        track("n1", context={"page": {"title": "a\x00b"}}),
        track("n2", userId="u\x00"),
        track("g2"),
    ]

    result = hub.ingest(batch)

    assert ("g1", "g2") == result.accepted
    assert {
        1: (
            (
                "properties.note: contains a lone surrogate (\\ud800), which is not Unicode text "
                "and cannot be stored as UTF-8"
            ),
        ),
        2: (
            (
                "properties.tags: the key '\\udfff' contains a lone surrogate (\\udfff), which is "
                "not Unicode text and cannot be stored as UTF-8"
            ),
        ),
        3: ("context.page.title: contains a NUL character (\\x00), which PostgreSQL cannot store",),
        4: ("userId: contains a NUL character (\\x00), which PostgreSQL cannot store",),
    } == errors_of(result)
    str(result.rejected[1].error).encode()  # the error itself can be logged
    assert_readable(hub)


def test_escaped_surrogates_in_json_text(hub: omnikit.Hub) -> None:
    """In JSON text, a lone escaped surrogate is rejected and an escaped pair is one character."""
    lines = [
        (
            '{"type":"track","event":"E","anonymousId":"a1","messageId":"pair",'
            '"timestamp":"2026-11-01T10:00:00Z","properties":{"emoji":"\\ud83d\\ude00"}}'
        ),
        (
            '{"type":"track","event":"E","anonymousId":"a1","messageId":"lone",'
            '"timestamp":"2026-11-01T10:00:00Z","properties":{"emoji":"\\ud83d"}}'
        ),
    ]

    result = hub.ingest("\n".join(lines))
    [tp] = hub.touchpoints(hub.customer(anonymous_id="a1"))  # type: ignore[arg-type]

    assert ("pair",) == result.accepted
    assert "properties.emoji: contains a lone surrogate (\\ud83d)" in errors_of(result)[1][0]
    assert "\U0001f600" == tp.properties["emoji"]


# -- numbers -----------------------------------------------------------------------------------


def test_nan_and_infinity_in_json_text_are_rejected_alone(hub: omnikit.Hub) -> None:
    """JSON text written with NaN or Infinity (as `json.dumps` writes them) is rejected by path."""
    lines = [
        json.dumps(track("g1")),
        json.dumps(track("nan", properties={"score": float("nan")})),
        json.dumps(track("inf", context={"device": {"ratio": float("-inf")}})),
        json.dumps(track("g2")).replace('"Product Viewed"', '"Product Viewed","x":1e999'),
    ]

    result = hub.ingest("\n".join(lines))

    assert ("g1",) == result.accepted
    assert {
        1: ("properties.score: expected a finite number, got NaN (not a JSON number)",),
        2: ("context.device.ratio: expected a finite number, got -Infinity (not a JSON number)",),
        3: ("x: expected a finite number, got 1e999",),
    } == errors_of(result)
    assert_readable(hub)


@pytest.mark.stores("memory")
def test_integers_are_kept_below_2_to_the_64(hub: omnikit.Hub) -> None:
    """
    Every 64-bit identifier is stored; a longer integer is rejected, in text or as a Python
    int, even one too long for Python to print.
    """
    digits = "9" * 5000
    text = json.dumps(track("t1")).replace('"Product Viewed"', f'"Product Viewed","n":{digits}')

    kept = hub.ingest(track("k1", properties={"id": 2**64 - 1, "low": -(2**64) + 1}))
    with pytest.raises(ValidationError) as from_text:
        hub.ingest(text)
    with pytest.raises(ValidationError) as from_python:
        hub.ingest(track("p1", properties={"n": 10**5000}))
    with pytest.raises(ValidationError) as just_over:
        hub.ingest(track("p2", properties={"n": [2**64]}))

    assert ("k1",) == kept.accepted
    assert (
        (
            "n: integer 999999999999...999999 (5000 characters) is out of range "
            "(integers are kept below 2**64)"
        ),
    ) == from_text.value.errors
    assert (
        (
            "properties.n: an integer of more than 4,000 digits is out of range "
            "(integers are kept below 2**64)"
        ),
    ) == from_python.value.errors
    assert (
        (
            "properties.n[0]: integer 18446744073709551616 is out of range "
            "(integers are kept below 2**64)"
        ),
    ) == just_over.value.errors


@pytest.mark.stores("memory")
@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"total": "1e999999999"}, "properties.total: expected a number below 10**15"),
        ({"revenue": 1e20}, "properties.revenue: expected a number below 10**15"),
        ({"quantity": 1e300}, "properties.quantity: expected a number below 10**15"),
        (
            {"products": [{"price": "1", "quantity": 10**16}]},
            "properties.products[0].quantity: expected a non-negative number below 10**15",
        ),
    ],
)
def test_amounts_are_bounded(hub: omnikit.Hub, properties: Any, expected: str) -> None:
    """An amount no order comes near is rejected, before it can overflow a customer's sums."""
    with pytest.raises(ValidationError) as info:
        hub.ingest(track("o1", event="Order Completed", properties=properties))

    assert info.value.errors[0].startswith(expected)


def test_converters_to_decimal_refuses_huge_exponents() -> None:
    """`to_decimal` refuses what no sum survives, as a ValidationError."""
    with pytest.raises(ValidationError, match="expected a number below 10"):
        omnikit.converters.to_decimal("1e999999999")
    with pytest.raises(ValidationError, match="an integer of 16610 bits"):
        omnikit.converters.to_decimal(10**5000)
    assert omnikit.converters.to_decimal("999999999999999.99") < 10**15


# -- depth -------------------------------------------------------------------------------------


def test_deep_nesting_is_rejected_and_the_deepest_accepted_reads_back(hub: omnikit.Hub) -> None:
    """
    A message nests at most 32 levels: 10,000-deep JSON text or Python values and 900-deep
    properties are rejected; a message at the limit is stored, read and exported.
    """
    deep_text = '{"type":"track","properties":' + "[" * 10_000 + "]" * 10_000 + "}"
    deep_python: Any = []
    for _ in range(10_000):
        deep_python = [deep_python]

    with pytest.raises(ValidationError) as text_error:
        hub.ingest(deep_text)
    with pytest.raises(ValidationError) as python_error:
        hub.ingest(track("p1", properties={"x": deep_python}))
    result = hub.ingest([track("p2", properties=nested(900)), track("p3", properties=nested(30))])

    assert ("payload: nested more than 32 levels deep",) == text_error.value.errors
    [error] = python_error.value.errors
    assert error.startswith("properties.x[0][0]")
    assert error.endswith("nested more than 32 levels deep")
    assert ("p3",) == result.accepted
    assert errors_of(result)[0][0].startswith("properties.a.a.a.")
    customer = hub.customer(anonymous_id="a-p3")
    assert customer is not None
    assert nested(30) == hub.export(customer)["touchpoints"][0]["properties"]
    assert_readable(hub)


# -- shapes ------------------------------------------------------------------------------------


@pytest.mark.stores("memory")
@pytest.mark.parametrize("kind", [[], {}, 1, "Track"])
def test_the_type_must_be_a_message_type(hub: omnikit.Hub, kind: object) -> None:
    """An unhashable type is an unknown type like any other."""
    with pytest.raises(ValidationError, match="type: unknown message type"):
        hub.ingest({"type": kind, "anonymousId": "a1"})


@pytest.mark.stores("memory")
@pytest.mark.parametrize("zone", ["America", "Europe/", "zone.tab", "../../etc", "a" * 5000])
def test_time_zones_that_name_no_zone_are_rejected(hub: omnikit.Hub, zone: str) -> None:
    """A directory of the zone database, a data file or a long name is no time zone."""
    identify = {"type": "identify", "userId": "u1", "traits": {"timezone": zone}}

    with pytest.raises(ValidationError, match=r"context\.timezone: unknown time zone"):
        hub.ingest(track("m1", context={"timezone": zone}))
    with pytest.raises(ValidationError, match=r"traits\.timezone: unknown time zone"):
        hub.ingest(identify)
    with pytest.raises(ValidationError, match="default_timezone: unknown time zone"):
        omnikit.Hub(default_timezone=zone)


def test_newline_delimited_json_splits_at_newlines_only(hub: omnikit.Hub) -> None:
    """
    Strings may hold U+2028 or a file separator; and a broken first line is rejected alone.
    """
    lines = [
        '{"type":"track","event":"Product Viewed","anonymousId":"a1","messageId":"cut',
        json.dumps(track("m1", properties={"text": "a\u2028b\x1cc"}), ensure_ascii=False),
        json.dumps(track("m2")),
    ]

    result = hub.ingest("\n".join(lines))
    [tp] = hub.touchpoints(hub.customer(anonymous_id="a-m1"))  # type: ignore[arg-type]

    assert ("m1", "m2") == result.accepted
    assert errors_of(result)[0][0].startswith("line 1: not valid JSON")
    assert "a\u2028b\x1cc" == tp.properties["text"]


@pytest.mark.stores("memory")
def test_a_broken_document_over_several_lines_is_refused_whole(hub: omnikit.Hub) -> None:
    """Pretty-printed JSON that is broken is one bad payload, not lines of a batch."""
    with pytest.raises(ValidationError, match="payload: not valid JSON"):
        hub.ingest('{\n  "type": "track",\n  "event": \n}')


# -- time --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2999-01-01T00:00:00Z", "timestamp: 2999-01-01T00:00:00+00:00 is more than 1 day after"),
        (
            "9999-12-31T23:59:59-01:00",
            (
                "timestamp: 9999-12-31T23:59:59-01:00 is more than 1 day after now "
                "(2026-11-02T09:30:00+00:00); the sender's clock may be wrong"
            ),
        ),
        (
            "1970-01-01T00:00:00Z",
            (
                "timestamp: 1970-01-01T00:00:00+00:00 is more than 30 years before now "
                "(2026-11-02T09:30:00+00:00); set the hub's max_past to accept older events"
            ),
        ),
        ("0001-01-01T00:00:00+01:00", "timestamp: 0001-01-01T00:00:00+01:00 is more than 30"),
    ],
)
@pytest.mark.stores("memory")
def test_times_outside_the_window_are_rejected(
    hub: omnikit.Hub, timestamp: str, expected: str
) -> None:
    """By default events are from the last 30 years up to a day ahead of the hub's clock."""
    with pytest.raises(ValidationError) as info:
        hub.ingest(track("m1", timestamp=timestamp))

    assert info.value.errors[0].startswith(expected)


@pytest.mark.stores("memory")
def test_times_inside_the_window_are_accepted(hub: omnikit.Hub) -> None:
    """A backfill from 26 years ago and a clock running hours ahead are both fine."""
    result = hub.ingest(
        [
            track("old", timestamp="2000-01-01T00:00:00Z"),
            track("ahead", timestamp="2026-11-02T23:00:00+02:00"),
        ]
    )

    assert ("old", "ahead") == result.accepted


@pytest.mark.stores("memory")
def test_the_window_is_configurable() -> None:
    """*max_past* and *max_future* set the window; `None` lifts a side."""
    clock = FrozenClock(T0)
    strict = omnikit.Hub(clock=clock, max_past=dt.timedelta(days=365), max_future=dt.timedelta(0))
    open_ended = omnikit.Hub(clock=clock, max_past=None, max_future=None)
    batch = [
        track("y2024", timestamp="2024-01-01T00:00:00Z"),
        track("soon", timestamp="2026-11-02T09:31:00Z"),
        track("y1900", timestamp="1900-01-01T00:00:00Z"),
        track("y2999", timestamp="2999-01-01T00:00:00Z"),
    ]

    assert () == strict.ingest(batch).accepted
    assert ("y2024", "soon", "y1900", "y2999") == open_ended.ingest(batch).accepted
    with pytest.raises(ValidationError, match="max_past: must not be negative"):
        omnikit.Hub(max_past=dt.timedelta(days=-1))


def test_without_a_window_the_ends_of_time_are_still_refused(store_url: str) -> None:
    """
    Even with no window, a time a store could not read back is rejected, and the store stays
    readable.
    """
    with omnikit.Hub.open(store_url, clock=FrozenClock(T0), max_past=None, max_future=None) as hub:
        result = hub.ingest(
            [
                track("end", timestamp="9999-12-31T23:59:59-01:00"),
                track("start", timestamp="0001-01-01T00:00:00+01:00"),
                track("received", receivedAt="9999-12-31T23:00:00-14:00"),
                track("fine", timestamp="9999-12-01T00:00:00Z"),
            ]
        )

        assert ("fine",) == result.accepted
        assert errors_of(result)[0] == (
            (
                "timestamp: 9999-12-31T23:59:59-01:00 is outside the times omnikit stores "
                "(0001-01-03 to 9999-12-29 UTC)"
            ),
        )
        assert errors_of(result)[2][0].startswith("receivedAt: 9999-12-31T23:00:00-14:00")
        assert_readable(hub)


@pytest.mark.stores("memory")
def test_clock_skew_correction_cannot_overflow(hub: omnikit.Hub) -> None:
    """A correction that leaves the years a date can have is a validation error."""
    message = track(
        "m1",
        timestamp=None,
        originalTimestamp="0001-01-01T00:00:00Z",
        sentAt="9999-12-31T00:00:00Z",
        receivedAt="2026-11-02T09:00:00Z",
    )

    with pytest.raises(ValidationError) as info:
        hub.ingest(message)

    assert info.value.errors[0].startswith(
        "originalTimestamp: corrected for the sender's clock (receivedAt - (sentAt - "
        "originalTimestamp)), it falls outside the years a date can have"
    )


@pytest.mark.stores("memory")
def test_a_consent_dated_out_of_the_window_is_rejected(hub: omnikit.Hub) -> None:
    """`Hub.set_consent()` dates its touchpoint within the same window."""
    hub.ingest(track("m1"))
    customer = hub.customer(anonymous_id="a-m1")
    assert customer is not None

    with pytest.raises(ValidationError, match="timestamp: 9999-12-31T23:59:59-01:00 is more"):
        hub.set_consent(
            customer, purpose="marketing", granted=True, timestamp="9999-12-31T23:59:59-01:00"
        )
    assert_readable(hub)


# -- a store that still refuses one message ------------------------------------------------------


def _refusing(path: Path, refused: set[str], *, down: set[str] | None = None) -> FaultyStore:
    """SQLite, which refuses changes holding *refused* touchpoints, and is down for *down*."""

    def fault(ids: set[str]) -> StoreError | None:
        if ids & refused:
            return StoreRefusedError(f"sqlite: refused {sorted(ids & refused)}")
        if ids & (down or set()):
            return StoreUnavailableError("sqlite: database is locked")
        return None

    return FaultyStore(path, fault)


def test_a_message_the_store_refuses_is_isolated(tmp_path: Path) -> None:
    """
    The store's refusal of a chunk is narrowed down to the message it refuses: that one is
    rejected at its index, the rest stored once; a retry changes nothing.
    """
    store = _refusing(tmp_path / "shop.db", {"m5"})
    batch = [track(f"m{i}", anonymousId="a1" if i % 2 else f"a{i}") for i in range(8)]
    batch.insert(3, {"type": "nope"})
    with omnikit.Hub(store, clock=FrozenClock(T0), batch_size=4) as hub:
        result = hub.ingest(batch)
        retry = hub.ingest(batch)

        kept = tuple(f"m{i}" for i in range(8) if i != 5)
        assert kept == result.accepted
        assert [3, 6] == [r.index for r in result.rejected]
        assert "m5" == result.rejected[1].message_id
        assert ("message: the store refused it (sqlite: refused ['m5'])",) == result.rejected[
            1
        ].error.errors
        assert () == retry.accepted
        assert kept == retry.duplicates
        assert 7 == sum(c.stats.touchpoints for c in hub.customers())
        assert_readable(hub)


def test_a_store_refusing_everything_raises(tmp_path: Path) -> None:
    """When the store takes none of a chunk, the fault is the store's: its error is raised."""
    store = _refusing(tmp_path / "shop.db", {"m2", "m3"})
    batch = [track(f"m{i}") for i in range(4)]
    with omnikit.Hub(store, clock=FrozenClock(T0), batch_size=2) as hub:
        with pytest.raises(StoreError, match="refused") as info:
            hub.ingest(batch)
        with pytest.raises(StoreError, match="refused"):
            hub.ingest(track("m2"))

        assert ("m0", "m1") == info.value.partial.accepted  # type: ignore[attr-defined]
        assert () == info.value.partial.rejected  # type: ignore[attr-defined]


def test_an_unavailable_store_still_raises_with_what_was_stored(tmp_path: Path) -> None:
    """Isolating a refusal stops at a store that is unavailable; `partial` says what got in."""
    store = _refusing(tmp_path / "shop.db", {"m1"}, down={"m3"})
    batch = [track(f"m{i}") for i in range(4)]
    with omnikit.Hub(store, clock=FrozenClock(T0)) as hub:
        with pytest.raises(StoreUnavailableError) as info:
            hub.ingest(batch)

        partial = info.value.partial  # type: ignore[attr-defined]
        assert ("m0",) == partial.accepted
        assert [1] == [r.index for r in partial.rejected]
        assert ["m0"] == [tp.message_id for c in hub.customers() for tp in hub.touchpoints(c)]


@pytest.mark.stores("sqlite")
def test_sqlite_refuses_text_utf8_cannot_hold_as_a_store_error(store_url: str) -> None:
    """A lone surrogate reaching SQLite is a StoreError, not a UnicodeEncodeError."""
    store = omnikit.stores.open_store(store_url)
    try:
        with pytest.raises(StoreError, match="surrogates not allowed"), store.transaction() as tx:
            tx.seen(["\ud800"])
    finally:
        store.close()
