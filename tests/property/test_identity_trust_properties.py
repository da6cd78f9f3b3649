"""
Identity resolution with trust levels under Hypothesis: still order-independent and
idempotent, and a claim never carries a stranger's session into a verified customer.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from test_identity_properties import state

import omnikit
from strategies import T0, chunked, streams

RULES = omnikit.IdentityRules(verified_sources={"backend"})
Sourced = tuple[dict[str, Any], str | None]


@st.composite
def sourced_streams(draw: st.DrawFn, max_size: int = 30) -> list[Sourced]:
    """Messages, each handed over by the back end (verified) or from a browser (a claim)."""
    stream = draw(streams(max_size=max_size))
    return [(m, draw(st.sampled_from(["backend", None]))) for m in stream]


def ingest_all(hub: omnikit.Hub, batches: list[list[Sourced]]) -> None:
    """Each batch in calls of one source each, as a host's collectors would make them."""
    for batch in batches:
        for source, run in itertools.groupby(batch, key=lambda item: item[1]):
            hub.ingest({"batch": [m for m, _ in run]}, source=source).raise_for_failures()


def hub() -> omnikit.Hub:
    return omnikit.Hub(identity_rules=RULES)


def trusted_state(h: omnikit.Hub) -> dict[str, Any]:
    out = state(h)
    for customer in h.customers():
        out[customer.id]["links"] = sorted(
            (link.id, link.identity.value, link.trust) for link in h.links(customer)
        )
    return out


@given(data=st.data(), stream=sourced_streams())
def test_arrival_order_does_not_matter_with_trust(
    data: st.DataObject, stream: list[Sourced]
) -> None:
    """
    Verified and claimed events in any arrival order and batching give the same customers,
    merges and links.
    """
    reference = hub()
    ingest_all(reference, [stream])
    other = hub()
    ingest_all(other, data.draw(chunked(list(data.draw(st.permutations(stream))))))
    event(f"links: {min(sum(len(v['links']) for v in trusted_state(reference).values()), 5)}")

    assert trusted_state(reference) == trusted_state(other)


@given(data=st.data(), stream=sourced_streams())
def test_ingesting_again_changes_nothing_with_trust(
    data: st.DataObject, stream: list[Sourced]
) -> None:
    """Re-sending any subset, from its own source or another, changes nothing."""
    h = hub()
    ingest_all(h, [stream])
    before = trusted_state(h)
    again = data.draw(st.lists(st.sampled_from(stream), min_size=1, max_size=len(stream)))

    ingest_all(h, [[(m, data.draw(st.sampled_from(["backend", None]))) for m, _ in again]])

    assert before == trusted_state(h)


def verified_identities(h: omnikit.Hub) -> set[omnikit.Identity]:
    """Every identity a verified touchpoint carried (and that is held by somebody)."""
    held = {i for c in h.customers() for i in c.identities}
    return {
        i
        for c in h.customers()
        for tp in h.touchpoints(c)
        if tp.trust is omnikit.Trust.VERIFIED
        for i in tp.identities
        if i in held
    }


@given(data=st.data(), stream=sourced_streams(max_size=25))
def test_a_claim_never_carries_a_stranger_into_a_verified_customer(
    data: st.DataObject, stream: list[Sourced]
) -> None:
    """
    Whatever happened before, a browser claiming any of a verified customer's emails,
    phones, cards or user ids, with a session of its own and dated any time (backdated too),
    ends up apart from every verified identity, and the customer keeps every verified
    identity; a claim dated after everything else changes nothing of theirs at all.
    """
    h = hub()
    ingest_all(h, [stream])
    verified = [
        c
        for c in h.customers()
        if any(tp.trust is omnikit.Trust.VERIFIED for tp in h.touchpoints(c))
    ]
    event(f"verified customers: {min(len(verified), 3)}")
    if not verified:
        return
    victim = data.draw(st.sampled_from(verified))
    known = [i for i in victim.identities if i.kind not in RULES.session_kinds]
    if not known:
        return
    claimed = data.draw(st.lists(st.sampled_from(known), min_size=1, unique=True))
    minute = data.draw(st.integers(0, 60))  # the stream's events are dated 0 to 40
    attack = {
        "type": "identify",
        "messageId": "attack",
        "anonymousId": "stranger",
        "timestamp": (T0 + dt.timedelta(minutes=minute)).isoformat(),
        "traits": {"name": "Mallory", "phone": "+351912999999"},
        "context": {
            "externalIds": [{"id": i.value, "type": i.kind} for i in claimed],
            "consent": {"categoryPreferences": {"marketing": True}},
        },
    }
    vouched = verified_identities(h)

    h.ingest(attack)
    event(f"attack claims {len(claimed)} identifier(s), backdated: {minute <= 40}")

    after = h.customer(victim.id)
    assert after is not None
    assert {i for i in victim.identities if i in vouched} <= set(after.identities)
    if minute > 40:  # the earlier claim wins what nobody verified: only later ones change nothing
        assert victim.identities == after.identities
        assert victim.traits == after.traits
        assert victim.consents == after.consents
    stranger = h.customer(anonymous_id="stranger")
    assert stranger is not None
    assert stranger.id != after.id
    assert not set(stranger.identities) & verified_identities(h)


@settings(max_examples=25)
@given(data=st.data(), stream=sourced_streams(max_size=20))
def test_sqlite_keeps_trust_as_memory_does(
    data: st.DataObject, stream: list[Sourced], tmp_path_factory: Any
) -> None:
    """What was verified survives the SQLite store's rows: same customers as in memory."""
    path = tmp_path_factory.mktemp("db") / "omnikit.db"
    memory = hub()
    ingest_all(memory, [stream])
    with omnikit.Hub.open(f"sqlite:///{path}", identity_rules=RULES) as sqlite:
        ingest_all(sqlite, data.draw(chunked(list(data.draw(st.permutations(stream))))))
        assert trusted_state(memory) == trusted_state(sqlite)
