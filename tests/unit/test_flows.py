"""
Unmerge, forget and decide-and-record as flows: what each asks of the store's transaction.

Each asks for a bounded sequence of requests, the same whatever the customer's history holds,
and the async driver gives what the sync driver gives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from test_ingest_flow import AsyncTransaction, logged

import omnikit
from omnikit._engines.erasure import identity_digest
from omnikit._engines.forget import forget, unsuppress
from omnikit._engines.profile import to_us
from omnikit._engines.unmerge import merge_to_undo, unmerge
from omnikit._hub.flows import adrive, drive
from omnikit.rules import Action, Cap, Experiment, Rule, RuleSet, Variant, event

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
REPLAY = [
    "ClusterCustomers",
    "CustomerTouchpoints",
    "ClusterIdentities",
    "Identities",
    "Splits",
    "Apply",
]
"""What replaying a cluster asks."""


def merged(hub: omnikit.Hub, *, views: int = 1) -> omnikit.Customer:
    """A customer merged from two: a visitor who gave their email, and a signed-in user."""
    at = T0
    for n in range(views):
        at = T0 + n * MINUTE
        hub.track(
            "Product Viewed",
            anonymous_id="a1",
            email="x@example.com",
            timestamp=at,
            message_id=f"view-{n}",
        )
    hub.track(
        "Product Viewed", anonymous_id="a2", user_id="u1", timestamp=at + MINUTE, message_id="u"
    )
    hub.track(
        "Signed In", user_id="u1", email="x@example.com", timestamp=at + 2 * MINUTE, message_id="in"
    )
    customer = hub.customer(user_id="u1")
    assert customer is not None
    return customer


def state(hub: omnikit.Hub) -> list[Any]:
    """Every customer, with their touchpoints."""
    return [
        (hub.converter.unstructure(c), [tp.message_id for tp in hub.touchpoints(c)])
        for c in hub.customers()
    ]


@pytest.mark.parametrize("views", [1, 20])
def test_unmerge_writes_the_splits_then_replays_the_cluster(views: int) -> None:
    """An unmerge asks for the customer and a replay, however long their history."""
    hub = omnikit.Hub()
    customer = merged(hub, views=views)
    row = merge_to_undo(hub._run(hub._merge_rows(customer.id)), customer.id, None)
    log: list[str] = []

    with hub.store.transaction() as tx:
        replayed = drive(
            logged(unmerge(customer.id, row, hub._ingest_config(), at_us=to_us(T0)), log), tx
        )

    assert ["Apply", "Customers", *REPLAY] == log
    assert 2 == len(replayed) == len(list(hub.customers()))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_unmerge_awaited_stores_what_it_stores_driven(anyio_backend: str) -> None:
    """`adrive` splits the customer as `drive` does, with the same requests."""
    del anyio_backend
    hubs = omnikit.Hub(), omnikit.Hub()
    results = []
    for index, hub in enumerate(hubs):
        customer = merged(hub)
        row = merge_to_undo(hub._run(hub._merge_rows(customer.id)), customer.id, None)
        flow = unmerge(customer.id, row, hub._ingest_config(), at_us=to_us(T0))
        with hub.store.transaction() as tx:
            if index:
                awaited = AsyncTransaction(tx)
                results.append(await adrive(flow, awaited))
            else:
                results.append(drive(flow, tx))

    assert results[0] == results[1]
    assert 2 + len(REPLAY) == awaited.calls
    assert state(hubs[0]) == state(hubs[1])


def test_the_merge_to_undo_is_the_latest_or_the_one_named() -> None:
    """Without a merge id, the latest merge; an unknown id, or no merge at all, is not found."""
    hub = omnikit.Hub()
    customer = merged(hub)
    rows = hub._run(hub._merge_rows(customer.id))

    assert rows[-1] == merge_to_undo(rows, customer.id, None)
    assert rows[0] == merge_to_undo(rows, customer.id, rows[0].record.id)
    with pytest.raises(omnikit.NotFoundError):
        merge_to_undo(rows, customer.id, "mrg_nobody")
    with pytest.raises(omnikit.NotFoundError):
        merge_to_undo([], customer.id, None)


GATHER = [
    "CustomerTouchpoints",
    "Aliases",
    "ClusterCustomers",
    "CustomerTouchpoints",
    "ClusterIdentities",
    "Identities",
    "Splits",
]
"""What reading everything held about a customer asks."""

KEY = b"a suppression key of the host"


def forgotten(hub: omnikit.Hub, customer_id: str, *, suppress: bool) -> tuple[list[str], Any]:
    """The requests forgetting the customer asks, and what the flow returns."""
    log: list[str] = []
    flow = forget(customer_id, hub._ingest_config(), suppress=suppress, at_us=to_us(T0))
    with hub.store.transaction() as tx:
        result = drive(logged(flow, log), tx)
    return log, result


@pytest.mark.parametrize("views", [1, 20])
def test_forget_reads_the_cluster_then_applies_the_erasure(views: int) -> None:
    """An erasure asks for the customer, what is held about their cluster, and one write."""
    hub = omnikit.Hub(suppression_key=KEY)
    customer = merged(hub, views=views)
    hub.track("Product Viewed", anonymous_id="a3", timestamp=T0)

    log, (erasure, changes) = forgotten(hub, customer.id, suppress=False)

    assert ["Customers", *GATHER, "Apply"] == log
    assert customer.id == erasure.customer.id
    assert views + 2 == len(erasure.touchpoints) == len(changes.suppressions)
    assert 1 == len(list(hub.customers()))


def test_forget_with_suppression_checks_the_key_once() -> None:
    """Suppressing asks which kinds the store holds and, once it holds identities, the key."""
    hub = omnikit.Hub(suppression_key=KEY)
    first = hub.identify(user_id="u1", timestamp=T0)
    second = hub.identify(user_id="u2", timestamp=T0)
    third = hub.identify(user_id="u3", timestamp=T0)

    unchecked, _ = forgotten(hub, first.id, suppress=True)
    messages_only, _ = forgotten(hub, second.id, suppress=False)
    checked, _ = forgotten(hub, third.id, suppress=True)

    assert ["Customers", "SuppressionKinds", *GATHER, "Apply"] == unchecked
    assert ["Customers", *GATHER, "Apply"] == messages_only
    assert ["Customers", "SuppressionKinds", "Suppressed", *GATHER, "Apply"] == checked


def test_forget_with_another_key_is_refused_before_anything_is_read() -> None:
    """A hub with another key than the store's suppressions asks nothing more of it."""
    hub = omnikit.Hub(suppression_key=KEY)
    customer = hub.identify(anonymous_id="a1", timestamp=T0)
    hub.forget(hub.identify(user_id="u1", timestamp=T0), suppress=True)
    other = omnikit.Hub(hub.store, suppression_key=b"another key of another host")
    log: list[str] = []

    with hub.store.transaction() as tx, pytest.raises(omnikit.ValidationError):
        drive(logged(forget(customer.id, other._ingest_config(), suppress=True, at_us=0), log), tx)

    assert ["Customers", "SuppressionKinds", "Suppressed"] == log


