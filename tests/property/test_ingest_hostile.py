"""
Arbitrary JSON, and valid messages with hostile parts, raise only omnikit's errors.

Whatever `Hub.ingest()` is given, as Python values or as JSON text, alone or in a batch beside
valid messages, it either stores it or raises (for a batch: rejects) with an error from
`omnikit.errors`; the valid messages beside it are stored; and everything the store holds
afterwards can be read back: customers, their exports, touchpoints and orders.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omnikit
from omnikit.errors import OmnikitError
from omnikit.stores import Store, open_store
from omnikit.testing import FrozenClock

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
SQL_STORE_EVERY = 10  # examples sharing an SQL store: reading it all stays cheap

SPECIAL_TEXT = (
    "\ud800",
    "a\udfffb",
    "\x00",
    "nul\x00inside",
    "\u2028",
    "\x1c",
    "America",
    "Europe/Lisbon",
    "1e999999999",
    "-1e999",
    "NaN",
    "9" * 5000,
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "2999-01-01T00:00:00Z",
    "2026-11-02T09:00:00Z",
    "",
    " ",
    "browser",
    "email",
    "identify",
    "Order Completed",
    "Consent Updated",
    "Segment Entered",
)
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    SPECIAL_TEXT
)
numbers = (
    st.integers()
    | st.sampled_from([2**63, 2**64 - 1, 2**64, -(2**64), 10**15])
    | st.integers(19, 5000).map(lambda digits: 10**digits)  # no repr past 4,300 digits
    | st.floats()
    | st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0])
)
leaves = st.none() | st.booleans() | numbers | texts


class _DeepList(list[Any]):
    def __repr__(self) -> str:  # Hypothesis would recurse as deep to show it
        return f"<a list nesting {_depth(self)} levels>"


class _DeepDict(dict[str, Any]):
    def __repr__(self) -> str:
        return f"<an object nesting {_depth(self)} levels>"


_DECODABLE = 500  # levels of JSON text that Python's decoder reads without running out of stack


def _depth(value: Any) -> int:
    """How many levels of lists and objects *value* nests (without recursing as deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


def nest(depth: int, leaf: Any, *, as_list: bool) -> Any:
    """*leaf* inside *depth* lists or objects, the outermost shown briefly."""
    value = leaf
    for _ in range(depth - 1):
        value = [value] if as_list else {"a": value}
    return _DeepList([value]) if as_list else _DeepDict(a=value)


deep = st.builds(nest, st.integers(20, 3000), leaves, as_list=st.booleans())
keys = texts | st.integers() | st.sampled_from([None, True, 1.5, float("nan"), (1, 2)])
shallow = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)  # Python values, as a host passes them
        | st.dictionaries(texts, children, max_size=4)
        | st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=12,
)
json_values = st.integers(0, 7).flatmap(lambda n: deep if n == 0 else shallow)

moments = st.datetimes(
    min_value=dt.datetime(1, 1, 1), timezones=st.sampled_from([dt.UTC, dt.timezone.min])
).map(dt.datetime.isoformat) | st.sampled_from(SPECIAL_TEXT[10:16])


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Segment message, each field from a small pool, so that mutations hit them."""
    kind = draw(st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]))
    message: dict[str, Any] = {
        "type": kind,
        "messageId": f"m-{uuid.uuid4().hex}",
        "anonymousId": draw(st.sampled_from(["a1", "a2"])),
        "timestamp": "2026-11-01T10:00:00Z",
        "context": {"channel": "web", "traits": {"email": "ana@example.com"}},
    }
    if kind in {"identify", "alias"}:
        message["userId"] = "u1"
    if kind == "track":
        message["event"] = draw(st.sampled_from(["Order Completed", "Product Viewed"]))
        message["properties"] = {
            "order_id": "o1",
            "total": 12.5,
            "currency": "EUR",
            "products": [{"product_id": "p1", "price": "6.25", "quantity": 2}],
        }
    if kind == "identify":
        message["traits"] = {"timezone": "Europe/Lisbon", "first_name": "Ana"}
    if kind == "group":
        message["groupId"] = "g1"
    if kind == "alias":
        message["previousId"] = "a3"
    return message


PLACES = (
    (),
    ("properties",),
    ("context",),
    ("traits",),
    ("context", "traits"),
    ("context", "device"),
    ("properties", "products", 0),
)
FIELDS = (
    "type",
    "event",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "channel",
    "timezone",
    "total",
    "price",
    "quantity",
    "email",
    "phone",
    "id",
    "externalIds",
    "location",
    "\ud800",
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with a few fields set to arbitrary JSON, or removed."""
    message = draw(valid_messages())
    for _ in range(draw(st.integers(1, 3))):
        target: Any = message
        for step in draw(st.sampled_from(PLACES)):
            if isinstance(target, dict):
                target = target.setdefault(step, {})
            elif isinstance(target, list) and target:
                target = target[0]
        if not isinstance(target, dict):
            continue
        field = draw(st.sampled_from(FIELDS) | texts)
        if draw(st.integers(0, 5)) == 0:
            target.pop(field, None)
        else:
            time_field = field in {"timestamp", "originalTimestamp", "sentAt", "receivedAt"}
            target[field] = draw(moments if time_field and draw(st.booleans()) else json_values)
    return message


