"""Identity resolution under Hypothesis: order independence, idempotency, limits, walls."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import omnikit
from strategies import chunked, streams


def state(hub: omnikit.Hub) -> dict[str, Any]:
    """Everything that must not depend on arrival order, keyed by customer id."""
    out: dict[str, Any] = {}
    for customer in hub.customers():
        out[customer.id] = {
            "identities": sorted((i.kind, i.value) for i in customer.identities),
            "touchpoints": sorted(tp.message_id for tp in hub.touchpoints(customer)),
            "traits": dict(customer.traits),
            "stats": customer.stats,
            "consents": customer.consents,
            "merges": sorted((m.id, m.customer_id, m.merged_ids) for m in hub.merges(customer)),
        }
    return out


def ingest_all(hub: omnikit.Hub, batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        hub.ingest({"batch": batch}).raise_for_failures()


@given(data=st.data(), stream=streams())
def test_arrival_order_does_not_matter(data: st.DataObject, stream: list[dict[str, Any]]) -> None:
    """
    The same events in any arrival order, in any batching, give the same customers: same ids,
    identities, touchpoints, traits, stats and merge trail.
    """
    reference = omnikit.Hub()
    ingest_all(reference, [stream])
    shuffled = data.draw(st.permutations(stream))
    other = omnikit.Hub()
    ingest_all(other, data.draw(chunked(list(shuffled))))

    assert state(reference) == state(other)


@given(data=st.data(), stream=streams())
def test_ingesting_again_changes_nothing(data: st.DataObject, stream: list[dict[str, Any]]) -> None:
    """
    Re-sending any subset of what was accepted changes nothing and reports duplicates.
    """
    hub = omnikit.Hub()
    ingest_all(hub, [stream])
    before = state(hub)
    again = data.draw(st.lists(st.sampled_from(stream), min_size=1, max_size=len(stream)))

    result = hub.ingest({"batch": again})

    assert () == result.accepted
    assert len(again) == len(result.duplicates)
    assert before == state(hub)


@given(stream=streams(max_size=40))
def test_limits_and_lookup_hold(stream: list[dict[str, Any]]) -> None:
    """
    No customer holds two user ids or two loyalty cards, every identity belongs to exactly
    one customer, and looking a customer up by any of their identities finds them.
    """
    hub = omnikit.Hub()
    ingest_all(hub, [stream])
    owners: Counter[tuple[str, str]] = Counter()

    for customer in hub.customers():
        kinds = Counter(i.kind for i in customer.identities)
        assert kinds["user_id"] <= 1
        assert kinds["loyalty_id"] <= 1
        for identity in customer.identities:
            owners[(identity.kind, identity.value)] += 1
            found = hub.customer(**{identity.kind: identity.value})
            assert found is not None
            assert customer.id == found.id

    assert all(n == 1 for n in owners.values())


@given(stream=streams())
def test_every_touchpoint_belongs_to_one_customer(stream: list[dict[str, Any]]) -> None:
    """Nothing accepted is lost or stored twice, and each touchpoint has one customer."""
    hub = omnikit.Hub()
    ingest_all(hub, [stream])

    seen = [tp.message_id for c in hub.customers() for tp in hub.touchpoints(c)]

    assert sorted(seen) == sorted(m["messageId"] for m in stream)


@given(data=st.data(), stream=streams(min_size=2))
def test_unmerge_is_a_wall(data: st.DataObject, stream: list[dict[str, Any]]) -> None:
    """
    After an unmerge the sides stay apart, even when a later event carries an identifier of
    each side; every touchpoint still belongs to exactly one customer.
    """
    hub = omnikit.Hub()
    ingest_all(hub, [stream])
    merged = [(c, m) for c in hub.customers() for m in hub.merges(c)]
    if not merged:
        return
    customer, merge = data.draw(st.sampled_from(merged))

    sides = hub.unmerge(customer, merge.id)

    assert len(sides) >= 2
    a = data.draw(st.sampled_from(sides[0].identities))
    b = data.draw(st.sampled_from(sides[1].identities))
    bridge = {
        "type": "identify",
        "messageId": "bridge",
        "timestamp": "2026-11-01T10:00:00+00:00",
        "context": {
            "externalIds": [{"id": a.value, "type": a.kind}, {"id": b.value, "type": b.kind}]
        },
        "anonymousId": "bridge-anon",
    }
    hub.ingest(bridge)
    assert hub.customer(**{a.kind: a.value}).id != hub.customer(**{b.kind: b.value}).id  # type: ignore[union-attr]
    seen = [tp.message_id for c in hub.customers() for tp in hub.touchpoints(c)]
    assert sorted(seen) == sorted([m["messageId"] for m in stream] + ["bridge"])


@settings(max_examples=25)
@given(data=st.data(), stream=streams(max_size=20))
def test_sqlite_resolves_like_memory(
    data: st.DataObject, stream: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    """The SQLite store gives the same customers as the in-memory store, in any order."""
    path = tmp_path_factory.mktemp("db") / "omnikit.db"
    memory = omnikit.Hub()
    ingest_all(memory, [stream])
    with omnikit.Hub.open(f"sqlite:///{path}") as sqlite:
        ingest_all(sqlite, data.draw(chunked(list(data.draw(st.permutations(stream))))))
        assert state(memory) == state(sqlite)
