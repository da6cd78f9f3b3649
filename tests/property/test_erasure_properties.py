"""Erasure under Hypothesis: forgetting a customer is as if their touchpoints never arrived."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_identity_properties import ingest_all, state

import omnikit
from omnikit.stores.memory import MemoryStore
from strategies import chunked, streams


def identity_rows(hub: omnikit.Hub) -> dict[tuple[str, str], str | None]:
    """Every identity row of the (memory) store and its owner; clusters are left out."""
    store = hub.store
    assert isinstance(store, MemoryStore)
    return {key: row[0] for key, row in store._identities.items()}


@given(data=st.data(), stream=streams())
def test_forgetting_is_never_having_ingested(
    data: st.DataObject, stream: list[dict[str, Any]]
) -> None:
    """
    After forgetting any customer, the store holds what ingesting everything but their
    touchpoints gives: same customers, ids, identities, touchpoints, traits, stats, merges,
    and not one identity row more (none left unlinked, none of theirs).
    """
    hub = omnikit.Hub()
    ingest_all(hub, data.draw(chunked(stream)))
    customers = list(hub.customers())
    gone = data.draw(st.sampled_from(customers))
    theirs = {tp.message_id for tp in hub.touchpoints(gone)}

    report = hub.forget(gone)

    reference = omnikit.Hub()
    ingest_all(reference, [[m for m in stream if m["messageId"] not in theirs]])
    assert len(theirs) == report.touchpoints
    assert state(reference) == state(hub)
    assert identity_rows(reference) == identity_rows(hub)


@settings(max_examples=25)
@given(data=st.data(), stream=streams(max_size=20))
def test_erased_messages_stay_out_whatever_comes_back(
    data: st.DataObject, stream: list[dict[str, Any]]
) -> None:
    """
    Re-sending any of the stream after an erasure stores none of the erased messages again,
    reports each of them as suppressed (once; a repeat in the batch is a duplicate), and
    changes nobody else.
    """
    hub = omnikit.Hub()
    ingest_all(hub, [stream])
    gone = data.draw(st.sampled_from(list(hub.customers())))
    theirs = {tp.message_id for tp in hub.touchpoints(gone)}
    hub.forget(gone)
    before = state(hub)
    again = data.draw(st.lists(st.sampled_from(stream), min_size=1, max_size=len(stream)))

    result = hub.ingest({"batch": again})

    assert () == result.accepted
    assert sorted(result.suppressed) == sorted({m["messageId"] for m in again} & theirs)
    assert before == state(hub)