def test_unsuppress_checks_the_key_then_lifts_one_digest() -> None:
    """Lifting a suppression asks for the key's check, the digest, and one write if held."""
    hub = omnikit.Hub(suppression_key=KEY)
    hub.forget(hub.identify(user_id="u1", timestamp=T0), suppress=True)
    digest = identity_digest(KEY, ("user_id", "u1"))
    logs: list[list[str]] = [[], []]

    with hub.store.transaction() as tx:
        lifted = [drive(logged(unsuppress(digest, hub._ingest_config()), log), tx) for log in logs]

    assert [True, False] == lifted
    assert ["SuppressionKinds", "Suppressed", "Suppressed", "Apply"] == logs[0]
    # None left under suppression: no key to check.
    assert ["SuppressionKinds", "Suppressed"] == logs[1]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_forget_awaited_erases_what_it_erases_driven(anyio_backend: str) -> None:
    """`adrive` erases the customer as `drive` does, with the same requests and report."""
    del anyio_backend
    hubs = omnikit.Hub(suppression_key=KEY), omnikit.Hub(suppression_key=KEY)
    results = []
    for index, hub in enumerate(hubs):
        customer = merged(hub)
        hub.track("Product Viewed", anonymous_id="a3", timestamp=T0, message_id="a3")
        flow = forget(customer.id, hub._ingest_config(), suppress=True, at_us=to_us(T0))
        with hub.store.transaction() as tx:
            if index:
                awaited = AsyncTransaction(tx)
                erasure, changes = await adrive(flow, awaited)
            else:
                erasure, changes = drive(flow, tx)
        # Erased message ids are hashed with each store's own key; identifiers with the host's.
        kept = [(r.kind, r.digest if r.kind != "message" else "") for r in changes.suppressions]
        results.append((erasure.customer.id, sorted(erasure.identities), kept))

    assert results[0] == results[1]
    assert 3 + len(GATHER) == awaited.calls
    assert state(hubs[0]) == state(hubs[1])


