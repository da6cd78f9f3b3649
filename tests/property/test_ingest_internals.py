"""The ingestion fast paths agree with the plain code they stand in for."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import omnikit
from omnikit._engines.inbound import IngestOptions, parse_message
from omnikit._engines.reader import ReadCache
from omnikit._engines.values import MAX_DEPTH, decode, standard_decode
from omnikit.errors import ValidationError
from omnikit.stores._codec import encode as _encode
from omnikit.stores._codec import touchpoint_json, touchpoint_text
from omnikit.stores._schema import Dialect
from omnikit.stores.memory import MemoryStore, _MemoryTransaction
from omnikit.testing import Retailer
from strategies import chunked, streams

texts = st.text(max_size=6) | st.sampled_from(['"', "\\", "\n\x00\x1f", "ção", "\u2028", "\ud800"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | texts,
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(
            texts | st.integers(0, 3) | st.none() | st.booleans(), children, max_size=3
        )
    ),
    max_leaves=10,
)
objects = st.dictionaries(texts, json_values, max_size=3)
moments = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), timezones=st.sampled_from([dt.UTC, dt.timezone.min])
)
maybe_text = st.none() | texts
touchpoints = st.builds(
    omnikit.Touchpoint,
    message_id=texts,
    type=st.sampled_from(omnikit.TouchpointType),
    name=texts,
    channel=texts,
    direction=st.sampled_from(omnikit.Direction),
    occurred_at=moments,
    received_at=moments,
    identities=st.lists(
        st.builds(omnikit.Identity.from_normalized, st.just("user_id"), texts), max_size=3
    ).map(tuple),
    properties=objects,
    traits=objects,
    context=st.builds(
        omnikit.Context,
        source=maybe_text,
        store_id=maybe_text,
        agent=maybe_text,
        campaign=objects,
        device=objects,
        location=st.none()
        | st.builds(
            omnikit.Location,
            latitude=st.none() | st.floats(-90, 90),
            longitude=st.none() | st.floats(-180, 180),
            city=maybe_text,
            postal_code=maybe_text,
        ),
        page=objects,
        ip=maybe_text,
        locale=maybe_text,
        timezone=maybe_text,
        user_agent=maybe_text,
        extra=objects,
    ),
    trust=st.sampled_from(omnikit.Trust),
)


@given(value=json_values)
def test_the_encoder_writes_what_json_dumps_writes(value: Any) -> None:
    """`_encode` is `json.dumps` with compact separators and UTF-8 text, byte for byte."""
    assert json.dumps(value, separators=(",", ":"), ensure_ascii=False) == _encode(value)


def test_the_encoder_reports_a_cycle_as_json_dumps_does() -> None:
    """A cycle is a ValueError, as from `json.dumps`, not a RecursionError."""
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle

    with pytest.raises(ValueError, match="Circular reference detected"):
        _encode({"a": [cycle]})


@given(tp=touchpoints)
def test_touchpoint_text_is_the_encoded_touchpoint_json(tp: omnikit.Touchpoint) -> None:
    """The touchpoint JSON SQL stores write, put together from pieces, is the plain encoding."""
    assert _encode(touchpoint_json(tp)) == touchpoint_text(tp)


def _decoded(decoder: Any, text: str) -> object:
    """What *decoder* makes of *text*, in a form `==` compares exactly."""
    try:
        value, storable = decoder(text, "line 1")
    except ValidationError as exc:
        return ("error", exc.errors)
    return (_shape(value), storable)


def _shape(value: object) -> object:
    """*value* with each number's type and sign kept, and stand-ins shown by their reason."""
    if isinstance(value, dict):
        return ("dict", [(k, _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_shape(v) for v in value])
    if isinstance(value, str | bool | None | int | float):
        return (type(value).__name__, repr(value))
    return ("stand-in", getattr(value, "reason", None))


json_texts = (
    st.builds(
        lambda value, ascii_only, indent: json.dumps(value, ensure_ascii=ascii_only, indent=indent),
        json_values,
        st.booleans(),
        st.none() | st.integers(0, 2),
    )
    | st.text(max_size=12)
    | st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \t\n\x00\ufeff', max_size=24)
    | st.sampled_from(
        [
            "01",
            "1.",
            ".5",
            "-0",
            "1e400",
            "-1e-400",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551616",
            "1" * 5000,
            '"\\ud800"',
            '"\\ud83d\\ude00"',
            '"\\u0000"',
            "\ufeff{}",
            '{"a":1,"a":2}',
            "NaN",
            "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
            "[" * 2000 + "]" * 2000,
            '{"a":1}\n{"b":2}',
            "  [1, 2.50, -3]  ",
        ]
    )
)


@given(text=json_texts)
def test_decode_gives_what_the_standard_decoder_gives(text: str) -> None:
    """msgspec's fast path decodes to the same values, flag and errors as the standard one."""
    assert _decoded(decode, text) == _decoded(standard_decode, text)


class _BoomError(Exception):
    pass


class _FailingStore(MemoryStore):
    """A memory store whose transactions fail at the end, after every write, when told to."""

    failing = False

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with super().transaction() as tx:
            yield tx
            if self.failing:
                raise _BoomError


def _tables(store: MemoryStore) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, table in vars(store).items():
        if isinstance(table, dict):
            out[name] = {
                k: (
                    set(v)
                    if isinstance(v, set)
                    else (v, _encode(v.profile.to_json()), set(v.members))
                    if hasattr(v, "profile")
                    else v
                )
                for k, v in table.items()
            }
    return out


@given(data=st.data(), first=streams(max_size=15), second=streams(max_size=15))
def test_a_failed_ingestion_leaves_the_memory_store_as_it_was(
    data: st.DataObject, first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    """Whatever a transaction wrote (merges and replays included) is undone when it fails."""
    store = _FailingStore()
    hub = omnikit.Hub(store)
    for batch in data.draw(chunked(first)):
        hub.ingest({"batch": batch})
    before = _tables(store)
    store.failing = True
    renamed = [{**m, "messageId": f"x{m['messageId']}"} for m in second]

    with pytest.raises(_BoomError):
        hub.ingest({"batch": first[: len(first) // 2] + renamed})

    assert before == _tables(store)


context_values = st.sampled_from(["a", 1, 1.0, True, None])
context_objects = st.dictionaries(
    st.just("a"), context_values | st.dictionaries(st.just("a"), context_values), max_size=1
)
message_contexts = st.fixed_dictionaries(
    {"page": context_objects},
    optional={"campaign": context_objects, "app": context_objects, "locale": st.just("en-GB")},
)


@given(contexts=st.lists(message_contexts, min_size=2, max_size=4))
@example(contexts=[{"page": {"a": 1}}, {"page": {"a": 1.0}}, {"page": {"a": True}}])
@example(contexts=[{"page": {}, "app": {"a": {"a": 1}}}, {"page": {}, "app": {"a": {"a": 1.0}}}])
def test_a_shared_context_is_the_context_read_alone(contexts: list[dict[str, Any]]) -> None:
    """Touchpoints that share a context store exactly what each would have alone."""
    options, cache = IngestOptions(), ReadCache()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i, context in enumerate(contexts):
        message = {"type": "track", "event": "E", "userId": "u", "messageId": f"m{i}"}
        message["context"] = context
        text = json.dumps(message)
        alone = parse_message(json.loads(text), options, now=now, text=text)
        shared = parse_message(json.loads(text), options, now=now, text=text, cache=cache)

        assert shared == alone
        assert touchpoint_text(shared) == touchpoint_text(alone)


def test_contexts_of_strings_are_shared() -> None:
    """Two events on the same page, in the same locale, share one context."""
    options, cache = IngestOptions(), ReadCache()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    context = {"page": {"path": "/", "url": "https://shop.example/"}, "locale": "en-GB"}
    first, second = (
        parse_message(json.loads(text), options, now=now, text=text, cache=cache)
        for text in (
            json.dumps({"type": "page", "userId": "u", "messageId": mid, "context": context})
            for mid in ("m1", "m2")
        )
    )

    assert first.context is second.context


def test_a_context_of_the_hosts_objects_is_not_shared() -> None:
    """A host may change its dict after the call: a later event with the old value keeps it."""
    options, cache = IngestOptions(), ReadCache()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    page = {"path": "/"}
    parse_message(
        {"type": "page", "userId": "u", "context": {"page": page}}, options, now=now, cache=cache
    )
    page["path"] = "/changed"

    later = parse_message(
        {"type": "page", "userId": "u", "context": {"page": {"path": "/"}}},
        options,
        now=now,
        cache=cache,
    )

    assert later.context.page == {"path": "/"}


@given(value=json_values)
def test_a_json_column_reads_back_as_json_loads_reads_it(value: Any) -> None:
    """The dialect's fast reader gives `json.loads`'s values for what the encoder wrote."""
    text = _encode(value)

    assert _shape(Dialect().load(text)) == _shape(json.loads(text))


def test_the_memory_store_keeps_members_the_collector_does_not_track() -> None:
    """Its indexes (a customer's touchpoints, a cluster's keys, ...) and links hold values only."""
    store = MemoryStore()
    hub = omnikit.Hub(store, default_region="PT")
    hub.ingest(list(Retailer(30, seed=1).messages()))
    gc.collect()

    indexes = (store._by_customer, store._cluster_keys, store._cluster_customers)
    assert all(index for index in indexes)
    assert not any(gc.is_tracked(members) for index in indexes for members in index.values())
    links = [m for m in store._merges.values() if not gc.is_tracked(m)]
    assert len(links) > len(store._merges) / 2