payloads = json_values | mutated()


class _Hubs:
    """A hub on a fresh store of one kind: for each example, or every few for SQL stores."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind, self.request, self.tmp_path = kind, request, tmp_path
        self.used = 0
        self.stores: list[Store] = []
        self.hub = self._new()

    def _new(self) -> omnikit.Hub:
        if self.kind == "memory":
            url = "memory://"
        elif self.kind == "sqlite":
            url = f"sqlite:///{self.tmp_path / f'{len(self.stores)}.db'}"
        else:
            url = f"{self.request.getfixturevalue('postgres_url')}?schema=t_{uuid.uuid4().hex[:12]}"
        self.stores.append(open_store(url))
        return omnikit.Hub(self.stores[-1], clock=FrozenClock(T0))

    def next(self) -> omnikit.Hub:
        self.used += 1
        if self.kind == "memory" or self.used % SQL_STORE_EVERY == 0:
            self.hub = self._new()
        return self.hub

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture(
    name="hubs",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def _hubs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Hubs]:
    hubs = _Hubs(request.param, request, tmp_path)
    yield hubs
    hubs.close()


def _assert_readable(hub: omnikit.Hub) -> None:
    for customer in list(hub.customers()):
        exported = hub.export(customer)
        json.dumps(exported, allow_nan=False).encode()
        hub.touchpoints(customer)
        hub.orders(customer)


def _assert_omnikit_error(exc: BaseException) -> None:
    assert isinstance(exc, OmnikitError), f"{type(exc).__name__}: {exc}"
    str(exc).encode()  # the message can be logged: no lone surrogate in it


def _ingest_alone(hub: omnikit.Hub, payload: Any) -> None:
    try:
        hub.ingest(payload)
    except Exception as exc:  # noqa: BLE001 - what it is, is the point
        _assert_omnikit_error(exc)


def _texts(payload: Any) -> list[str]:
    """*payload* as JSON text, as senders write it (NaN and all), where it can be written."""
    try:
        return [json.dumps(payload), json.dumps(payload, ensure_ascii=False)]
    except (ValueError, TypeError, RecursionError):
        return []


def test_hostile_payloads_raise_only_omnikit_errors(hubs: _Hubs) -> None:
    """
    Any JSON, alone or beside valid messages, as values or text: omnikit errors only, the
    valid messages stored, and the store readable afterwards.
    """
    examples = settings().max_examples if hubs.kind != "postgres" else 50

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(payload=payloads, good=valid_messages())
    def run(payload: Any, good: dict[str, Any]) -> None:
        hub = hubs.next()
        _ingest_alone(hub, payload)
        for text in _texts(payload):
            _ingest_alone(hub, text)
        companions = [dict(good, messageId=f"g-{uuid.uuid4().hex}") for _ in range(4)]
        batch = [companions[0], payload, companions[1]]
        as_text = _texts({"batch": [companions[2], payload, companions[3]]})

        result = hub.ingest(batch)
        text_result = None
        if as_text and _depth(payload) <= _DECODABLE:
            text_result = hub.ingest(as_text[0])
        elif as_text:  # text nesting too deep to decode may be refused whole
            _ingest_alone(hub, as_text[0])
        again = hub.ingest("\n".join(json.dumps(m) for m in batch if _texts(m)))

        assert {c["messageId"] for c in companions[:2]} <= set(result.accepted)
        if text_result is not None:
            assert {c["messageId"] for c in companions[2:]} <= set(text_result.accepted)
        for rejection in result.rejected:
            _assert_omnikit_error(rejection.error)
        assert not again.accepted  # each was stored before: nothing twice
        _assert_readable(hub)

    run()