CURRENT = ["Identities", "Customers"]
"""What finding the customer as the transaction sees them asks."""

RESOLVE = ["Identities", "Customers", "Clusters", "Splits", "Apply"]
"""What storing the hub's own touchpoints asks, none of them late."""


def capped() -> RuleSet:
    """One rule, offered once in 30 days: it reads the customer's history."""
    return RuleSet(
        [
            Rule(
                id="once",
                condition=event.name == "Product Viewed",
                actions=(Action.offer("welcome", code="HELLO"),),
                cap=Cap(times=1, days=30),
            )
        ]
    )


def experimenting() -> RuleSet:
    """One rule in an experiment, reading no history."""
    experiment = Experiment(id="hero", variants=(Variant(id="a"), Variant(id="b")))
    return RuleSet([Rule(id="hero", actions=(Action.content("a"),), experiment=experiment)])


def recorded(hub: omnikit.Hub, customer: omnikit.Customer, rules: RuleSet, **options: Any) -> Any:
    """The requests a decision asks, and the decision."""
    flow = hub._recorded_decision(
        rules,
        hub._run(hub._customer_record(customer)),
        "Product Viewed",
        None,
        now=LATER,
        limit=None,
        **options,
    )
    log: list[str] = []
    with hub.store.transaction() as tx:
        decision = drive(logged(flow, log), tx)
    return log, decision


LATER = T0 + dt.timedelta(days=1)


@pytest.mark.parametrize("views", [1, 20])
def test_a_recorded_decision_reads_the_customer_then_stores_it(views: int) -> None:
    """A capped rule reads the history once; a decision that chose nothing writes nothing."""
    hub = omnikit.Hub()
    customer = merged(hub, views=views)

    first, chosen = recorded(hub, customer, capped(), record=True)
    second, capped_out = recorded(hub, customer, capped(), record=True)

    assert [*CURRENT, "CustomerTouchpoints", *RESOLVE] == first
    assert [*CURRENT, "CustomerTouchpoints"] == second
    assert ["once"] == [c.rule_id for c in chosen.chosen]
    assert [] == list(capped_out.chosen)


def test_a_first_assignment_is_stored_without_reading_history() -> None:
    """A rule set reading no history asks none; only the first assignment is written."""
    hub = omnikit.Hub()
    customer = merged(hub)

    first, _ = recorded(hub, customer, experimenting(), record=False)
    second, _ = recorded(hub, customer, experimenting(), record=False)

    assert [*CURRENT, *RESOLVE] == first
    assert CURRENT == second


def test_a_customer_merged_away_is_decided_for_as_the_survivor() -> None:
    """The flow finds the customer through their best identity, as the store now holds it."""
    hub = omnikit.Hub()
    hub.track("Product Viewed", anonymous_id="a1", email="x@example.com", timestamp=T0)
    before = hub.customer(anonymous_id="a1")
    assert before is not None
    after = merged(hub)
    log: list[str] = []
    flow = hub._recorded_decision(
        capped(),
        hub._run(hub._customer_record(before)),
        "Product Viewed",
        None,
        now=LATER,
        limit=None,
        record=True,
    )

    with hub.store.transaction() as tx:
        decision = drive(logged(flow, log), tx)

    assert [*CURRENT, "CustomerTouchpoints", *RESOLVE] == log
    assert after.id == decision.customer_id


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_recorded_decision_awaited_is_the_one_driven(anyio_backend: str) -> None:
    """`adrive` decides and stores as `drive` does, with the same requests."""
    del anyio_backend
    rules = RuleSet([*capped().rules, *experimenting().rules])
    hubs = omnikit.Hub(), omnikit.Hub()
    decisions = []
    for index, hub in enumerate(hubs):
        customer = merged(hub)
        flow = hub._recorded_decision(
            rules,
            hub._run(hub._customer_record(customer)),
            "Product Viewed",
            None,
            now=LATER,
            limit=None,
            record=True,
        )
        with hub.store.transaction() as tx:
            if index:
                awaited = AsyncTransaction(tx)
                decisions.append(await adrive(flow, awaited))
            else:
                decisions.append(drive(flow, tx))

    assert decisions[0].actions == decisions[1].actions
    assert decisions[0].customer_id == decisions[1].customer_id
    assert len(CURRENT) + 1 + len(RESOLVE) == awaited.calls
    # Both made at one moment: their order is that of their random ids.
    names = [
        [sorted(tp.name for tp in hub.touchpoints(c)) for c in hub.customers()] for hub in hubs
    ]
    assert names[0] == names[1]
    assert "Decision Made" in names[0][0]
